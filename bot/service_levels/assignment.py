"""Assignment: one universal queue gives every case an owner, and a customer keeps the same agent while on shift."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from bot.config import WEEKDAYS, Config, ShiftConfig
from bot.errors import UserError
from bot.notifications import events
from bot.storage.db import transaction
from bot.storage.models import Case, CaseEvent, Customer, User
from bot.storage.statuses import IDLE_STATES

log = logging.getLogger(__name__)

# Cases that are not an agent's work: finished ones and threads that are only monitored.
NOT_WORK = IDLE_STATES


@dataclass
class Agent:
    """A person who takes cases, with the cases they own now."""

    user: User
    load: int
    on_shift: bool

    @property
    def has_room(self) -> bool:
        """True while the agent owns fewer open cases than their capacity."""
        return self.on_shift and self.load < self.user.capacity


def in_shift(shift: ShiftConfig, now: datetime) -> bool:
    """True when the naive-UTC moment falls inside this weekly shift (an end before the start runs past midnight)."""
    local = now.replace(tzinfo=UTC).astimezone(ZoneInfo(shift.timezone))
    start, end = _clock(shift.start), _clock(shift.end)
    moment = local.time()
    today = WEEKDAYS[local.weekday()]
    yesterday = WEEKDAYS[(local.weekday() - 1) % 7]
    if start < end:
        return today in shift.days and start <= moment < end
    return (today in shift.days and moment >= start) or (yesterday in shift.days and moment < end)


def _clock(value: str) -> time:
    hour, minute = (int(part) for part in value.split(":"))
    return time(23, 59, 59, 999999) if hour == 24 else time(hour, minute)


def is_on_shift(config: Config, user: User, now: datetime) -> bool:
    """Active, marked on shift, in a role that takes cases, and inside one of their shifts (when any are configured)."""
    if not user.active or not user.on_shift or user.capacity <= 0 or user.role not in config.assignment.roles:
        return False
    shifts = [s for s in config.assignment.shifts if s.agent == user.username]
    return not shifts or any(in_shift(s, now) for s in shifts)


def loads(session: Session, exclude_case_id: int | None = None) -> dict[int, int]:
    """Open cases per owner."""
    query = (
        select(Case.owner_id, func.count(Case.id))
        .where(Case.owner_id.is_not(None), Case.state.not_in(NOT_WORK))
        .group_by(Case.owner_id)
    )
    if exclude_case_id is not None:
        query = query.where(Case.id != exclude_case_id)
    return {
        owner: count for owner, count in session.execute(query) if owner is not None
    }  # the query asks for owned ones


def agents(session: Session, config: Config, now: datetime, exclude_case_id: int | None = None) -> list[Agent]:
    """Every user who takes cases, with their load and whether they are on shift now."""
    counts = loads(session, exclude_case_id)
    return [Agent(u, counts.get(u.id, 0), is_on_shift(config, u, now)) for u in _takers(session, config)]


def agents_on_shift(session: Session, config: Config, now: datetime) -> list[Agent]:
    """The agents working now."""
    return [a for a in agents(session, config, now) if a.on_shift]


def _takers(session: Session, config: Config) -> list[User]:
    return list(session.scalars(select(User).where(User.role.in_(config.assignment.roles)).order_by(User.id)))


def count_on_shift(session: Session, config: Config, now: datetime) -> int:
    """How many agents are working now (their loads are not needed for that)."""
    return sum(is_on_shift(config, user, now) for user in _takers(session, config))


class Roster:
    """The team and its loads, read once for a batch of cases and kept up to date as the batch assigns them."""

    def __init__(self, session: Session, config: Config, now: datetime):
        self.config = config
        self.now = now
        self.users = _takers(session, config)
        self.loads = loads(session) if self.users else {}
        self.counted: dict[int, int | None] = {}  # case id -> the owner whose load counts it

    def note(self, case: Case) -> None:
        """Remember whom a case already in the database counted against when the loads were read."""
        if case.id is not None and case.id not in self.counted:
            self.counted[case.id] = case.owner_id if case.state not in NOT_WORK else None

    def team(self, case: Case) -> dict[int, Agent]:
        """Every agent by user id, with loads that leave this case out."""
        counts = dict(self.loads)
        owner = self.counted.get(case.id)
        if owner is not None:
            counts[owner] = counts.get(owner, 0) - 1
        return {u.id: Agent(u, counts.get(u.id, 0), is_on_shift(self.config, u, self.now)) for u in self.users}

    def update(self, case: Case) -> None:
        """Count a case against its owner now (or nobody), after assign moved it or its state changed."""
        before = self.counted.get(case.id)
        after = case.owner_id if case.state not in NOT_WORK else None
        if before is not None:
            self.loads[before] = self.loads.get(before, 0) - 1
        if after is not None:
            self.loads[after] = self.loads.get(after, 0) + 1
        self.counted[case.id] = after


def choose(
    session: Session, config: Config, case: Case, now: datetime, roster: Roster | None = None
) -> tuple[Agent | None, str]:
    """The agent a case should go to, and why."""
    if roster is not None:
        team = roster.team(case)
    else:
        team = {a.user.id: a for a in agents(session, config, now, exclude_case_id=case.id)}
    customer = session.get(Customer, case.customer_id)
    return pick(team, case.owner_id, customer.owner_id if customer is not None else None)


def pick(team: dict[int, Agent], owner_id: int | None, usual_id: int | None) -> tuple[Agent | None, str]:
    """Keep an owner who is on shift with room, else the customer's agent, else the least-loaded agent with room."""
    current = None if owner_id is None else team.get(owner_id)
    if current is not None and current.on_shift and current.load < current.user.capacity:
        return current, "keeps its owner"
    usual = None if usual_id is None else team.get(usual_id)
    if usual is not None and usual.has_room:
        return usual, "the customer's agent (one interlocutor)"
    free = [a for a in team.values() if a.has_room]
    if not free:
        return None, "no agent on shift with room"
    best = min(free, key=lambda a: (a.load / a.user.capacity, a.load, a.user.id))
    reason = "the least-loaded agent on shift"
    if usual is not None:
        reason += f" ({usual.user.username} is {'over capacity' if usual.on_shift else 'off shift'})"
    return best, reason


