"""SLA clocks: policies per level and platform, business hours, pauses, warnings and breaches raised once."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import func, inspect, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.config import WEEKDAYS, BusinessHoursConfig, Config, SlaConfig
from bot.notifications import events
from bot.storage.db import transaction
from bot.storage.models import Case, SlaAlert, User
from bot.storage.statuses import CLOCK_STOPPED_STATES, FINISHED_STATES, IDLE_STATES, AlertDelivery

log = logging.getLogger(__name__)

FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"
WARNING = "warning"
BREACH = "breach"
MAXIMUM = "maximum"
# Clocks do not run for these states: finished cases, threads only monitored, and cases waiting on the customer.
STOPPED_STATES = CLOCK_STOPPED_STATES
_MAX_DAYS_SCANNED = 3700


@dataclass(frozen=True)
class Policy:
    """The targets that apply to one case."""

    first_response_target_minutes: int
    first_response_max_hours: int
    resolution_target_hours: int
    business_hours: bool
    source: str

    def target_minutes(self, clock: str) -> float:
        """The target of a clock, in (business) minutes."""
        return self.first_response_target_minutes if clock == FIRST_RESPONSE else self.resolution_target_hours * 60


def policy_for(sla: SlaConfig, level: str | None, platform: str | None) -> Policy:
    """The defaults overlaid with the most specific matching policy: level and platform, then platform, then level."""
    level = level or "monitor"
    matches = [p for p in sla.policies if p.level in (None, level) and p.platform in (None, platform)]
    matches.sort(key=lambda p: (p.level is not None and p.platform is not None, p.platform is not None))
    first = sla.first_response_target_minutes
    maximum = sla.first_response_max_hours
    targets: dict[str, int] = dict(sla.resolution_target_hours.items())  # looked up by a case's level, a str
    resolution = targets.get(level, targets.get("investigate", 24))
    business = sla.business_hours.enabled
    source = "defaults"
    for policy in matches:  # least specific first, so the most specific one has the last word
        first = policy.first_response_target_minutes or first
        maximum = policy.first_response_max_hours or maximum
        resolution = policy.resolution_target_hours or resolution
        business = business if policy.business_hours is None else policy.business_hours
        source = f"policy {policy.level or '*'}/{policy.platform or '*'}"
    return Policy(first, maximum, resolution, business, source)


class Calendar:
    """Adds and measures SLA time: every minute, or only business minutes in a time zone."""

    def __init__(self, hours: BusinessHoursConfig | None = None):
        self.hours = hours if hours is not None and hours.enabled else None
        if self.hours is not None:
            self.zone = ZoneInfo(self.hours.timezone)
            self.days = {WEEKDAYS.index(d) for d in self.hours.days}
            self.holidays = set(self.hours.holidays)
            # The country's public holidays (and its region's), for whichever year a clock runs into.
            self.public = (
                holidays.country_holidays(self.hours.country, subdiv=self.hours.subdivision)
                if self.hours.country
                else None
            )
            self.opens = _parse_hhmm(self.hours.start)
            self.closes = _parse_hhmm(self.hours.end)
            self._cache: dict[date, tuple[datetime, datetime] | None] = {}

    @property
    def always_open(self) -> bool:
        """True when every minute counts."""
        return self.hours is None

    def _windows(self, start: datetime) -> Iterable[tuple[datetime, datetime]]:
        """Opening windows as naive UTC intervals, from the local day that contains start onwards."""
        local_day = start.replace(tzinfo=UTC).astimezone(self.zone).date() - timedelta(days=1)
        for offset in range(_MAX_DAYS_SCANNED):
            window = self._window(local_day + timedelta(days=offset))
            if window is not None:
                yield window
        raise ValueError("business hours never open: check sla.business_hours.days and holidays")

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        # Converting local opening times to UTC is the costly part; a day's window never changes.
        if day not in self._cache:
            open_day = (
                day.weekday() in self.days
                and day not in self.holidays
                and not (self.public is not None and day in self.public)
            )
            self._cache[day] = (self._utc(day, self.opens), self._utc(day, self.closes)) if open_day else None
        return self._cache[day]

    def _utc(self, day: date, moment: tuple[int, int]) -> datetime:
        hour, minute = moment
        if hour == 24:  # "24:00" closes at the next midnight
            day, hour = day + timedelta(days=1), 0
        local = datetime.combine(day, time(hour, minute), tzinfo=self.zone)
        return local.astimezone(UTC).replace(tzinfo=None)

    def add(self, start: datetime, minutes: float) -> datetime:
        """The moment when this many SLA minutes have run from start."""
        if self.always_open:
            return start + timedelta(minutes=minutes)
        left = timedelta(minutes=minutes)
        for opens, closes in self._windows(start):
            if closes <= start:
                continue
            begin = max(opens, start)
            if begin + left <= closes:
                return begin + left
            left -= closes - begin
        raise AssertionError("unreachable")  # pragma: no cover

    def minutes_between(self, start: datetime, end: datetime) -> float:
        """SLA minutes that run from start to end (negative when end is before start)."""
        if end < start:
            return -self.minutes_between(end, start)
        if self.always_open:
            return (end - start).total_seconds() / 60
        total = timedelta()
        for opens, closes in self._windows(start):
            if opens >= end:
                break
            begin, finish = max(opens, start), min(closes, end)
            if finish > begin:
                total += finish - begin
        return total.total_seconds() / 60

    def next_open(self, moment: datetime) -> datetime:
        """The moment itself when open, else the next opening."""
        return self.add(moment, 0) if not self.always_open else moment


def _parse_hhmm(value: str) -> tuple[int, int]:
    hour, minute = value.split(":")
    return int(hour), int(minute)


@lru_cache(maxsize=32)
def _calendar(hours_json: str) -> Calendar:
    return Calendar(BusinessHoursConfig.model_validate_json(hours_json))


def calendar_for(sla: SlaConfig, policy: Policy) -> Calendar:
    """The calendar a policy's clocks run on."""
    if not policy.business_hours:
        return Calendar(None)
    hours = sla.business_hours.model_copy(update={"enabled": True})
    return _calendar(hours.model_dump_json())


