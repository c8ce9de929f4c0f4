"""Drafts: choosing and rendering the reply templates for each case and mention."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, Template, TemplateNotFound
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy.orm import Session

from bot.casework.quality_checks import run_checks
from bot.config import PROJECT_ROOT, Config
from bot.service_levels.eta import Eta, Staffing, estimate
from bot.storage.models import Case, Draft, Identity, Mention, TriageResult
from bot.storage.statuses import DraftStatus

BUNDLED_TEMPLATES = PROJECT_ROOT / "templates"
PUBLIC_KINDS = ("reply", "acknowledgement", "invitation", "close")
DRAFTS_BY_LEVEL = {
    "self_service": ["reply"],
    "investigate": ["acknowledgement"],
    "private": ["invitation", "private_message"],
}


class TemplateRenderer:
    """Renders reply templates from a folder; mention text is only ever data, never template source."""

    def __init__(self, folder: str | Path | None = None):
        self.folder = Path(folder) if folder else BUNDLED_TEMPLATES
        self.env = SandboxedEnvironment(
            loader=FileSystemLoader(str(self.folder)),
            undefined=StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )

    def candidates(self, kind: str, language: str, platform: str, category: str) -> list[str]:
        """Template names tried in order, most specific first."""
        return [
            f"{language}/{platform}/{kind}_{category}.j2",
            f"{language}/{kind}_{category}.j2",
            f"{language}/{platform}/{kind}.j2",
            f"{language}/{kind}.j2",
        ]

    def render(
        self, kind: str, language: str, platform: str, category: str, context: dict[str, Any]
    ) -> tuple[str, str]:
        """The chosen template's name and the rendered, tidied text."""
        names = self.candidates(kind, language, platform, category)
        try:
            template = self.env.select_template(names)
        except TemplateNotFound:
            raise LookupError(
                f"no template for {kind} in {language}: tried {', '.join(names)} in {self.folder}"
            ) from None
        return template.name or names[-1], tidy(template.render(**context))

    def compile_source(self, source: str) -> Template:
        """A template compiled from text a person wrote (a saved reply), in this same sandbox; never mention text."""
        return self.env.from_string(source)

    def render_source(self, source: str, context: dict[str, Any]) -> str:
        """The rendered, tidied text of a template a person wrote, with the variables the reply templates get."""
        return tidy(self.compile_source(source).render(**context))


def tidy(text: str) -> str:
    """Rendered text with runs of spaces collapsed and the spaces around line breaks removed."""
    text = re.sub(r"[ \t]+", " ", text)
    return re.sub(r" *\n *", "\n", text).strip()


def reply_language(config: Config, language: str) -> str:
    """The language to answer in: the customer's when the brand speaks it."""
    return language if language in config.brand.languages else config.brand.default_language


def channel_for(kind: str, case: Case) -> str:
    """public or private, by reply kind (a follow-up goes where the conversation is)."""
    if kind == "private_message":
        return "private"
    if kind == "follow_up":
        return "private" if case.state in ("moved_private", "waiting_on_customer") and _has_private(case) else "public"
    return "public"


def _has_private(case: Case) -> bool:
    return any(d.channel == "private" and d.status == DraftStatus.SENT for d in case.drafts) or any(
        m.channel == "private" for m in case.mentions
    )


def template_context(
    config: Config,
    case: Case,
    mention: Mention | None,
    identity: Identity | None,
    language: str,
    eta: Eta | None,
    summary: str = "",
    triage: TriageResult | None = None,
) -> dict[str, Any]:
    """The variables templates may use; the mention's text is deliberately not among them."""
    name = (identity.name if identity else None) or ""
    return {
        "brand": {
            "name": config.brand.name,
            "help_url": config.brand.help_url,
            "status_url": config.brand.status_url,
            "signature": config.brand.signature,
        },
        "customer": {
            "handle": identity.handle if identity else None,
            "name": name,
            "first_name": name.split(" ")[0] if name else "",
        },
        "case": {"id": case.id, "reference": f"#{case.id}"},
        "mention": {
            "category": (triage.category if triage else case.category) or "other",
            "sentiment": triage.sentiment if triage else "neutral",
            "level": triage.level if triage else case.level,
            "language": language,
            "platform": case.platform,
        },
        "eta": {"minutes": eta.minutes if eta else 0, "text": eta.text(language) if eta else ""},
        "summary": summary,
    }


