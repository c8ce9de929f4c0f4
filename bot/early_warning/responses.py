"""What an incident does to its cases, per severity: a higher priority, the prepared acknowledgement, a group."""

from __future__ import annotations

from datetime import datetime

from jinja2 import TemplateNotFound
from sqlalchemy.orm import Session

from bot.casework import approval
from bot.casework.drafting import TemplateRenderer, reply_language, supersede_pending, template_context
from bot.casework.quality_checks import run_checks
from bot.config import Config, IncidentActions
from bot.service_levels.eta import estimate
from bot.storage import audit
from bot.storage.models import Case, Draft, Incident, IncidentCase
from bot.storage.statuses import DraftStatus

ACTOR = "early_warning"
TEMPLATE = "incident_acknowledgement.j2"
# Only a case whose pending replies are all public answers gets the incident's acknowledgement in their place: a
# private matter keeps its invitation to private messages.
REPLACEABLE = ("reply", "acknowledgement")
FINISHED = ("resolved", "closed_public")


def actions_for(config: Config, severity: str) -> IncidentActions:
    """What the config says an incident of this severity does."""
    return config.early_warning.actions["major" if severity == "major" else "minor"]


def raise_priority(incident: Incident, link: IncidentCase, config: Config) -> float:
    """Raise the case (and its pending drafts) to the severity's priority boost, once; returns what was added."""
    wanted = actions_for(config, incident.severity).raise_priority
    added = wanted - (link.priority_raised or 0.0)
    if added <= 0:
        return 0.0
    case = link.case
    case.priority = min(1.0, (case.priority or 0.0) + added)
    for draft in case.drafts:
        if draft.status in (DraftStatus.PENDING, DraftStatus.BLOCKED):
            draft.priority = case.priority
    link.priority_raised = wanted
    return added


def _template(renderer: TemplateRenderer, language: str, platform: str):
    return renderer.env.select_template([f"{language}/{platform}/{TEMPLATE}", f"{language}/{TEMPLATE}"])


def acknowledge(
    session: Session, config: Config, renderer: TemplateRenderer, incident: Incident, link: IncidentCase, now: datetime
) -> Draft | None:
    """Put the incident's acknowledgement in place of a new case's pending public reply; None when it has none."""
    case: Case = link.case
    pending = [d for d in case.drafts if d.status == DraftStatus.PENDING]
    if (
        case.state in FINISHED
        or not pending
        or any(d.kind not in REPLACEABLE or d.channel != "public" for d in pending)
    ):
        return None
    mention = pending[-1].mention
    triage = mention.triage if mention else None
    language = reply_language(config, (triage.language if triage else case.language) or config.brand.default_language)
    try:
        template = _template(renderer, language, case.platform)
    except TemplateNotFound:
        template = _template(renderer, config.brand.default_language, case.platform)
        language = config.brand.default_language
    eta = estimate(session, config, case, now)
    context = template_context(config, case, mention, mention.identity if mention else None, language, eta, "", triage)
    context["incident"] = {"status_url": config.brand.status_url, "severity": incident.severity}
    text = " ".join(template.render(**context).split())
    category = (triage.category if triage else case.category) or "other"
    supersede_pending(session, case, now)
    draft = Draft(
        case=case,
        mention=mention,
        kind="acknowledgement",
        channel="public",
        language=language,
        template=template.name or TEMPLATE,
        text=text,
        original_text=text,
        status=DraftStatus.PENDING,
        priority=case.priority,
        eta_minutes=eta.minutes,
        eta_explanation=eta.explanation,
        checks=[
            c.as_dict()
            for c in run_checks(text, "acknowledgement", "public", case.platform, category, config.checks, language)
        ],
        policy={},
        low_confidence=bool(triage.low_confidence) if triage else False,
        auto_approved=False,
        created_at=now,
        outbox=None,
    )
    session.add(draft)
    session.flush()
    audit.record(
        session, now, ACTOR, "incident_acknowledgement", "draft", draft.id, case_id=case.id, incident_id=incident.id
    )
    link.acknowledged = True
    approval.maybe_auto_approve(session, config, draft, now)  # a person approves it unless the config says otherwise
    return draft


def respond(
    session: Session, config: Config, renderer: TemplateRenderer, incident: Incident, link: IncidentCase, now: datetime
) -> None:
    """Everything the incident's severity asks for one of its cases."""
    raise_priority(incident, link, config)
    if actions_for(config, incident.severity).acknowledgement and not link.acknowledged:
        acknowledge(session, config, renderer, incident, link, now)
