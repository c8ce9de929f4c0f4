"""Approval: a person (or a config rule) approves, edits or rejects a draft; approved ones go to the outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.casework.quality_checks import check_draft, failing
from bot.config import Config
from bot.delivery import outbox
from bot.delivery import platform_policy as policy
from bot.errors import UserError
from bot.storage import audit
from bot.storage.models import Draft, TriageResult
from bot.storage.statuses import DraftStatus
from bot.triage import learning

AUTO_ACTOR = "auto-approval"


class ChecksFailed(UserError):
    """A draft fails quality checks and no override reason was given."""


class PolicyRefused(UserError):
    """The platform's policy forbids sending this draft automatically."""


def get_draft(session: Session, draft_id: int) -> Draft:
    """The draft with this id, or a UserError naming it."""
    draft = session.get(Draft, draft_id)
    if draft is None:
        raise UserError(f"there is no draft {draft_id}")
    return draft


def _require_pending(draft: Draft) -> None:
    if draft.status != DraftStatus.PENDING:
        raise UserError(f"draft {draft.id} is {draft.status}, not pending: only pending drafts can be decided")


def approve(
    session: Session,
    config: Config,
    draft_id: int,
    actor: str,
    now: datetime,
    text: str | None = None,
    override_reason: str | None = None,
) -> Draft:
    """Approve a draft (optionally with new text) and queue it for sending."""
    draft = get_draft(session, draft_id)
    _require_pending(draft)
    edited = text is not None and text.strip() != draft.text
    if edited:
        if not text.strip():
            raise UserError("the new text is empty")
        draft.text = text.strip()
        draft.checks = check_draft(config, draft)
    failed = failing(draft.checks)
    if failed and not (override_reason and override_reason.strip()):
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
        draft.override_reason = override_reason.strip()
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
