"""Incidents: a spike opens one, later spikes of the same topic join it, and it ends once the stream is normal again.

Several metrics rise together in one event (an outage is also a rise of negative mentions and of volume, under
several keywords): the spikes of one run make one incident, named after its most specific metric and its keyword
topics, or join an open incident that shares a keyword with them. Spam is kept apart: a spam wave opens its own
incident, labelled spam, and never one of complaints. An incident ends after every metric it was opened or grown
for has stayed below the ending threshold (lower than the starting one: hysteresis) for `quiet_minutes`, so a
burst that pauses for a few minutes does not end and reopen as two incidents.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.casework.drafting import TemplateRenderer
from bot.config import Config
from bot.early_warning import buckets, detection, responses
from bot.early_warning.detection import SPECIFICITY, Reading
from bot.early_warning.topics import ALL, brand_words, keywords, top_words
from bot.notifications.events import notify
from bot.storage.models import Incident, IncidentCase, Mention, TriageResult

log = logging.getLogger(__name__)
OPEN, ENDED = "open", "ended"
SPAM = "spam"
MAX_KEYWORDS = 5
KEYWORD_SHARE = 0.5
# Mentions of the window read to name a new incident and pick its examples, at most.
WINDOW_SAMPLE = 5000
# An incident of these metrics takes every mention flagged so (the flag is specific); one of volume or negative
# mentions only those that also share one of its keywords.
FLAG_ENOUGH = ("outage", "churn_risk", SPAM)
LABELS = {
    "volume": "more mentions than usual",
    "negative": "more negative mentions than usual",
    "outage": "outage reports",
    "churn_risk": "customers saying they are leaving",
    SPAM: "a spam wave",
}


@dataclass
class Outcome:
    """What one detection run did."""

    rolled_up: int = 0
    opened: list[int] = field(default_factory=list)
    ended: list[int] = field(default_factory=list)
    linked: int = 0
    readings: int = 0


def kind_of(metric: str) -> str:
    """spam for the spam metric, stream for everything a customer may need an answer to."""
    return SPAM if metric == SPAM else "stream"


def _primary(group: list[Reading]) -> Reading:
    return min(
        group,
        key=lambda r: (SPECIFICITY.index(r.metric) if r.metric in SPECIFICITY else 0, r.topic == ALL, -r.observed),
    )


def _keywords(group: list[Reading], metric: str) -> list[str]:
    found = [r for r in group if r.topic != ALL and r.metric == metric] or [r for r in group if r.topic != ALL]
    if not found:
        return []
    # A word in at least half of the spike's mentions names it; a word that only came along with a few does not.
    enough = KEYWORD_SHARE * max(r.observed for r in group if r.metric == found[0].metric)
    words: list[str] = []
    for reading in sorted(found, key=lambda r: (-r.observed, r.topic)):
        if reading.observed >= enough and reading.topic not in words:
            words.append(reading.topic)
    return words[:MAX_KEYWORDS]


def _severity(config: Config, readings: list[Reading]) -> str:
    return "major" if max(r.score for r in readings) >= config.early_warning.major_z else "minor"


def matches(metric: str, words: list[str], marks: dict[str, int], mention_words: list[str]) -> bool:
    """True when a mention belongs to an incident of this metric and these keywords."""
    column = detection.METRICS[metric]
    if not marks.get(column):
        return False
    if metric in FLAG_ENOUGH or not words:
        return True
    return bool(set(words) & set(mention_words))


def _window_mentions(session: Session, since: datetime) -> list[tuple[Mention, buckets.Triaged]]:
    rows = session.execute(
        select(Mention, TriageResult)
        .join(TriageResult, TriageResult.mention_id == Mention.id)
        .where(Mention.created_at >= since)
        .order_by(Mention.created_at, Mention.id)
        .limit(WINDOW_SAMPLE)
    ).all()
    return [(m, _triaged(m, t)) for m, t in rows]


def _triaged(mention: Mention, triage: TriageResult) -> buckets.Triaged:
    return buckets.Triaged(
        triage.id,
        triage.created_at,
        mention.created_at,
        mention.text,
        triage.category,
        triage.sentiment,
        triage.labels,
        triage.reasons,
    )


def _example(mention: Mention) -> dict[str, Any]:
    return {
        "mention_id": mention.id,
        "case_id": mention.case_id,
        "platform": mention.platform,
        "created_at": mention.created_at.isoformat(),
        "text": mention.text[:280],
    }


def _describe(incident: Incident) -> tuple[str, str]:
    what = LABELS.get(incident.metric, incident.metric)
    subject = f"Incident #{incident.id} ({incident.severity}): {what} about {incident.topic_name}"
    body = (
        f"{incident.brand}: {what} about {incident.topic_name} since {incident.started_at:%Y-%m-%d %H:%M} UTC: "
        f"{incident.peak_value:.0f} in the last window where about {incident.baseline:.0f} is usual."
    )
    return subject, body


def _open(session: Session, config: Config, group: list[Reading], window_start: datetime, now: datetime) -> Incident:
    primary = _primary(group)
    words = _keywords(group, primary.metric)
    ignore = brand_words(config.brand.name, config.brand.handles)
    window = _window_mentions(session, window_start)
    matching = [
        m for m, item in window if matches(primary.metric, words, buckets.flags(item), keywords(item.text, ignore))
    ]
    named = words[:3] or top_words((m.text for m in matching), ignore)
    incident = Incident(
        brand=config.brand.name,
        topic_key=(named[0] if named else ALL),
        topic_name=", ".join(named) or "all mentions",
        metric=primary.metric,
        severity=_severity(config, group),
        state=OPEN,
        started_at=matching[0].created_at if matching else window_start,
        detected_at=now,
        peak_at=now,
        peak_value=float(primary.observed),
        baseline=primary.median,
        last_above_at=now,
        ended_at=None,
        examples=[_example(m) for m in matching[-config.early_warning.examples :]],
        detail={
            "kind": kind_of(primary.metric),
            "keywords": words,
            "series": sorted({(r.topic, r.metric) for r in group}),
            "readings": [r.as_dict() for r in sorted(group, key=lambda r: -r.score)[:10]],
            # its cases are looked for among triage results past this id (those of the window's mentions on)
            "triage_id": min((item.triage_id for _m, item in window), default=1) - 1,
        },
    )
    session.add(incident)
    session.flush()
    subject, body = _describe(incident)
    notify(
        session,
        now,
        "incident_opened",
        key=f"incident-opened:{incident.id}",
        subject=subject,
        body=body,
        incident_id=incident.id,
        severity=incident.severity,
        metric=incident.metric,
        topic=incident.topic_name,
    )
    log.warning("%s", subject)
    return incident


def _grow(config: Config, incident: Incident, group: list[Reading], now: datetime) -> bool:
    """A later spike joins an open incident: its peak, keywords and severity; True when it became more severe."""
    detail = dict(incident.detail)
    mine = [r for r in group if r.metric == incident.metric] or group
    top = max(mine, key=lambda r: r.observed)
    if top.observed > incident.peak_value:
        incident.peak_value, incident.peak_at = float(top.observed), now
    words = list(detail.get("keywords") or [])
    for word in _keywords(group, incident.metric):
        if word not in words and len(words) < MAX_KEYWORDS:
            words.append(word)
    if words and not detail.get("keywords"):
        incident.topic_key, incident.topic_name = words[0], ", ".join(words[:3])
    detail["keywords"] = words
    detail["series"] = sorted({tuple(s) for s in detail.get("series", [])} | {(r.topic, r.metric) for r in group})
    incident.detail = detail
    escalated = incident.severity == "minor" and _severity(config, group) == "major"
    if escalated:
        incident.severity = "major"
    return escalated


def _joins(incidents: list[Incident], kind: str, group: list[Reading]) -> Incident | None:
    same = [i for i in incidents if i.detail.get("kind") == kind]
    words = {r.topic for r in group if r.topic != ALL}
    for incident in same:
        if words & set(incident.detail.get("keywords") or []):
            return incident
    for incident in reversed(same):
        if not words or not incident.detail.get("keywords"):
            return incident
    return None


def _end(session: Session, incident: Incident, now: datetime) -> None:
    incident.state, incident.ended_at = ENDED, now
    subject, body = _describe(incident)
    subject = subject.replace(f"Incident #{incident.id}", f"Incident #{incident.id} ended", 1)
    body += f" Back to normal since {incident.last_above_at:%H:%M} UTC; ended {now:%Y-%m-%d %H:%M} UTC."
    notify(
        session,
        now,
        "incident_ended",
        key=f"incident-ended:{incident.id}",
        subject=subject,
        body=body,
        incident_id=incident.id,
    )
    log.warning("%s", subject)


def link_cases(session: Session, config: Config, renderer: TemplateRenderer, incident: Incident, now: datetime) -> int:
    """Put the cases of the incident's new mentions in it and respond as its severity says; returns how many."""
    if incident.detail.get("kind") == SPAM:
        return 0  # spam needs no answer: its mentions are monitored, not grouped for approval
    detail = dict(incident.detail)
    after = int(detail.get("triage_id") or 0)
    rows = session.execute(
        select(Mention, TriageResult)
        .join(TriageResult, TriageResult.mention_id == Mention.id)
        .where(TriageResult.id > after, Mention.created_at >= incident.started_at, Mention.case_id.is_not(None))
        .order_by(TriageResult.id)
    ).all()
    # The mark moves past settled results only: a transaction still open in another daemon may commit a lower id.
    settled = now - timedelta(minutes=config.early_warning.settle_minutes)
    young = [t.id for _m, t in rows if t.created_at >= settled]
    done = [t.id for _m, t in rows if t.created_at < settled and (not young or t.id < min(young))]
    detail["triage_id"] = max(done, default=after)
    ignore = brand_words(config.brand.name, config.brand.handles)
    words = list(detail.get("keywords") or [])
    linked = {link.case_id for link in incident.cases}
    added = 0
    for mention, triage in rows:
        if mention.case_id is None or mention.case_id in linked:
            continue
        item = _triaged(mention, triage)
        if not matches(incident.metric, words, buckets.flags(item), keywords(item.text, ignore)):
            continue
        link = IncidentCase(
            incident=incident, case_id=mention.case_id, linked_at=now, acknowledged=False, priority_raised=0.0
        )
        session.add(link)
        session.flush()
        linked.add(mention.case_id)
        responses.respond(session, config, renderer, incident, link, now)
        added += 1
    incident.detail = detail
    return added


