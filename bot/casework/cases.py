"""Cases: a customer's thread with the brand, its states, and the moves between them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.casework.drafting import draft_close
from bot.config import SlaConfig
from bot.errors import UserError
from bot.notifications import events
from bot.service_levels import sla as sla_clocks
from bot.storage import audit
from bot.storage.models import Case, CaseEvent, Customer, Mention, TriageResult, User
from bot.storage.statuses import FINISHED_STATES, CaseState

NEW = CaseState.NEW
MONITORING = CaseState.MONITORING
AWAITING_APPROVAL = CaseState.AWAITING_APPROVAL
ANSWERED_PUBLIC = CaseState.ANSWERED_PUBLIC
MOVED_PRIVATE = CaseState.MOVED_PRIVATE
WAITING_ON_CUSTOMER = CaseState.WAITING_ON_CUSTOMER
RESOLVED = CaseState.RESOLVED
CLOSED_PUBLIC = CaseState.CLOSED_PUBLIC
MERGED = CaseState.MERGED  # bot/casework/merging.py
STATES = tuple(CaseState)
FINISHED = FINISHED_STATES
LEVEL_RANK = {"monitor": 0, "self_service": 1, "investigate": 2, "private": 3}

# The state a case moves to once a draft of each kind has been posted.
STATE_AFTER_SENDING = {
    "reply": ANSWERED_PUBLIC,
    "acknowledgement": ANSWERED_PUBLIC,
    "invitation": MOVED_PRIVATE,
    "private_message": WAITING_ON_CUSTOMER,
    "follow_up": WAITING_ON_CUSTOMER,
    "close": CLOSED_PUBLIC,
}


def set_state(
    session: Session,
    case: Case,
    state: str,
    actor: str,
    now: datetime,
    note: str | None = None,
    sla: SlaConfig | None = None,
) -> None:
    """Move a case to a state, keeping its history and pausing SLA clocks while it waits on the customer."""
    if state == case.state:
        return
    if case.state == WAITING_ON_CUSTOMER and case.waiting_since is not None:
        _unpause(case, now, sla)
    if state == WAITING_ON_CUSTOMER:
        case.waiting_since = now
    session.add(CaseEvent(case=case, at=now, actor=actor, from_state=case.state, to_state=state, note=note))
    case.state = state
    case.updated_at = now


def _unpause(case: Case, now: datetime, sla: SlaConfig | None = None) -> None:
    since = case.waiting_since
    if since is None:
        return  # not waiting on the customer: nothing to count
    paused = now - since
    case.paused_seconds = (case.paused_seconds or 0.0) + paused.total_seconds()
    if sla is not None:
        # Business hours make the shift depend on the calendar, so sla.py measures it.
        sla_clocks.shift_for_pause(case, since, now, sla)
    elif case.resolution_due_at is not None:
        case.resolution_due_at += paused
    case.waiting_since = None


def settle_pause(case: Case, now: datetime, sla: SlaConfig | None = None) -> None:
    """Count a running wait on the customer into the clocks up to now; a case still waiting pauses again from now."""
    if case.waiting_since is None:
        return
    _unpause(case, now, sla)
    if case.state == WAITING_ON_CUSTOMER:
        case.waiting_since = now


def surviving(session: Session, case: Case | None) -> Case | None:
    """The case that now holds this one's thread: itself, or the case it was merged into (followed to the end)."""
    seen: set[int] = set()
    while case is not None and case.merged_into_id is not None and case.id not in seen:
        seen.add(case.id)
        case = session.get(Case, case.merged_into_id)
    return case


def find_open_thread(session: Session, mention: Mention) -> Case | None:
    """The case this mention belongs to: its thread's latest case, or for a private message the customer's open case."""
    case = session.scalar(
        select(Case)
        .where(Case.platform == mention.platform, Case.thread_key == mention.thread_key)
        .order_by(Case.id.desc())
        .limit(1)
    )
    case = surviving(session, case)
    if case is None and mention.channel == "private":
        customer_id = mention.identity.customer_id
        case = session.scalar(
            select(Case)
            .where(Case.customer_id == customer_id, Case.platform == mention.platform, Case.state.not_in(FINISHED))
            .order_by(Case.id.desc())
            .limit(1)
        )
    return case


def latest_cases(session: Session, threads: set[tuple[str, str]]) -> dict[tuple[str, str], Case]:
    """find_open_thread's first answer for many threads at once: each thread's latest case, by (platform, thread key)."""
    found: dict[tuple[str, str], Case] = {}
    for platform in {p for p, _ in threads}:
        keys = sorted(k for p, k in threads if p == platform)
        for case in session.scalars(
            select(Case).where(Case.platform == platform, Case.thread_key.in_(keys)).order_by(Case.id)
        ):
            found[(platform, case.thread_key)] = case  # ordered by id: the latest one stays
    return {thread: surviving(session, case) or case for thread, case in found.items()}


def attach(
    session: Session, mention: Mention, triage: TriageResult, sla: SlaConfig, now: datetime
) -> tuple[Case, bool]:
    """Put a triaged mention in its case: join the open one, reopen a finished one, or open a new one."""
    return attach_to(session, find_open_thread(session, mention), mention, triage, sla, now)