def case_policy(sla: SlaConfig, case: Case) -> tuple[Policy, Calendar]:
    """The policy and calendar of a case."""
    policy = policy_for(sla, case.level, case.platform)
    return policy, calendar_for(sla, policy)


def start_clocks(case: Case, since: datetime, level: str, sla: SlaConfig) -> None:
    """Set a case's first-response and resolution due times from the moment the customer wrote."""
    policy = policy_for(sla, level, case.platform)
    calendar = calendar_for(sla, policy)
    case.first_response_due_at = calendar.add(since, policy.first_response_target_minutes)
    case.first_response_breach_at = calendar.add(since, policy.first_response_max_hours * 60)
    case.resolution_due_at = calendar.add(since, policy.resolution_target_hours * 60)


def restart_resolution(case: Case, since: datetime, level: str, sla: SlaConfig) -> None:
    """A case escalated to a higher level gets that level's resolution target, counted from since."""
    policy = policy_for(sla, level, case.platform)
    case.resolution_due_at = calendar_for(sla, policy).add(since, policy.resolution_target_hours * 60)


def shift_for_pause(case: Case, paused_from: datetime, now: datetime, sla: SlaConfig) -> None:
    """Move the running due times on by the SLA time that passed while the case waited on the customer."""
    _policy, calendar = case_policy(sla, case)
    fields = ["resolution_due_at"]
    if case.first_response_at is None:
        fields += ["first_response_due_at", "first_response_breach_at"]
    for field in fields:
        due = getattr(case, field)
        if due is None or due <= paused_from:
            continue  # already overdue when the wait began: the breach stands
        remaining = calendar.minutes_between(paused_from, due)
        setattr(case, field, calendar.add(now, remaining))