def assign(
    session: Session, config: Config, case: Case, now: datetime, actor: str = "system", roster: Roster | None = None
) -> User | None:
    """Give a case that needs work its owner; returns the owner (None leaves it in the unassigned queue)."""
    owner = _assign(session, config, case, now, actor, roster)
    if roster is not None:
        roster.update(case)
    return owner


def _assign(
    session: Session, config: Config, case: Case, now: datetime, actor: str, roster: Roster | None
) -> User | None:
    if not config.assignment.enabled or case.state in NOT_WORK:
        return None
    agent, reason = choose(session, config, case, now, roster)
    if agent is None:
        if case.owner_id is not None and not _owner_can_keep(session, config, case, now):
            _set_owner(session, case, None, f"unassigned: {reason}", actor, now)
        return session.get(User, case.owner_id) if case.owner_id else None
    if agent.user.id != case.owner_id:
        _set_owner(session, case, agent.user, reason, actor, now)
    customer = session.get(Customer, case.customer_id)
    if customer is not None:
        customer.owner_id = agent.user.id
    return agent.user


def _owner_can_keep(session: Session, config: Config, case: Case, now: datetime) -> bool:
    owner = session.get(User, case.owner_id)
    return owner is not None and is_on_shift(config, owner, now)


def _set_owner(session: Session, case: Case, user: User | None, reason: str, actor: str, now: datetime) -> None:
    previous = session.get(User, case.owner_id) if case.owner_id else None
    case.owner_id = user.id if user else None
    note = f"owner {previous.username if previous else 'none'} → {user.username if user else 'none'}: {reason}"
    session.add(CaseEvent(case_id=case.id, at=now, actor=actor, from_state=case.state, to_state=case.state, note=note))
    if user is not None:
        events.case_assigned(session, now, case.id, user.username, actor, reason)
    log.info("case %s: %s", case.id, note)