def open_incidents(session: Session, brand: str | None = None) -> list[Incident]:
    """The incidents open now, oldest first."""
    query = select(Incident).where(Incident.state == OPEN).order_by(Incident.started_at, Incident.id)
    if brand is not None:
        query = query.where(Incident.brand == brand)
    return list(session.scalars(query.options(selectinload(Incident.cases).selectinload(IncidentCase.case))))


def detect(session: Session, config: Config, renderer: TemplateRenderer, now: datetime) -> Outcome:
    """One detection run: roll up, read the window, open, grow and end incidents, and take in their cases."""
    settings = config.early_warning
    outcome = Outcome(rolled_up=buckets.fill(session, config, now))
    current = open_incidents(session, config.brand.name)
    tracked = {topic for incident in current for topic, _metric in incident.detail.get("series", [])}
    readings = detection.read_stream(session, config, now, tracked)
    outcome.readings = len(readings)
    window_start = detection.window(now, settings)[0]
    spikes = [r for r in readings if r.spike]
    for kind in ("stream", SPAM):
        group = [r for r in spikes if kind_of(r.metric) == kind]
        if not group:
            continue
        incident = _joins(current, kind, group)
        if incident is None:
            incident = _open(session, config, group, window_start, now)
            current.append(incident)
            outcome.opened.append(incident.id)
        elif _grow(config, incident, group, now):
            for link in incident.cases:
                responses.respond(session, config, renderer, incident, link, now)
    by_series = {(r.topic, r.metric): r for r in readings}
    quiet = timedelta(minutes=settings.quiet_minutes)
    for incident in current:
        series = [by_series.get((topic, metric)) for topic, metric in incident.detail.get("series", [])]
        if any(r is not None and r.above_normal for r in series):
            incident.last_above_at = now
        elif now - incident.last_above_at >= quiet:
            _end(session, incident, now)
            outcome.ended.append(incident.id)
            continue
        outcome.linked += link_cases(session, config, renderer, incident, now)
    return outcome
