"""What the console's pages and the API read: the queue, a draft in context, cases, customers, the audit log."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from bot.storage.models import (
    AuditEntry,
    Case,
    CaseNote,
    CaseTag,
    Customer,
    Draft,
    Identity,
    Mention,
    OutboxMessage,
    SlaAlert,
    User,
)
from bot.storage.statuses import FINISHED_STATES, IDLE_STATES

OPEN_STATES_EXCLUDED = IDLE_STATES


@dataclass
class QueueFilters:
    """What the queue is narrowed to; empty means everything."""

    platform: str = ""
    level: str = ""
    language: str = ""
    owner: str = ""  # a user name, "none" for unassigned
    status: str = "pending"
    tag: str = ""  # cases with this tag

    def as_query(self) -> dict[str, str]:
        """The non-empty filters, for links that keep them."""
        return {k: v for k, v in self.__dict__.items() if v and not (k == "status" and v == "pending")}


@dataclass
class Page:
    """One page of rows and what is needed to draw the pager."""

    rows: list[Any]
    total: int
    page: int
    size: int
    capped: bool = False  # True when there are more than `total` rows: counting stopped there

    @property
    def shown_total(self) -> str:
        """The count as a person reads it: 10,000+ when counting stopped."""
        return f"{self.total:,}+" if self.capped else f"{self.total:,}"

    @property
    def pages(self) -> int:
        """How many pages there are."""
        return max(1, -(-self.total // self.size))


QUEUE_COUNT_CAP = 10_000


def queue(session: Session, filters: QueueFilters, page: int = 1, size: int = 50) -> Page:
    """Drafts waiting for a decision, by priority then the first-response due time."""
    status = filters.status if filters.status in ("pending", "blocked") else "pending"
    where: list[Any] = [Draft.status == status]
    if filters.platform:
        where.append(Case.platform == filters.platform)
    if filters.level:
        where.append(Case.level == filters.level)
    if filters.language:
        where.append(Draft.language == filters.language)
    if filters.owner == "none":
        where.append(Case.owner_id.is_(None))
    elif filters.owner:
        where.append(Case.owner_id == select(User.id).where(User.username == filters.owner).scalar_subquery())
    if filters.tag:
        where.append(Draft.case_id.in_(tagged(filters.tag)))
    # A busy desk can have hundreds of thousands waiting: counting stops past QUEUE_COUNT_CAP, as nobody pages that far.
    counted = select(Draft.id).where(*where)
    if len(where) > 1:
        counted = counted.join(Case, Draft.case_id == Case.id)
    total = session.scalar(select(func.count()).select_from(counted.limit(QUEUE_COUNT_CAP + 1).subquery())) or 0
    capped = total > QUEUE_COUNT_CAP
    total = min(total, QUEUE_COUNT_CAP)
    page = max(1, page)
    query = (
        select(Draft)
        .join(Case, Draft.case_id == Case.id)
        .where(*where)
        .order_by(Draft.priority.desc(), Case.first_response_due_at.asc(), Draft.id)
        .offset((page - 1) * size)
        .limit(size)
        .options(
            joinedload(Draft.case),
            joinedload(Draft.mention).joinedload(Mention.identity),
            joinedload(Draft.mention).joinedload(Mention.triage),
        )
    )
    return Page(list(session.scalars(query).unique()), total, page, size, capped)


def queue_facets(session: Session) -> dict[str, list[str]]:
    """The values the queue's filters offer."""
    platforms = sorted(p for p in session.scalars(select(Case.platform).distinct()) if p)
    languages = sorted(
        lang for lang in session.scalars(select(Draft.language).where(Draft.status == "pending").distinct()) if lang
    )
    owners = sorted(session.scalars(select(User.username).where(User.active.is_(True))))
    return {
        "platform": platforms,
        "level": ["private", "investigate", "self_service", "monitor"],
        "language": languages,
        "owner": owners,
        "tag": list(session.scalars(select(CaseTag.tag).distinct().order_by(CaseTag.tag))),
    }


def tagged(tag: str):
    """The ids of the cases with a tag, as a subquery (the tag as people type it: case and spaces do not matter)."""
    return select(CaseTag.case_id).where(CaseTag.tag == " ".join(tag.split()).lower())


def case_tags(session: Session, case_ids: set[int]) -> dict[int, list[str]]:
    """The tags of many cases at once, each case's in alphabetical order."""
    found: dict[int, list[str]] = {}
    if case_ids:
        for case_id, tag in session.execute(
            select(CaseTag.case_id, CaseTag.tag).where(CaseTag.case_id.in_(case_ids)).order_by(CaseTag.tag)
        ):
            found.setdefault(case_id, []).append(tag)
    return found


@dataclass
class ThreadItem:
    """One message of a case's thread: the customer's mention, the brand's reply, or the team's internal note."""

    at: datetime
    who: str
    channel: str
    text: str
    brand: bool
    status: str = ""
    mention: Mention | None = None
    draft: Draft | None = None
    note: CaseNote | None = None