def due_alerts(case: Case, sla: SlaConfig, now: datetime) -> list[tuple[str, str, datetime]]:
    """(clock, kind, due) of every warning or breach a running case has reached by now."""
    if case.state in STOPPED_STATES:
        return []
    policy, calendar = case_policy(sla, case)
    found: list[tuple[str, str, datetime]] = []
    clocks = []
    if case.first_response_at is None and case.first_response_due_at is not None:
        clocks.append((FIRST_RESPONSE, case.first_response_due_at))
    if case.resolved_at is None and case.resolution_due_at is not None:
        clocks.append((RESOLUTION, case.resolution_due_at))
    for clock, due in clocks:
        if now >= due:
            found.append((clock, BREACH, due))
        elif calendar.minutes_between(now, due) <= (1 - sla.warning_share) * policy.target_minutes(clock) + 1e-9:
            found.append((clock, WARNING, due))
    if (
        case.first_response_at is None
        and case.first_response_breach_at is not None
        and now >= case.first_response_breach_at
    ):
        found.append((FIRST_RESPONSE, MAXIMUM, case.first_response_breach_at))
    return found


def _describe(
    case: Case, clock: str, kind: str, due: datetime, policy: Policy, owner: str | None, now: datetime
) -> str:
    what = "first response" if clock == FIRST_RESPONSE else "resolution"
    target = (
        f"{policy.first_response_target_minutes} min"
        if clock == FIRST_RESPONSE
        else f"{policy.resolution_target_hours} h"
    )
    if kind == MAXIMUM:
        target = f"{policy.first_response_max_hours} h maximum"
    who = f"owner {owner}" if owner else "no owner"
    if kind == WARNING:
        head = f"SLA warning: case #{case.id} {what} due at {due:%Y-%m-%d %H:%M} UTC ({target} target)"
    else:
        head = f"SLA breach: case #{case.id} missed its {what} {target} (due {due:%Y-%m-%d %H:%M} UTC)"
    return f"{head}; {case.level}, {case.platform}, state {case.state}, {who}"


CHECK_CHUNK = 1000  # cases examined per query, so a huge backlog is walked in steps rather than loaded at once
LEVELS = ("self_service", "investigate", "private", "monitor")


def warning_horizons(sla: SlaConfig, platforms: Iterable[str | None], now: datetime) -> dict[tuple[str, str], datetime]:
    """Per (clock, level), the latest due time a policy could warn about now: cases due later have nothing to raise.

    The key (clock, "") holds the latest over every level, for cases whose level no policy knows."""
    levels = set(LEVELS) | set(sla.resolution_target_hours) | {p.level for p in sla.policies if p.level}
    # A platform no policy names is matched like any other unnamed one; "" stands for all of them.
    names = set(platforms) | {p.platform for p in sla.policies if p.platform} | {""}
    latest: dict[tuple[str, str], datetime] = {}
    for level in levels:
        for platform in names:
            policy = policy_for(sla, level, platform)
            calendar = calendar_for(sla, policy)
            for clock in (FIRST_RESPONSE, RESOLUTION):
                moment = calendar.add(now, (1 - sla.warning_share) * policy.target_minutes(clock))
                for key in ((clock, level), (clock, "")):
                    latest[key] = max(latest.get(key, now), moment)
    return {key: moment + timedelta(seconds=1) for key, moment in latest.items()}


def _near(column, clock: str, horizons: dict[tuple[str, str], datetime]):
    """The clock's due time is within its level's warning horizon."""
    levels = [level for c, level in horizons if c == clock and level]
    return or_(
        *[(Case.level == level) & (column <= horizons[(clock, level)]) for level in levels],
        (Case.level.is_(None) | Case.level.not_in(levels)) & (column <= horizons[(clock, "")]),
    )


def _raised(clock: str, kind: str):
    return (
        select(SlaAlert.id)
        .where(
            SlaAlert.case_id == Case.id,
            SlaAlert.clock == clock,
            SlaAlert.kind == kind,
            SlaAlert.cycle == func.coalesce(Case.reopen_count, 0),
        )
        .exists()
    )


