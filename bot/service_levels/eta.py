"""Estimated response times promised in acknowledgements: from the queue, the team and its pace; kept or not."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from bot.config import Config
from bot.service_levels import assignment, sla
from bot.storage.db import transaction
from bot.storage.models import Case, Draft, EtaPromise, OutboxMessage
from bot.storage.statuses import DraftStatus

# Cases that still take an agent's time: waiting for a first answer or a decision, or an investigation under way.
WAITING_FOR_AN_ANSWER = ("new", "awaiting_approval")
IN_PROGRESS = ("answered_public", "moved_private")
_UNITS = {
    "en": ("minute", "minutes", "hour", "hours", "day", "days"),
    "es": ("minuto", "minutos", "hora", "horas", "día", "días"),
}


@dataclass
class Eta:
    """A promised response time in minutes, its wording and its explanation."""

    minutes: int
    explanation: str

    def text(self, language: str) -> str:
        """The time in words, in the reply's language."""
        minute, minutes, hour, hours, day, days = _UNITS.get(language, _UNITS["en"])
        if self.minutes < 60:
            return f"{self.minutes} {minute if self.minutes == 1 else minutes}"
        if self.minutes <= 48 * 60:
            value = math.ceil(self.minutes / 60)
            return f"{value} {hour if value == 1 else hours}"
        value = math.ceil(self.minutes / 1440)
        return f"{value} {day if value == 1 else days}"


@dataclass(frozen=True)
class Staffing:
    """Who answers and how fast: the agents on shift now and their recent pace (read once per batch of drafts)."""

    on_shift: int
    pace: float
    pace_note: str


def staffing(session: Session, config: Config, now: datetime) -> Staffing:
    """The team's size on shift and its recent pace, now."""

    pace, note = recent_pace(session, config, now)
    return Staffing(assignment.count_on_shift(session, config, now), pace, note)


def queue_ahead(session: Session, case: Case, limit: int | None = None) -> int:
    """Open cases a person will handle before this one: more urgent, or as urgent and older (counting stops at limit)."""
    ahead = or_(
        Case.priority > case.priority,
        and_(Case.priority == case.priority, Case.opened_at < case.opened_at),
        and_(Case.priority == case.priority, Case.opened_at == case.opened_at, Case.id < case.id),
    )
    in_queue = or_(
        Case.state.in_(WAITING_FOR_AN_ANSWER),
        and_(Case.state.in_(IN_PROGRESS), Case.level.in_(("investigate", "private")), Case.resolved_at.is_(None)),
    )
    query = select(Case.id).where(in_queue, ahead)
    if case.id is not None:
        query = query.where(Case.id != case.id)
    if limit is not None:
        query = query.limit(limit)
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def recent_pace(session: Session, config: Config, now: datetime) -> tuple[float, str]:
    """Minutes a person takes per case lately: the median gap between each approver's consecutive decisions."""
    settings = config.eta
    since = now - timedelta(hours=settings.pace_window_hours)
    rows = session.execute(
        select(Draft.decided_by, Draft.decided_at)
        .where(
            Draft.decided_at >= since,
            Draft.decided_at <= now,
            Draft.decided_by.is_not(None),
            Draft.status.in_((DraftStatus.APPROVED, DraftStatus.SENT, DraftStatus.REJECTED)),
            Draft.auto_approved.is_(False),
        )
        .order_by(Draft.decided_by, Draft.decided_at)
    ).all()
    gaps: list[float] = []
    previous: dict[str, datetime] = {}
    for person, at in rows:
        if person is None or at is None:
            continue  # the query asks for decided drafts only: both are set
        if person in previous:
            gap = (at - previous[person]).total_seconds() / 60
            if 0 < gap <= settings.max_minutes_per_case:  # longer gaps are idle time, not work
                gaps.append(gap)
        previous[person] = at
    if len(gaps) < settings.min_samples:
        return settings.default_minutes_per_case, (
            f"default pace {settings.default_minutes_per_case:g} min per case "
            f"({len(gaps)} of {settings.min_samples} recent samples)"
        )
    pace = min(max(statistics.median(gaps), settings.min_minutes_per_case), settings.max_minutes_per_case)
    return pace, f"recent pace {pace:.1f} min per case (median of {len(gaps)} gaps in {settings.pace_window_hours:g} h)"