def thread(case: Case) -> list[ThreadItem]:
    """The whole conversation of a case, public and private, oldest first, with the brand's replies."""
    items = [
        ThreadItem(m.created_at, _author(m.identity), m.channel, m.text, False, m.status, mention=m)
        for m in case.mentions
    ]
    for draft in case.drafts:
        if draft.status == "sent" and draft.outbox is not None:
            items.append(
                ThreadItem(
                    draft.outbox.sent_at or draft.decided_at or draft.created_at,
                    "brand",
                    draft.channel,
                    draft.text,
                    True,
                    draft.kind,
                    draft=draft,
                )
            )
    return sorted(items, key=lambda item: (item.at, item.brand))


def thread_with_notes(case: Case, notes: list[CaseNote]) -> list[ThreadItem]:
    """The thread with the team's internal notes (never sent) between its messages, in time order."""
    items = thread(case) + [ThreadItem(n.created_at, n.author, "note", n.text, False, note=n) for n in notes]
    return sorted(items, key=lambda item: (item.at, item.brand, item.note is not None))


def _author(identity: Identity | None) -> str:
    if identity is None:
        return "unknown"
    return identity.handle or identity.name or identity.platform_user_id


def load_case(session: Session, case_id: int) -> Case | None:
    """A case with its thread, drafts, history and customer loaded."""
    return session.scalar(
        select(Case)
        .where(Case.id == case_id)
        .options(
            selectinload(Case.mentions).joinedload(Mention.identity),
            selectinload(Case.mentions).joinedload(Mention.triage),
            selectinload(Case.drafts).joinedload(Draft.outbox),
            selectinload(Case.events),
        )
    )


def customer_history(
    session: Session, customer_id: int, exclude_case: int | None = None, limit: int = 10
) -> list[Case]:
    """The customer's most recent other cases."""
    query = select(Case).where(Case.customer_id == customer_id, Case.merged_into_id.is_(None))
    if exclude_case is not None:
        query = query.where(Case.id != exclude_case)
    return list(session.scalars(query.order_by(Case.opened_at.desc()).limit(limit)))


def merged_into(session: Session, case: Case) -> list[Case]:
    """The cases merged into this one (each shown once, as a link in its history)."""
    return list(session.scalars(select(Case).where(Case.merged_into_id == case.id).order_by(Case.id)))


def open_siblings(session: Session, case: Case) -> list[Case]:
    """The customer's other open cases on the same account: what this one can be merged into."""
    return list(
        session.scalars(
            select(Case)
            .where(
                Case.customer_id == case.customer_id,
                Case.account_id == case.account_id,
                Case.id != case.id,
                Case.merged_into_id.is_(None),
                Case.state.not_in(FINISHED_STATES),
            )
            .order_by(Case.opened_at.desc())
        )
    )


def owner_name(session: Session, owner_id: int | None) -> str | None:
    """The user name of a case's owner, or None for a case nobody owns."""
    return owners(session, {owner_id}).get(owner_id) if owner_id is not None else None


def owners(session: Session, ids: set[int | None]) -> dict[int, str]:
    """User names by id."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(wanted))).all())


def cases(
    session: Session,
    state: str = "",
    level: str = "",
    owner: str = "",
    search: str = "",
    page: int = 1,
    size: int = 50,
    tag: str = "",
) -> Page:
    """Cases, most recently updated first; state 'open' means every unfinished state."""
    where: list[Any] = []
    by_id = search.strip().lstrip("#").isdigit()
    if state != "merged" and not by_id:  # a merged case is listed once, as the case it went into
        where.append(Case.merged_into_id.is_(None))
    if state == "open":
        where.append(Case.state.not_in(OPEN_STATES_EXCLUDED))
    elif state:
        where.append(Case.state == state)
    if level:
        where.append(Case.level == level)
    if owner == "none":
        where.append(Case.owner_id.is_(None))
    elif owner:
        where.append(Case.owner_id == select(User.id).where(User.username == owner).scalar_subquery())
    if by_id:
        where.append(Case.id == int(search.strip().lstrip("#")))
    if tag:
        where.append(Case.id.in_(tagged(tag)))
    total = session.scalar(select(func.count(Case.id)).where(*where)) or 0
    query = (
        select(Case)
        .where(*where)
        .order_by(Case.updated_at.desc(), Case.id.desc())
        .offset((max(1, page) - 1) * size)
        .limit(size)
    )
    return Page(list(session.scalars(query)), total, max(1, page), size)


def case_customers(session: Session, customer_ids: set[int]) -> dict[int, str]:
    """A display label per customer: a name or the first identity's handle."""
    if not customer_ids:
        return {}
    labels: dict[int, str] = {}
    for identity in session.scalars(
        select(Identity).where(Identity.customer_id.in_(customer_ids)).order_by(Identity.id)
    ):
        labels.setdefault(identity.customer_id, identity.handle or identity.name or identity.platform_user_id)
    for customer in session.scalars(select(Customer).where(Customer.id.in_(customer_ids))):
        if customer.display_name:
            labels[customer.id] = customer.display_name
    return labels


