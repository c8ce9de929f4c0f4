"""What people do from the console and the API: approve and send, edit, reject, and act on cases and customers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.casework import approval, cases, moderation, tags
from bot.casework.drafting import make_draft, supersede_pending
from bot.casework.quality_checks import check_draft
from bot.config import Config
from bot.early_warning import buckets as spike_counts
from bot.errors import UserError
from bot.service_levels import kpis
from bot.storage import audit
from bot.storage.db import transaction
from bot.storage.models import Case, Customer, Draft, Identity, Mention, OutboxMessage
from bot.storage.statuses import DraftStatus
from bot.triage import learning

TRIAGE_LABELS = {
    "category": ("complaint", "question", "request", "praise", "suggestion", "other"),
    "sentiment": ("negative", "neutral", "positive"),
    "level": ("monitor", "self_service", "investigate", "private"),
    "mode": ("reactive", "proactive", "monitor"),
    "needs_response": ("true", "false"),
}


@dataclass
class Sent:
    """The outcome of approving a draft from the console: posted, or still queued with the reason."""

    draft_id: int
    status: str
    platform_post_id: str | None
    error: str | None
    case_id: int
    case_state: str


def approve_and_send(
    service,
    draft_id: int,
    actor: str,
    text: str | None = None,
    override_reason: str | None = None,
    draft_version: int | None = None,
    case_version: int | None = None,
) -> Sent:
    """Approve a draft (edited when the text differs) and send it at once, as `python -m bot approve` does.

    draft_version and case_version are what the person saw: approval.StaleDraft when either moved since.
    """
    with transaction(service.factory) as session:
        draft = approval.approve(
            session,
            service.config,
            draft_id,
            actor,
            service.clock.now(),
            text,
            override_reason or None,
            draft_version=draft_version,
            case_version=case_version,
        )
        message_id = session.scalars(select(OutboxMessage.id).where(OutboxMessage.draft_id == draft.id)).one()
    status = service.outbox.send(message_id)
    with transaction(service.factory) as session:
        message = session.get_one(OutboxMessage, message_id)
        case = message.draft.case
        return Sent(
            draft_id,
            status if status != "skipped" else message.status,
            message.platform_post_id,
            message.last_error,
            case.id,
            case.state,
        )


def save_edit(
    session: Session, config, draft_id: int, text: str, actor: str, now: datetime, draft_version: int | None = None
) -> Draft:
    """Change a pending draft's text without approving it (an agent's proposal); checks run again.

    draft_version is the text the person started from: approval.StaleDraft rather than overwrite a newer edit.
    """
    draft = approval.get_draft(session, draft_id)
    if draft.status != DraftStatus.PENDING:
        raise UserError(f"draft {draft.id} is {draft.status}, not pending: only pending drafts can be edited")
    approval.check_fresh(session, draft, now, draft_version)
    text = (text or "").strip()
    if not text:
        raise UserError("the new text is empty")
    if text == draft.text:
        return draft
    previous = draft.text
    draft.text = text
    draft.version = (draft.version or 0) + 1
    draft.checks = check_draft(config, draft)
    audit.record(session, now, actor, "edit", "draft", draft.id, case_id=draft.case_id, previous_text=previous)
    return draft


def correct_triage(
    session: Session, mention_id: int, head: str, label: str, actor: str, now: datetime, config: Config | None = None
) -> None:
    """A person corrects one triage field; the classifier learns from it, the KPIs (and with a config, spikes) follow."""
    mention = session.get(Mention, mention_id)
    if mention is None or mention.triage is None:
        raise UserError(f"mention {mention_id} has no triage to correct")
    if head not in TRIAGE_LABELS or label not in TRIAGE_LABELS[head]:
        raise UserError(f"{label!r} is not a {head!r} label; choose one of {', '.join(TRIAGE_LABELS.get(head, ()))}")
    triage = mention.triage
    before = str(getattr(triage, head)).lower()
    if before == label:
        return
    counted = (triage.category, triage.sentiment, triage.level)
    setattr(triage, head, label == "true" if head == "needs_response" else label)
    triage.corrected_by = actor
    kpis.triage_changed(session, mention, triage, counted)
    if config is not None:
        spike_counts.triage_changed(session, config, mention, triage, counted[0], counted[1])
    learning.record_correction(session, mention, head, label, actor, now)
    audit.record(session, now, actor, "triage_correction", "mention", mention.id, head=head, before=before, after=label)


def move_private(session: Session, service, case_id: int, actor: str, now: datetime) -> list[Draft]:
    """Draft the public invitation and the private opener that move a case's details to private messages."""
    case = cases.get_case(session, case_id)
    if case.state in cases.FINISHED:
        raise UserError(f"case {case_id} is {case.state}; reopen it first")
    public = [m for m in case.mentions if m.channel == "public"]
    if not public:
        raise UserError(f"case {case_id} is already a private conversation")
    mention = public[-1]
    supersede_pending(session, case, now)
    drafts = [
        make_draft(session, service.config, service.renderer, case, kind, mention, now)
        for kind in ("invitation", "private_message")
    ]
    if cases.LEVEL_RANK.get(case.level, 0) < cases.LEVEL_RANK["private"]:
        case.level = "private"
    cases.set_state(session, case, cases.AWAITING_APPROVAL, actor, now, "moving to private messages")
    audit.record(session, now, actor, "move_private", "case", case.id)
    session.flush()
    return drafts