def open_case(
    session: Session,
    mention: Mention,
    customer_id: int,
    triage: TriageResult | Case,
    sla: SlaConfig,
    now: datetime,
    actor: str,
    note: str,
    owner_id: int | None = None,
) -> Case:
    """A new case opened by this message: its level and the rest from a triage (or a case), its clocks started."""
    # Collections start empty and loaded: a new case has nothing to fetch from the database.
    case = Case(
        account_id=mention.account_id,
        customer_id=customer_id,
        platform=mention.platform,
        thread_key=mention.thread_key,
        state=NEW,
        level=triage.level,
        category=triage.category,
        language=triage.language,
        priority=triage.priority,
        owner_id=owner_id,
        opened_at=mention.created_at,
        updated_at=now,
        paused_seconds=0.0,
        reopen_count=0,
        version=0,
        mentions=[],
        drafts=[],
        events=[],
    )
    session.add(case)
    session.add(CaseEvent(case=case, at=now, actor=actor, from_state=None, to_state=NEW, note=note))
    _start_clocks(case, mention.created_at, triage.level, sla)
    return case


def attach_to(
    session: Session, case: Case | None, mention: Mention, triage: TriageResult, sla: SlaConfig, now: datetime
) -> tuple[Case, bool]:
    """attach, with the mention's case (or None) already found; True when it reopened a finished case."""
    reopened = False
    if case is None:
        case = open_case(
            session,
            mention,
            mention.identity.customer_id,
            triage,
            sla,
            now,
            "system",
            f"opened by mention {mention.platform_id}",
        )
    elif case.state in FINISHED:
        reopened = True
        case.reopen_count += 1
        case.resolved_at = None
        case.closed_at = None
        case.first_response_at = None
        set_state(session, case, NEW, "system", now, f"reopened by mention {mention.platform_id}")
        _start_clocks(case, mention.created_at, triage.level, sla)
    else:
        if case.state == WAITING_ON_CUSTOMER:
            set_state(session, case, NEW, "system", now, f"customer wrote again ({mention.platform_id})", sla=sla)
    if LEVEL_RANK.get(triage.level, 0) > LEVEL_RANK.get(case.level, 0):
        case.level = triage.level
        since = case.opened_at if not case.reopen_count else mention.created_at
        sla_clocks.restart_resolution(case, since, triage.level, sla)
    case.priority = max(case.priority or 0.0, triage.priority)
    case.last_customer_message_at = max(filter(None, [case.last_customer_message_at, mention.created_at]))
    case.updated_at = now
    # A new customer message makes any approval of what a person saw before it stale (approval.check_fresh).
    case.version = (case.version or 0) + 1
    mention.case = case
    return case, reopened


def _start_clocks(case: Case, since: datetime, level: str, sla: SlaConfig) -> None:
    # Policies per level and platform, and business hours, live in sla.py.
    sla_clocks.start_clocks(case, since, level, sla)


def after_drafting(session: Session, case: Case, drafted: bool, now: datetime) -> None:
    """A case with new drafts awaits approval; one with nothing to answer is only monitored."""
    if drafted:
        set_state(session, case, AWAITING_APPROVAL, "system", now)
    elif case.state == NEW:
        set_state(session, case, MONITORING, "system", now, "no response needed")


def after_sending(session: Session, case: Case, kind: str, now: datetime) -> None:
    """Advance a case once a reply of this kind has been posted."""
    # A reply in the thread makes any approval of what a person saw before it stale (approval.check_fresh).
    case.version = (case.version or 0) + 1
    if kind != "close" and case.first_response_at is None:
        case.first_response_at = now
    target = STATE_AFTER_SENDING.get(kind)
    if target == CLOSED_PUBLIC:
        case.closed_at = now
    if target and not (case.state == RESOLVED and target != CLOSED_PUBLIC):
        set_state(session, case, target, "system", now, f"{kind} posted")


def get_case(session: Session, case_id: int) -> Case:
    """The case with this id, or a UserError naming it."""

    case = session.get(Case, case_id)
    if case is None:
        raise UserError(f"there is no case {case_id}")
    return case


def assign(session: Session, case_id: int, username: str | None, actor: str, now: datetime) -> Case:
    """Give a case (and its customer, one interlocutor) to a user, or to nobody."""
    case = get_case(session, case_id)
    owner = None
    if username:
        owner = session.scalar(select(User).where(User.username == username))
        if owner is None or not owner.active:
            raise UserError(f"there is no active user named {username!r}")
    if case.owner_id == (owner.id if owner else None):
        return case
    case.owner_id = owner.id if owner else None
    customer = session.get(Customer, case.customer_id)
    if customer is not None and owner is not None:
        customer.owner_id = owner.id
    note = f"assigned to {owner.username}" if owner else "unassigned"
    # An owner change is history too, though the state stays the same.
    session.add(CaseEvent(case=case, at=now, actor=actor, from_state=case.state, to_state=case.state, note=note))
    audit.record(session, now, actor, "assign", "case", case.id, owner=owner.username if owner else None)
    if owner is not None:
        events.case_assigned(session, now, case.id, owner.username, actor)
    return case


def resolve(session: Session, config, renderer, case_id: int, actor: str, now: datetime, summary: str = ""):
    """Mark a case resolved and draft its positive public close; returns the close draft."""

    case = get_case(session, case_id)
    if case.state in FINISHED:
        raise UserError(f"case {case_id} is already {case.state}")
    case.resolved_at = now
    set_state(session, case, RESOLVED, actor, now, summary or None)
    audit.record(session, now, actor, "resolve", "case", case.id, summary=summary)
    draft = draft_close(session, config, renderer, case, summary, now)
    session.flush()
    return draft