def supersede_pending(session: Session, case: Case, now: datetime) -> int:
    """Older pending drafts of a case give way to the ones for its newest message."""
    count = 0
    # The case's drafts as the session sees them: those in the database and those written in this transaction.
    for draft in [d for d in case.drafts if d.status == DraftStatus.PENDING]:
        draft.status = DraftStatus.SUPERSEDED
        draft.decided_at = now
        draft.decided_by = "system"
        count += 1
    return count


def make_draft(
    session: Session,
    config: Config,
    renderer: TemplateRenderer,
    case: Case,
    kind: str,
    mention: Mention | None,
    now: datetime,
    summary: str = "",
    eta: Eta | None = None,
    team: Staffing | None = None,
) -> Draft:
    """Render one draft of a kind for a case and store it pending, with its quality checks."""
    triage = mention.triage if mention else None
    identity = mention.identity if mention else latest_identity(case)
    language = reply_language(config, (triage.language if triage else case.language) or config.brand.default_language)
    category = (triage.category if triage else case.category) or "other"
    if kind == "acknowledgement" and eta is None:
        eta = estimate(session, config, case, now, team)
    context = template_context(config, case, mention, identity, language, eta, summary, triage)
    template_name, text = renderer.render(kind, language, case.platform, category, context)
    channel = channel_for(kind, case)
    checks = [c.as_dict() for c in run_checks(text, kind, channel, case.platform, category, config.checks, language)]
    draft = Draft(
        case=case,
        mention=mention,
        kind=kind,
        channel=channel,
        language=language,
        template=template_name,
        text=text,
        original_text=text,
        status=DraftStatus.PENDING,
        priority=case.priority,
        eta_minutes=eta.minutes if eta else None,
        eta_explanation=eta.explanation if eta else None,
        checks=checks,
        policy={},
        low_confidence=bool(triage.low_confidence) if triage else False,
        auto_approved=False,
        created_at=now,
        outbox=None,
    )
    session.add(draft)
    return draft


def latest_identity(case: Case) -> Identity | None:
    """The customer a reply on this case speaks to: the author of its latest public message (or latest message)."""
    for mention in reversed(case.mentions):
        if mention.channel == "public":
            return mention.identity
    return case.mentions[-1].identity if case.mentions else None


def wants_reply(mention: Mention) -> bool:
    """True when draft_for_mention will draft something for this triaged mention."""
    triage = mention.triage
    if triage is None or not triage.needs_response:
        return False
    return mention.channel == "private" or bool(DRAFTS_BY_LEVEL.get(triage.level))


def draft_for_mention(
    session: Session,
    config: Config,
    renderer: TemplateRenderer,
    case: Case,
    mention: Mention,
    now: datetime,
    team: Staffing | None = None,
) -> list[Draft]:
    """The drafts a triaged mention calls for, by its level of intervention and its channel."""
    triage = mention.triage
    if triage is None or not wants_reply(mention):
        return []
    supersede_pending(session, case, now)
    if mention.channel == "private":
        kinds = ["private_message"]  # a private message is answered in private, whatever its level
    else:
        kinds = list(DRAFTS_BY_LEVEL.get(triage.level, []))
        if case.state == "moved_private" and triage.level == "private":
            kinds = ["private_message"]
    return [make_draft(session, config, renderer, case, kind, mention, now, team=team) for kind in kinds]


def draft_close(
    session: Session, config: Config, renderer: TemplateRenderer, case: Case, summary: str, now: datetime
) -> Draft:
    """The positive public close of a resolved case, summing up what was agreed."""
    supersede_pending(session, case, now)
    public = [m for m in case.mentions if m.channel == "public"]
    mention = public[-1] if public else (case.mentions[-1] if case.mentions else None)
    return make_draft(session, config, renderer, case, "close", mention, now, summary=summary)
