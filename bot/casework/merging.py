"""Merging two cases of one customer into one, and splitting a message out into a case of its own."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.casework import cases
from bot.config import Config
from bot.errors import UserError
from bot.storage import audit
from bot.storage.models import Case, CaseEvent, CaseNote, CaseTag, Draft, EtaPromise, Mention, SlaAlert
from bot.storage.statuses import DraftStatus, OutboxStatus

# The state a merged case takes: the most active of the two (a person's work waiting comes first).
ACTIVITY = (
    cases.AWAITING_APPROVAL,
    cases.NEW,
    cases.MOVED_PRIVATE,
    cases.ANSWERED_PUBLIC,
    cases.WAITING_ON_CUSTOMER,
    cases.MONITORING,
)


def merge_cases(session: Session, config: Config, into_id: int, other_id: int, actor: str, now: datetime) -> Case:
    """Merge case other_id into case into_id: one thread, the earliest clocks, one owner; the other is kept, merged."""
    if into_id == other_id:
        raise UserError(f"case {into_id} cannot be merged into itself")
    into = cases.get_case(session, into_id)
    other = cases.get_case(session, other_id)
    for case in (into, other):
        if case.merged_into_id is not None:
            raise UserError(f"case {case.id} is already merged into case {case.merged_into_id}")
        if case.state in cases.FINISHED:
            raise UserError(f"case {case.id} is {case.state}; reopen it before merging")
    if into.customer_id != other.customer_id:
        raise UserError(
            f"case {other.id} belongs to customer {other.customer_id}, case {into.id} to customer {into.customer_id}: "
            "only one customer's cases merge; if they are one person, link the identities first "
            f"(the customer page's 'Link another identity', /customers/{into.customer_id})"
        )
    if into.account_id != other.account_id:
        raise UserError(
            f"cases {into.id} and {other.id} are on different brand accounts; a case answers through one account, "
            "so they stay apart (the customer page shows both)"
        )
    sla = config.sla
    cases.settle_pause(into, now, sla)
    cases.settle_pause(other, now, sla)
    moved = _move_contents(session, into, other)
    kept, superseded = _one_answer_per_channel(into, actor, now)
    _merge_clocks(session, into, other)
    if cases.LEVEL_RANK.get(other.level, 0) > cases.LEVEL_RANK.get(into.level, 0):
        into.level = other.level
        into.category = other.category or into.category
    into.priority = max(into.priority or 0.0, other.priority or 0.0)
    if into.owner_id is None:
        into.owner_id = other.owner_id
    state = cases.AWAITING_APPROVAL if kept else _most_active(into.state, other.state)
    note = f"case {other.id} merged into this one ({moved} messages)"
    if state == into.state:
        session.add(CaseEvent(case=into, at=now, actor=actor, from_state=into.state, to_state=state, note=note))
    else:
        cases.set_state(session, into, state, actor, now, note, sla=sla)
    other.merged_into_id = into.id
    other.waiting_since = None
    other.owner_id = into.owner_id
    cases.set_state(session, other, cases.MERGED, actor, now, f"merged into case {into.id}")
    for case in (into, other):
        case.version = (case.version or 0) + 1
        case.updated_at = now
    audit.record(
        session, now, actor, "merge", "case", into.id, other_case_id=other.id, messages=moved, superseded=superseded
    )
    audit.record(session, now, actor, "merged_into", "case", other.id, into_case_id=into.id)
    session.flush()
    for case in (into, other):  # read again in their order (oldest first) when next used
        session.expire(case, ["mentions", "drafts", "events"])
    return into


def _move_contents(session: Session, into: Case, other: Case) -> int:
    """Messages, drafts, history, notes, tags and ETA promises of other go to into; returns how many messages."""
    messages = list(other.mentions)
    for mention in messages:
        mention.case = into
    for draft in list(other.drafts):
        draft.case = into
    for event in list(other.events):
        event.case = into
    for note in session.scalars(select(CaseNote).where(CaseNote.case_id == other.id)):
        note.case_id = into.id
    held = {t.tag for t in session.scalars(select(CaseTag).where(CaseTag.case_id == into.id))}
    for tag in session.scalars(select(CaseTag).where(CaseTag.case_id == other.id)):
        if tag.tag not in held:  # a tag both had stays on the merged case too, as history
            tag.case_id = into.id
    for promise in session.scalars(select(EtaPromise).where(EtaPromise.case_id == other.id)):
        promise.case_id = into.id
    return len(messages)


def _one_answer_per_channel(case: Case, actor: str, now: datetime) -> tuple[list[Draft], list[int]]:
    """Never answer one customer twice at once: the newest pending draft of each channel stays, older ones give way."""
    pending = sorted((d for d in case.drafts if d.status == DraftStatus.PENDING), key=lambda d: (d.created_at, d.id))
    newest: dict[str, Draft] = {}
    for draft in pending:
        newest[draft.channel] = draft
    # A public answer and a private one may go together (as an invitation and its private opener do).
    kept = [d for d in pending if d in newest.values()]
    superseded = []
    for draft in pending:
        if draft in kept:
            continue
        answer = newest[draft.channel]
        draft.status = DraftStatus.SUPERSEDED
        draft.decided_at = now
        draft.decided_by = actor
        draft.reject_reason = f"superseded by draft {answer.id} when cases merged: one {draft.channel} answer at a time"
        draft.version = (draft.version or 0) + 1
        superseded.append(draft.id)
    return kept, superseded


def _merge_clocks(session: Session, into: Case, other: Case) -> None:
    """The earliest due time wins for each clock; the answer and the breaches already recorded are kept."""
    into.opened_at, into.paused_seconds = min(
        (into.opened_at, into.paused_seconds or 0.0), (other.opened_at, other.paused_seconds or 0.0)
    )
    for field in ("first_response_due_at", "first_response_breach_at", "resolution_due_at", "first_response_at"):
        setattr(into, field, _earliest(getattr(into, field), getattr(other, field)))
    into.last_customer_message_at = max(
        filter(None, [into.last_customer_message_at, other.last_customer_message_at]), default=None
    )
    # The breaches of the absorbed case's clocks are the merged case's now, unless it has raised the same one.
    raised = {
        (a.clock, a.kind)
        for a in session.scalars(
            select(SlaAlert).where(SlaAlert.case_id == into.id, SlaAlert.cycle == (into.reopen_count or 0))
        )
    }
    for alert in session.scalars(
        select(SlaAlert).where(SlaAlert.case_id == other.id, SlaAlert.cycle == (other.reopen_count or 0))
    ):
        if (alert.clock, alert.kind) not in raised:
            alert.case_id = into.id
            alert.cycle = into.reopen_count or 0
    other.first_response_due_at = other.first_response_breach_at = other.resolution_due_at = None


def _earliest(first: datetime | None, second: datetime | None) -> datetime | None:
    return min(filter(None, [first, second]), default=None)


def _most_active(first: str, second: str) -> str:
    ranked = [s for s in ACTIVITY if s in (first, second)]
    return ranked[0] if ranked else first


def split_message(session: Session, config: Config, mention_id: int, actor: str, now: datetime) -> Case:
    """Move one message and its drafts out of its case into a new case of the same customer, with fresh clocks."""
    mention = session.get(Mention, mention_id)
    if mention is None:
        raise UserError(f"there is no mention {mention_id}")
    if mention.case is None:
        raise UserError(f"mention {mention_id} is in no case yet (it is still being triaged)")
    source = mention.case
    if source.merged_into_id is not None:
        raise UserError(f"case {source.id} is merged into case {source.merged_into_id}; split from there")
    if len(source.mentions) < 2:
        raise UserError(f"mention {mention_id} is the only message of case {source.id}: there is nothing to split from")
    case = cases.open_case(
        session,
        mention,
        source.customer_id,
        mention.triage or source,
        config.sla,
        now,
        actor,
        f"split from case {source.id} (mention {mention.platform_id})",
        owner_id=source.owner_id,
    )
    case.last_customer_message_at = mention.created_at
    drafts = [d for d in source.drafts if d.mention_id == mention.id]
    mention.case = case
    for draft in drafts:
        draft.case = case
    for promise in session.scalars(
        select(EtaPromise).where(EtaPromise.draft_id.in_([d.id for d in drafts if d.id is not None]))
    ):
        promise.case_id = case.id
    answered = [d.outbox.sent_at for d in drafts if d.outbox is not None and d.outbox.status == OutboxStatus.SENT]
    case.first_response_at = min(filter(None, answered), default=None)
    if any(d.status == DraftStatus.PENDING for d in drafts):
        cases.set_state(session, case, cases.AWAITING_APPROVAL, actor, now, "its drafts came along")
    left = [m for m in source.mentions if m is not mention]
    source.last_customer_message_at = max((m.created_at for m in left), default=source.last_customer_message_at)
    if source.state == cases.AWAITING_APPROVAL and not any(d.status == DraftStatus.PENDING for d in source.drafts):
        back = cases.NEW if source.first_response_at is None else cases.ANSWERED_PUBLIC
        cases.set_state(session, source, back, actor, now, f"mention {mention.platform_id} split into its own case")
    session.flush()
    session.add(
        CaseEvent(
            case=source,
            at=now,
            actor=actor,
            from_state=source.state,
            to_state=source.state,
            note=f"mention {mention.platform_id} split into case {case.id}",
        )
    )
    source.version = (source.version or 0) + 1
    source.updated_at = now
    audit.record(session, now, actor, "split", "case", source.id, mention_id=mention.id, new_case_id=case.id)
    audit.record(session, now, actor, "split_from", "case", case.id, mention_id=mention.id, from_case_id=source.id)
    session.flush()
    for changed in (source, case):  # read again in their order (oldest first) when next used
        session.expire(changed, ["mentions", "drafts", "events"])
    return case