def customers(session: Session, search: str = "", page: int = 1, size: int = 50) -> Page:
    """Customers matching a name or handle, newest first."""
    query = select(Customer)
    count = select(func.count(Customer.id))
    if search.strip():
        pattern = f"%{search.strip().lower()}%"
        matching = select(Identity.customer_id).where(
            or_(func.lower(Identity.handle).like(pattern), func.lower(Identity.name).like(pattern))
        )
        condition = or_(Customer.id.in_(matching), func.lower(Customer.display_name).like(pattern))
        query = query.where(condition)
        count = count.where(condition)
    total = session.scalar(count) or 0
    rows = list(
        session.scalars(
            query.options(selectinload(Customer.identities))
            .order_by(Customer.id.desc())
            .offset((max(1, page) - 1) * size)
            .limit(size)
        )
    )
    return Page(rows, total, max(1, page), size)


@dataclass
class CustomerView:
    """A customer's 360 view: identities, cases and recent messages."""

    customer: Customer
    identities: list[Identity]
    cases: list[Case]
    messages: list[Mention]
    owner: str | None
    counts: dict[str, int] = field(default_factory=dict)


def customer_view(session: Session, customer_id: int, messages: int = 50) -> CustomerView | None:
    """Everything the console shows about one customer."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        return None
    identities = list(
        session.scalars(select(Identity).where(Identity.customer_id == customer.id).order_by(Identity.id))
    )
    case_rows = list(
        session.scalars(
            select(Case)
            .where(Case.customer_id == customer.id, Case.merged_into_id.is_(None))
            .order_by(Case.opened_at.desc())
        )
    )
    identity_ids = [i.id for i in identities]
    recent = (
        list(
            session.scalars(
                select(Mention)
                .where(Mention.identity_id.in_(identity_ids))
                .options(joinedload(Mention.identity), joinedload(Mention.triage))
                .order_by(Mention.created_at.desc())
                .limit(messages)
            )
        )
        if identity_ids
        else []
    )
    owner = session.get_one(User, customer.owner_id).username if customer.owner_id else None
    total = (
        session.scalar(select(func.count(Mention.id)).where(Mention.identity_id.in_(identity_ids)))
        if identity_ids
        else 0
    )
    return CustomerView(
        customer, identities, case_rows, recent, owner, {"messages": total or 0, "cases": len(case_rows)}
    )


def find_identities(session: Session, search: str, exclude_customer: int, limit: int = 20) -> list[Identity]:
    """Identities of other customers matching a handle or name, to link by hand."""
    if not search.strip():
        return []
    pattern = f"%{search.strip().lower()}%"
    return list(
        session.scalars(
            select(Identity)
            .where(
                Identity.customer_id != exclude_customer,
                or_(
                    func.lower(Identity.handle).like(pattern),
                    func.lower(Identity.name).like(pattern),
                    Identity.platform_user_id == search.strip(),
                ),
            )
            .order_by(Identity.id)
            .limit(limit)
        )
    )


def audit_log(
    session: Session,
    actor: str = "",
    action: str = "",
    object_type: str = "",
    object_id: int | None = None,
    page: int = 1,
    size: int = 50,
) -> Page:
    """Audit entries, newest first."""
    where: list[Any] = []
    if actor:
        where.append(AuditEntry.actor == actor)
    if action:
        where.append(AuditEntry.action == action)
    if object_type:
        where.append(AuditEntry.object_type == object_type)
    if object_id is not None:
        where.append(AuditEntry.object_id == object_id)
    total = session.scalar(select(func.count(AuditEntry.id)).where(*where)) or 0
    rows = list(
        session.scalars(
            select(AuditEntry)
            .where(*where)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .offset((max(1, page) - 1) * size)
            .limit(size)
        )
    )
    return Page(rows, total, max(1, page), size)


def audit_for_case(session: Session, case: Case, limit: int = 100) -> list[AuditEntry]:
    """Audit entries about a case, its drafts and its messages (hidden, shown again)."""
    draft_ids = [d.id for d in case.drafts]
    condition = (AuditEntry.object_type == "case") & (AuditEntry.object_id == case.id)
    if draft_ids:
        condition = condition | ((AuditEntry.object_type == "draft") & AuditEntry.object_id.in_(draft_ids))
    mention_ids = [m.id for m in case.mentions]
    if mention_ids:
        condition = condition | ((AuditEntry.object_type == "mention") & AuditEntry.object_id.in_(mention_ids))
    return list(
        session.scalars(select(AuditEntry).where(condition).order_by(AuditEntry.at, AuditEntry.id).limit(limit))
    )


def sla_alerts(session: Session, case: Case) -> list[Any]:
    """The SLA warnings and breaches raised for a case's current cycle (bot/service_levels/sla.py), newest first."""

    return list(
        session.scalars(
            select(SlaAlert)
            .where(SlaAlert.case_id == case.id, SlaAlert.cycle == (case.reopen_count or 0))
            .order_by(SlaAlert.fired_at.desc(), SlaAlert.id.desc())
        )
    )


def sent_count(session: Session) -> int:
    """Replies posted so far."""
    return session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.status == "sent")) or 0