def rebalance(session: Session, config: Config, now: datetime) -> list[tuple[int, int | None, int | None]]:
    """Move cases away from agents off shift or over capacity and hand out unassigned ones; returns the moves."""
    if not config.assignment.enabled:
        return []
    moves: list[tuple[int, int | None, int | None]] = []
    # Loads are counted once and kept up to date in memory as cases move.
    team = {a.user.id: a for a in agents(session, config, now)}
    working = [a for a in team.values() if a.on_shift]
    order = (Case.priority.desc(), Case.opened_at, Case.id)
    open_case = Case.state.not_in(NOT_WORK)
    # Only the cases that can move are read, however long the backlog: those of owners off shift (or no longer
    # agents), each owner's cases beyond their capacity (they keep the most urgent), and as many unassigned cases
    # as the team has room for (the rest could not be placed anyway).
    owned_elsewhere: ColumnElement[bool] = Case.owner_id.is_not(None)
    if working:
        owned_elsewhere &= Case.owner_id.not_in([a.user.id for a in working])
    to_move = list(session.scalars(select(Case).where(open_case, owned_elsewhere)))
    room = 0
    for member in working:
        if member.load > member.user.capacity:
            to_move += session.scalars(
                select(Case)
                .where(open_case, Case.owner_id == member.user.id)
                .order_by(*order)
                .offset(member.user.capacity)
            )
        room += max(0, member.user.capacity - member.load)
    if room:
        to_move += session.scalars(select(Case).where(open_case, Case.owner_id.is_(None)).order_by(*order).limit(room))
    to_move.sort(key=lambda c: (-(c.priority or 0.0), c.opened_at, c.id))
    if not to_move:
        return []
    usual = dict(
        session.execute(
            select(Customer.id, Customer.owner_id).where(Customer.id.in_({c.customer_id for c in to_move}))
        ).all()
    )
    for case in to_move:
        before = case.owner_id
        if before in team:
            team[before].load -= 1  # let it go before choosing, so its own slot does not count against it
        agent, reason = pick(team, None, usual.get(case.customer_id))
        if agent is None:
            if before is not None:
                _set_owner(session, case, None, f"unassigned: {reason}", "system", now)
                moves.append((case.id, before, None))
            continue
        agent.load += 1
        if agent.user.id != before:
            _set_owner(session, case, agent.user, reason, "system", now)
            moves.append((case.id, before, agent.user.id))
        customer = session.get(Customer, case.customer_id)
        if customer is not None:
            customer.owner_id = agent.user.id
            usual[case.customer_id] = agent.user.id
    session.flush()
    return moves


def run(service) -> int:
    """The daemon's assignment step; returns how many cases moved."""

    with transaction(service.factory) as session:
        moves = rebalance(session, service.config, service.clock.now())
    if moves:
        log.info("assignment moved %d case(s)", len(moves))
    return len(moves)


def set_on_shift(session: Session, username: str, on_shift: bool) -> User:
    """Mark an agent on or off shift by hand (their cases move at the next rebalance)."""

    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise UserError(f"there is no user {username!r}")
    user.on_shift = on_shift
    return user


def set_capacity(session: Session, username: str, capacity: int) -> User:
    """Change how many open cases an agent takes at most."""

    if capacity < 0:
        raise UserError("capacity must be 0 or more")
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise UserError(f"there is no user {username!r}")
    user.capacity = capacity
    return user


def next_shift_start(config: Config, now: datetime, horizon_days: int = 8) -> datetime | None:
    """The next moment (naive UTC) any configured shift starts, for ETAs when nobody is on shift."""
    best = None
    for shift in config.assignment.shifts:
        zone = ZoneInfo(shift.timezone)
        local_now = now.replace(tzinfo=UTC).astimezone(zone)
        for offset in range(horizon_days):
            day = local_now.date() + timedelta(days=offset)
            if WEEKDAYS[day.weekday()] not in shift.days:
                continue
            start = datetime.combine(day, _clock(shift.start), tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
            if start > now:
                best = start if best is None or start < best else best
                break
    return best
