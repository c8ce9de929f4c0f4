"""Approval: a person (or a config rule) approves, edits or rejects a draft; approved ones go to the outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.casework.quality_checks import check_draft, failing
from bot.config import Config
from bot.delivery import outbox
from bot.delivery import platform_policy as policy
from bot.errors import UserError
from bot.storage import audit
from bot.storage.models import AuditEntry, Case, Draft, TriageResult
from bot.storage.statuses import DraftStatus
from bot.triage import learning

AUTO_ACTOR = "auto-approval"
EXCERPT = 80  # characters of a customer's new message quoted when it makes an approval stale


class ChecksFailed(UserError):
    """A draft fails quality checks and no override reason was given."""


class PolicyRefused(UserError):
    """The platform's policy forbids sending this draft automatically."""


class StaleDraft(UserError):
    """The draft or its thread changed since the person looked at it: approving what they saw would be wrong."""

    def __init__(self, draft_id: int, changes: list[str]):
        super().__init__(f"draft {draft_id} was not sent: " + "; ".join(changes) + ". Read it again before approving.")
        self.changes = changes


def get_draft(session: Session, draft_id: int) -> Draft:
    """The draft with this id, or a UserError naming it."""
    draft = session.get(Draft, draft_id)
    if draft is None:
        raise UserError(f"there is no draft {draft_id}")
    return draft


def _require_pending(draft: Draft) -> None:
    if draft.status != DraftStatus.PENDING:
        by = f" (by {draft.decided_by} at {draft.decided_at:%Y-%m-%d %H:%M})" if draft.decided_by else ""
        raise UserError(f"draft {draft.id} is {draft.status}{by}, not pending: only pending drafts can be decided")


def _clock(at: datetime | None, now: datetime) -> str:
    if at is None:
        return "an unknown time"
    return f"{at:%H:%M}" if at.date() == now.date() else f"{at:%Y-%m-%d %H:%M}"


def _excerpt(text: str) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def what_changed(
    session: Session, draft: Draft, now: datetime, draft_version: int | None = None, case_version: int | None = None
) -> list[str]:
    """What moved since a person saw the draft at draft_version and its case at case_version (None: not checked)."""
    changes: list[str] = []
    if draft_version is not None and (draft.version or 0) != draft_version:
        changes.append(_draft_changes(session, draft, now, (draft.version or 0) - draft_version))
    if case_version is not None:
        changes += case_changes(draft.case, now, case_version)
    return changes


