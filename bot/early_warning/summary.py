"""Incidents as people read them: the console banner, `status`, the report and the metrics."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.config import Config
from bot.early_warning import buckets, detection
from bot.early_warning.incidents import LABELS, OPEN
from bot.early_warning.topics import ALL
from bot.storage.models import Incident, IncidentCase

MAX_BARS = 120


def line(incident: Incident) -> str:
    """One line about an incident."""
    what = LABELS.get(incident.metric, incident.metric)
    state = "open" if incident.state == OPEN else f"ended {incident.ended_at:%Y-%m-%d %H:%M}"
    return (
        f"incident #{incident.id} ({incident.severity}, {state}): {what} about {incident.topic_name} "
        f"since {incident.started_at:%Y-%m-%d %H:%M} UTC, peak {incident.peak_value:.0f} where {incident.baseline:.1f} "
        "is usual"
    )


def open_now(session: Session) -> list[dict[str, Any]]:
    """The open incidents, newest first, with how many cases each holds (for the banner and `status`)."""
    cases = func.count(IncidentCase.case_id)
    rows = session.execute(
        select(Incident, cases)
        .outerjoin(IncidentCase, IncidentCase.incident_id == Incident.id)
        .where(Incident.state == OPEN)
        .group_by(Incident.id)
        .order_by(Incident.started_at.desc(), Incident.id.desc())
    ).all()
    return [
        {
            "id": incident.id,
            "severity": incident.severity,
            "metric": incident.metric,
            "what": LABELS.get(incident.metric, incident.metric),
            "topic": incident.topic_name,
            "started_at": incident.started_at,
            "cases": count,
            "line": line(incident),
        }
        for incident, count in rows
    ]


def counts_by_severity(session: Session) -> dict[str, int]:
    """Open incidents per severity (both severities always present)."""
    found = dict(
        session.execute(
            select(Incident.severity, func.count(Incident.id)).where(Incident.state == OPEN).group_by(Incident.severity)
        ).all()
    )
    return {severity: int(found.get(severity, 0)) for severity in ("minor", "major")}


def in_period(session: Session, start: datetime, end: datetime) -> list[Incident]:
    """The incidents that were open at some time in [start, end), oldest first (for the report)."""
    return list(
        session.scalars(
            select(Incident)
            .where(Incident.started_at < end, (Incident.ended_at.is_(None)) | (Incident.ended_at >= start))
            .order_by(Incident.started_at, Incident.id)
        )
    )


def report_section(session: Session, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The incidents of a report's period as plain data."""
    return [
        {
            "id": i.id,
            "severity": i.severity,
            "metric": i.metric,
            "topic": i.topic_name,
            "state": i.state,
            "started_at": i.started_at.isoformat(timespec="minutes"),
            "ended_at": i.ended_at.isoformat(timespec="minutes") if i.ended_at else None,
            "peak": i.peak_value,
            "baseline": round(i.baseline, 1),
            "cases": len(i.cases),
            "line": line(i),
        }
        for i in in_period(session, start, end)
    ]


def render_report(section: list[dict[str, Any]], console) -> None:
    """The report's incidents section, for people."""
    console.print(f"\n[bold]Incidents[/bold] ({len(section)})")
    if not section:
        console.print("  none: no spike in the stream in this period")
    for item in section:
        console.print(f"  {item['line']}; {item['cases']} case(s)", markup=False, highlight=False)


def timeline(
    session: Session, config: Config, incident: Incident, now: datetime
) -> tuple[list[str], dict[str, dict[str, int]]]:
    """Mentions per bucket around an incident, its metric apart from the rest (the incident page's chart)."""
    minutes = config.early_warning.bucket_minutes
    start = buckets.bucket_of(incident.started_at - timedelta(hours=2), minutes)
    end = min(now, (incident.ended_at or now) + timedelta(minutes=30))
    moments: list[datetime] = []
    moment = start
    while moment <= end and len(moments) < MAX_BARS:
        moments.append(moment)
        moment += timedelta(minutes=minutes)
    counts = buckets.merged(
        buckets.read(session, incident.brand, moments, [ALL]),
        {k: v for k, v in buckets.live(session, config).items() if k[2] == ALL},
    )
    column = detection.METRICS.get(incident.metric, "mentions")
    labels = [f"{m:%Y-%m-%d %H:%M}" for m in moments]
    flagged: dict[str, int] = {}
    rest: dict[str, int] = {}
    for moment, label in zip(moments, labels, strict=True):
        c = counts.get((moment, incident.brand, ALL), Counter())
        flagged[label] = int(c.get(column, 0))
        rest[label] = int(c.get("mentions", 0)) - (0 if column in ("spam", "mentions") else flagged[label])
    name = LABELS.get(incident.metric, incident.metric)
    return labels, {name: flagged, "other mentions" if column != "mentions" else "all mentions": rest}