def _may_fire(horizons: dict[tuple[str, str], datetime], now: datetime):
    """Running cases that may have an alert to raise: a clock near or past due whose breach is not raised yet."""
    first_response = Case.first_response_at.is_(None) & or_(
        _near(Case.first_response_due_at, FIRST_RESPONSE, horizons) & ~_raised(FIRST_RESPONSE, BREACH),
        (Case.first_response_breach_at <= now) & ~_raised(FIRST_RESPONSE, MAXIMUM),
    )
    resolution = (
        Case.resolved_at.is_(None) & _near(Case.resolution_due_at, RESOLUTION, horizons) & ~_raised(RESOLUTION, BREACH)
    )
    return Case.state.not_in(STOPPED_STATES) & or_(first_response, resolution)


def check(session: Session, config: Config, now: datetime, log_each: bool = True) -> list[SlaAlert]:
    """Raise every warning and breach that is due and not raised yet in this clock cycle; returns the new ones.

    Each new alert is logged (a breach at ERROR) unless log_each is False: the demo raises the alerts of its
    bundled, hours-old mentions at once and prints one summary line instead of dozens."""
    sla = config.sla
    platforms = {a.platform for a in config.accounts}
    horizons = warning_horizons(sla, platforms, now)
    owners: dict[int | None, str] = {u.id: u.username for u in session.scalars(select(User))}  # None: no owner
    new: list[SlaAlert] = []
    due = sorted(session.scalars(select(Case.id).where(_may_fire(horizons, now))))
    for start in range(0, len(due), CHECK_CHUNK):
        held = set(session.identity_map.keys())  # the caller's objects stay; this walk's own are let go after each step
        running = list(
            session.scalars(select(Case).where(Case.id.in_(due[start : start + CHECK_CHUNK])).order_by(Case.id))
        )
        raised = {
            (a.case_id, a.clock, a.kind, a.cycle)
            for a in session.scalars(select(SlaAlert).where(SlaAlert.case_id.in_([c.id for c in running])))
        }
        for case in running:
            policy, _calendar = case_policy(sla, case)
            for clock, kind, due_at in due_alerts(case, sla, now):
                cycle = case.reopen_count or 0
                if (case.id, clock, kind, cycle) in raised:
                    continue
                if kind == WARNING and (case.id, clock, BREACH, cycle) in raised:
                    continue
                alert = SlaAlert(
                    case_id=case.id,
                    clock=clock,
                    kind=kind,
                    cycle=cycle,
                    due_at=due_at,
                    fired_at=now,
                    message=_describe(case, clock, kind, due_at, policy, owners.get(case.owner_id), now),
                    # Posting goes through the notifications now (sla.webhook_url is their sla-webhook channel).
                    webhook_status=AlertDelivery.NONE,
                    webhook_attempts=0,
                )
                session.add(alert)
                session.flush()  # another daemon's same alert fails here, before its notification is raised
                _notify(session, alert, owners.get(case.owner_id), now)
                raised.add((case.id, clock, kind, cycle))
                new.append(alert)
        session.flush()
        for case in running:  # a walk through a large backlog keeps only the current step in memory
            if inspect(case).key not in held:
                session.expunge(case)
    for alert in new if log_each else ():
        log.log(logging.WARNING if alert.kind == WARNING else logging.ERROR, "%s", alert.message)
    return new


def _notify(session: Session, alert: SlaAlert, owner: str | None, now: datetime) -> None:
    """Raise the alert's notification (sla_warning, or sla_breach for a breach and the 24-hour maximum)."""
    event = events.SLA_WARNING if alert.kind == WARNING else events.SLA_BREACH
    events.notify(
        session,
        now,
        event,
        f"sla:{alert.case_id}:{alert.clock}:{alert.kind}:{alert.cycle}",
        alert.message.split(";", 1)[0],
        alert.message,
        recipient=owner,
        case_id=alert.case_id,
        clock=alert.clock,
        kind=alert.kind,
        due_at=alert.due_at.isoformat(),
    )