def _draft_changes(session: Session, draft: Draft, now: datetime, moved: int) -> str:
    last = session.scalar(
        select(AuditEntry)
        .where(
            AuditEntry.object_type == "draft",
            AuditEntry.object_id == draft.id,
            AuditEntry.action.in_(("edit", "edit_and_approve")),
        )
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    who = f" by {last.actor} at {_clock(last.at, now)}" if last is not None else ""
    times = f" ({moved} edits)" if moved > 1 else ""
    return f"the draft was edited{who} since you opened it{times}"


def case_changes(case: Case, now: datetime, seen_version: int) -> list[str]:
    """What the thread got since a person saw the case at seen_version: new customer messages, replies sent."""
    moved = (case.version or 0) - seen_version
    if moved == 0:
        return []
    # Each message of the thread, the customer's and the brand's, raised the version by one: the last `moved` are new.
    timeline: list[tuple[datetime, int, str]] = []
    for mention in case.mentions:
        timeline.append(
            (
                mention.fetched_at or mention.created_at,
                0,
                f"the customer wrote again at {_clock(mention.created_at, now)}: “{_excerpt(mention.text)}”",
            )
        )
    for other in case.drafts:
        if other.status == DraftStatus.SENT and other.outbox is not None:
            at = other.outbox.sent_at or other.decided_at or other.created_at
            what = other.kind.replace("_", " ") + (f", approved by {other.decided_by}" if other.decided_by else "")
            timeline.append((at, 1, f"a reply was sent in this thread at {_clock(at, now)} ({what})"))
    timeline.sort(key=lambda item: (item[0], item[1]))
    recent = [text for _at, _order, text in timeline[-moved:]] if moved > 0 else []
    return recent or [f"case {case.id} changed since you opened it"]


def check_fresh(
    session: Session, draft: Draft, now: datetime, draft_version: int | None = None, case_version: int | None = None
) -> None:
    """Refuse (StaleDraft) when the draft or its thread moved since the person saw them."""
    changes = what_changed(session, draft, now, draft_version, case_version)
    if changes:
        raise StaleDraft(draft.id, changes)


def approve(
    session: Session,
    config: Config,
    draft_id: int,
    actor: str,
    now: datetime,
    text: str | None = None,
    override_reason: str | None = None,
    draft_version: int | None = None,
    case_version: int | None = None,
) -> Draft:
    """Approve a draft (optionally with new text) and queue it for sending.

    draft_version and case_version are what the person saw; when either has moved since, StaleDraft says what changed.
    """
    draft = get_draft(session, draft_id)
    if draft.status != DraftStatus.SUPERSEDED:
        _require_pending(draft)  # already decided: say so, whatever moved since
    # A draft superseded by the customer's newer message: what they wrote says more than "superseded".
    check_fresh(session, draft, now, draft_version, case_version)
    _require_pending(draft)
    new_text = text.strip() if text is not None else None
    edited = new_text is not None and new_text != draft.text
    if new_text is not None and edited:
        if not new_text:
            raise UserError("the new text is empty")
        draft.text = new_text
        draft.version = (draft.version or 0) + 1
        draft.checks = check_draft(config, draft)
    failed = failing(draft.checks)
    override = (override_reason or "").strip()
    if failed and not override:
        names = "; ".join(f"{c['name']}: {c['message']}" for c in failed)
        raise ChecksFailed(
            f"draft {draft.id} fails its checks ({names}); fix the text or approve with an override reason"
        )
    verdict = policy.check(session, draft, draft.case, draft.mention, now)
    draft.policy = verdict.as_dict()
    if not verdict.allowed:
        audit.record(session, now, actor, "policy_refused", "draft", draft.id, reason=verdict.reason)
        hint = f"; post it by hand: {verdict.manual_url}" if verdict.manual_url else ""
        raise PolicyRefused(f"draft {draft.id} cannot be sent automatically: {verdict.reason}{hint}")
    if failed:
        draft.override_reason = override
        audit.record(
            session,
            now,
            actor,
            "override_checks",
            "draft",
            draft.id,
            reason=draft.override_reason,
            checks=[c["name"] for c in failed],
        )
    draft.status = DraftStatus.APPROVED
    draft.decided_by = actor
    draft.decided_at = now
    outbox.enqueue(session, draft, now)
    audit.record(
        session,
        now,
        actor,
        "edit_and_approve" if edited else "approve",
        "draft",
        draft.id,
        kind=draft.kind,
        case_id=draft.case_id,
        **({"original_text": draft.original_text} if edited else {}),
    )
    if actor != AUTO_ACTOR:
        learning.record_decision(session, draft, "edit" if edited else "approve", actor, now)
    return draft


def reject(session: Session, draft_id: int, actor: str, reason: str, now: datetime) -> Draft:
    """Reject a draft with a reason; nothing is sent."""
    if not reason or not reason.strip():
        raise UserError("a rejection needs a reason")
    draft = get_draft(session, draft_id)
    _require_pending(draft)
    draft.status = DraftStatus.REJECTED
    draft.reject_reason = reason.strip()
    draft.decided_by = actor
    draft.decided_at = now
    audit.record(session, now, actor, "reject", "draft", draft.id, reason=draft.reject_reason, case_id=draft.case_id)
    learning.record_decision(session, draft, "reject", actor, now)
    return draft


def auto_approve_allowed(config: Config, draft: Draft, triage: TriageResult | None) -> bool:
    """True when a config rule lets this draft go without a person."""
    if triage is None or triage.low_confidence or failing(draft.checks):
        return False
    for rule in config.approval.auto_approve:
        if rule.kind == draft.kind and triage.level in rule.levels and triage.confidence >= rule.min_confidence:
            return True
    return False


def maybe_auto_approve(session: Session, config: Config, draft: Draft, now: datetime) -> bool:
    """Approve a draft automatically when the config allows it; True if it was."""
    triage = draft.mention.triage if draft.mention else None
    if not auto_approve_allowed(config, draft, triage):
        return False
    try:
        approve(session, config, draft.id, AUTO_ACTOR, now)
    except UserError:
        return False
    draft.auto_approved = True
    return True