def reopen(session: Session, service, case_id: int, actor: str, now: datetime, note: str = "") -> Case:
    """Reopen a resolved or closed case; its resolution clock starts again."""
    case = cases.get_case(session, case_id)
    if case.merged_into_id is not None:
        raise UserError(f"case {case_id} is merged into case {case.merged_into_id}; reopen that one")
    if case.state not in cases.FINISHED:
        raise UserError(f"case {case_id} is {case.state}, not resolved or closed")
    case.reopen_count = (case.reopen_count or 0) + 1
    case.resolved_at = None
    case.closed_at = None
    hours = service.config.sla.resolution_target_hours.get(case.level, 24)
    case.resolution_due_at = now + timedelta(hours=hours)
    cases.set_state(session, case, cases.NEW, actor, now, note.strip() or "reopened by hand")
    audit.record(session, now, actor, "reopen", "case", case.id, note=note.strip())
    return case


def assign(session: Session, case_id: int, username: str | None, actor: str, now: datetime) -> Case:
    """Give a case (and its customer, one interlocutor) to a user, or to nobody (bot.casework.cases.assign)."""
    return cases.assign(session, case_id, username, actor, now)


def tag_case(session: Session, case_id: int, tag: str, actor: str, now: datetime) -> list[str]:
    """Put a tag on a case (nothing changes when it has it); the case's tags."""
    tags.add_tag(session, cases.get_case(session, case_id), tag, actor, now)
    return tags.tags_of(session, case_id)


def untag_case(session: Session, case_id: int, tag: str, actor: str, now: datetime) -> list[str]:
    """Take a tag off a case; a UserError when it did not have it."""
    if not tags.remove_tag(session, cases.get_case(session, case_id), tag, actor, now):
        raise UserError(f"case {case_id} has no tag {tags.normalise(tag)!r}")
    return tags.tags_of(session, case_id)


def set_hidden(service, mention_id: int, hidden: bool, actor: str) -> None:
    """Hide a mention on its platform, or show it again, by hand; a UserError says why the platform would not."""
    with transaction(service.factory) as session:
        mention = session.get(Mention, mention_id)
        if mention is None:
            raise UserError(f"there is no mention {mention_id}")
        if bool(mention.hidden_at) == hidden:
            raise UserError(f"mention {mention_id} is already {'hidden' if hidden else 'shown'}")
    outcome = moderation.set_hidden(service.factory, service.responder, mention_id, hidden, actor, service.clock.now())
    if not outcome.done:
        raise UserError(f"mention {mention_id} could not be {'hidden' if hidden else 'unhidden'}: {outcome.problem}")


def link_identity(session: Session, customer_id: int, identity_id: int, actor: str, now: datetime) -> Customer:
    """Link another platform identity to a customer by hand: it, and the cases it wrote in, join the customer."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise UserError(f"there is no customer {customer_id}")
    identity = session.get(Identity, identity_id)
    if identity is None:
        raise UserError(f"there is no identity {identity_id}")
    if identity.customer_id == customer.id:
        raise UserError(f"identity {identity_id} already belongs to customer {customer_id}")
    old = session.get_one(Customer, identity.customer_id)
    identity.customer_id = customer.id
    case_ids = set(
        session.scalars(select(Mention.case_id).where(Mention.identity_id == identity.id, Mention.case_id.is_not(None)))
    )
    for case in session.scalars(select(Case).where(Case.id.in_(case_ids), Case.customer_id == old.id)):
        case.customer_id = customer.id
    session.flush()
    left = session.scalar(select(Identity.id).where(Identity.customer_id == old.id).limit(1))
    if left is None:
        # The old customer has nothing left: its remaining cases follow, and the empty record goes.
        for case in session.scalars(select(Case).where(Case.customer_id == old.id)):
            case.customer_id = customer.id
        session.flush()
        session.delete(old)
    if customer.owner_id is None and old.owner_id is not None:
        customer.owner_id = old.owner_id
    audit.record(
        session,
        now,
        actor,
        "link_identity",
        "customer",
        customer.id,
        identity_id=identity.id,
        platform=identity.platform,
        handle=identity.handle,
        from_customer=old.id,
    )
    return customer