def run(service) -> list[int]:
    """The daemon's SLA step: raise due alerts (and their notifications); returns the new alerts' ids."""
    now = service.clock.now()
    try:
        with transaction(service.factory) as session:
            ids = [a.id for a in check(session, service.config, now)]
    except IntegrityError:
        # Another daemon raised the same alert a moment earlier; its row stands and ours is dropped.
        log.info("SLA alerts were raised by another worker; skipping this round")
        ids = []
    return ids


def open_alerts(session: Session, now: datetime | None = None) -> list[dict[str, Any]]:
    """Alerts whose clock is still running (the case is neither answered nor resolved for that clock), newest first."""
    rows = session.execute(
        select(SlaAlert, Case)
        .join(Case, SlaAlert.case_id == Case.id)
        .where(Case.state.not_in(FINISHED_STATES), SlaAlert.cycle == Case.reopen_count)
        .order_by(SlaAlert.fired_at.desc(), SlaAlert.id.desc())
    ).all()
    result = []
    for alert, case in rows:
        if alert.clock == FIRST_RESPONSE and case.first_response_at is not None:
            continue
        if alert.clock == RESOLUTION and case.resolved_at is not None:
            continue
        result.append(
            {
                "id": alert.id,
                "case_id": case.id,
                "clock": alert.clock,
                "kind": alert.kind,
                "due_at": alert.due_at,
                "fired_at": alert.fired_at,
                "message": alert.message,
                "state": case.state,
                "level": case.level,
                "platform": case.platform,
                "owner_id": case.owner_id,
            }
        )
    return result


def countdowns(session: Session, config: Config, now: datetime, limit: int = 100) -> list[dict[str, Any]]:
    """Every running clock with its due time and the SLA minutes left (negative when overdue), soonest first."""
    rows = []
    for case in session.scalars(select(Case).where(Case.state.not_in(IDLE_STATES))):
        _policy, calendar = case_policy(config.sla, case)
        clocks = []
        if case.first_response_at is None and case.first_response_due_at is not None:
            clocks.append((FIRST_RESPONSE, case.first_response_due_at))
        if case.resolved_at is None and case.resolution_due_at is not None:
            clocks.append((RESOLUTION, case.resolution_due_at))
        for clock, due in clocks:
            paused = case.state == "waiting_on_customer"
            rows.append(
                {
                    "case_id": case.id,
                    "clock": clock,
                    "due_at": due,
                    "paused": paused,
                    "minutes_left": round(calendar.minutes_between(now, due), 1),
                    "state": case.state,
                    "level": case.level,
                    "platform": case.platform,
                    "owner_id": case.owner_id,
                    "priority": case.priority,
                }
            )
    rows.sort(key=lambda r: (r["paused"], r["minutes_left"]))
    return rows[:limit]


def status_summary(session: Session, config: Config, now: datetime) -> dict[str, Any]:
    """SLA figures and alert lines for `python -m bot status`."""
    alerts = open_alerts(session, now)
    breaches = [a for a in alerts if a["kind"] != WARNING]
    warnings = [a for a in alerts if a["kind"] == WARNING]
    clocks = countdowns(session, config, now, limit=10000)
    lines = [a["message"] for a in breaches[:20]] + [a["message"] for a in warnings[:10]]
    hidden = len(breaches) + len(warnings) - len(lines)
    if hidden > 0:
        lines.append(f"… and {hidden} more SLA alert(s)")
    return {
        "breaches": len(breaches),
        "warnings": len(warnings),
        "running_clocks": sum(1 for c in clocks if not c["paused"]),
        "paused_clocks": sum(1 for c in clocks if c["paused"]),
        "next_due": next(
            (
                f"case #{c['case_id']} {c['clock']} at {c['due_at']:%Y-%m-%d %H:%M}"
                for c in clocks
                if not c["paused"] and c["minutes_left"] >= 0
            ),
            None,
        ),
        "lines": lines,
    }