def estimate(session: Session, config: Config, case: Case, now: datetime, team: Staffing | None = None) -> Eta:
    """The queue ahead shared by the agents on shift at their recent pace, no shorter than the default, within the SLA."""

    team = team or staffing(session, config, now)
    on_shift, pace, pace_note = team.on_shift, team.pace, team.pace_note
    policy, calendar = sla.case_policy(config.sla, case)
    ceiling = policy.resolution_target_hours * 60
    # Past this many cases ahead the promise is the resolution target whatever the count, so counting stops there.
    enough = math.ceil(max(on_shift, 1) * ceiling / pace) + 1
    ahead = queue_ahead(session, case, limit=enough)
    wait = 0.0
    team_note = f"{on_shift} agent(s) on shift"
    if on_shift == 0:
        starts = assignment.next_shift_start(config, now) if config.assignment.shifts else None
        if starts is not None:
            wait = (starts - now).total_seconds() / 60
            team_note = f"nobody on shift until {starts:%a %H:%M} UTC (+{wait:.0f} min)"
        else:
            team_note = "no agent listed on shift, so one person is assumed"
    agents = max(on_shift, 1)
    work = math.ceil((ahead + 1) / agents) * pace
    floor = config.drafts.default_eta_minutes
    business = min(max(wait + work, floor), ceiling)
    wall = (calendar.add(now, business) - now).total_seconds() / 60
    minutes = _round_up(max(1, math.ceil(wall - 1e-9)))
    counted = f"at least {ahead}" if ahead >= enough else f"{ahead}"
    steps = [
        f"{counted} case(s) ahead + this one, shared by {team_note}: ⌈{ahead + 1}/{agents}⌉ × {pace:.1f} min"
        f" = {work:.0f} min ({pace_note})"
    ]
    if wait:
        steps.append(f"+ {wait:.0f} min until the next shift")
    if wait + work < floor:
        steps.append(f"raised to the {floor} min minimum promise")
    if wait + work > ceiling:
        steps.append(f"capped at the {policy.resolution_target_hours} h resolution target ({policy.source})")
    if not calendar.always_open:
        steps.append(f"counted in business hours: {wall:.0f} min on the clock")
    steps.append(f"promised {minutes} min")
    return Eta(minutes=minutes, explanation="; ".join(steps))


def _round_up(minutes: int) -> int:
    """Round a promise up to a time a person would say: 5-minute steps, then whole hours, then whole days."""
    step = 5 if minutes <= 60 else 60 if minutes <= 48 * 60 else 1440
    return -(-minutes // step) * step


def record_promises(session: Session) -> int:
    """A promise for every sent acknowledgement that names an ETA and has none yet; returns how many were added."""
    rows = session.execute(
        select(Draft, OutboxMessage.sent_at)
        .join(OutboxMessage, OutboxMessage.draft_id == Draft.id)
        .outerjoin(EtaPromise, EtaPromise.draft_id == Draft.id)
        .where(
            Draft.kind == "acknowledgement",
            Draft.status == DraftStatus.SENT,
            Draft.eta_minutes.is_not(None),
            OutboxMessage.sent_at.is_not(None),
            EtaPromise.id.is_(None),
        )
    ).all()
    for draft, sent_at in rows:
        if sent_at is None or draft.eta_minutes is None:
            continue  # the query asks for sent drafts that promised a time only: both are set
        session.add(
            EtaPromise(
                draft_id=draft.id,
                case_id=draft.case_id,
                minutes=draft.eta_minutes,
                promised_at=sent_at,
                due_at=sent_at + timedelta(minutes=draft.eta_minutes),
                outcome="open",
            )
        )
    session.flush()
    return len(rows)


def measure(session: Session, now: datetime) -> dict[str, int]:
    """Settle open promises: kept when the brand wrote again or resolved the case by the time promised."""
    settled = {"kept": 0, "broken": 0}
    for promise in session.scalars(select(EtaPromise).where(EtaPromise.outcome == "open")):
        case = session.get(Case, promise.case_id)
        next_message = session.scalar(
            select(func.min(OutboxMessage.sent_at))
            .join(Draft, OutboxMessage.draft_id == Draft.id)
            .where(
                Draft.case_id == promise.case_id,
                Draft.id != promise.draft_id,
                OutboxMessage.sent_at > promise.promised_at,
            )
        )
        moments = [m for m in (next_message, case.resolved_at if case else None) if m and m >= promise.promised_at]
        first = min(moments) if moments else None
        if first is not None and first <= promise.due_at:
            promise.outcome, promise.kept_at = "kept", first
        elif now > promise.due_at:
            promise.outcome, promise.kept_at = "broken", first
        else:
            continue
        promise.measured_at = now
        settled[promise.outcome] += 1
    return settled


def run(service) -> dict[str, int]:
    """The daemon's step: record new promises and settle the ones that are due."""

    with transaction(service.factory) as session:
        record_promises(session)
        return measure(session, service.clock.now())


def promise_stats(session: Session, since: datetime, until: datetime) -> dict[str, Any]:
    """Promises made in a period and how many were kept."""
    counts = dict(
        session.execute(
            select(EtaPromise.outcome, func.count(EtaPromise.id))
            .where(EtaPromise.promised_at >= since, EtaPromise.promised_at < until)
            .group_by(EtaPromise.outcome)
        ).all()
    )
    kept, broken, open_ = counts.get("kept", 0), counts.get("broken", 0), counts.get("open", 0)
    settled = kept + broken
    return {
        "made": kept + broken + open_,
        "kept": kept,
        "broken": broken,
        "open": open_,
        "kept_share": round(kept / settled, 3) if settled else None,
    }
