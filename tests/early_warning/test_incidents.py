"""Incidents from a generated stream, with an injected clock: quiet weeks stay quiet, bursts open and end one."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.early_warning import buckets, job
from bot.storage.models import Incident, Notification
from tests.early_warning.stream import Writer, outage_burst, spam_wave, steady
from tests.harness import Desk

START = datetime(2026, 3, 2, 0, 0)  # a Monday


class Stream:
    """A desk whose mentions come from a generated stream, written step by step as the clock moves."""

    def __init__(self, desk: Desk, lines):
        self.desk = desk
        self.pending = sorted(lines, key=lambda line: line.at)
        with desk.session() as session:
            self.writer = Writer(session)

    def history(self, until: datetime) -> None:
        """Write everything before `until` at once and roll it up (weeks of past stream)."""
        self._write(until)
        with self.desk.session() as session:
            buckets.fill(session, self.desk.config, until + timedelta(hours=1))

    def _write(self, until: datetime) -> None:
        due = [line for line in self.pending if line.at < until]
        self.pending = self.pending[len(due) :]
        with self.desk.session() as session:
            self.writer.write(session, due)

    def run_until(self, end: datetime, step: timedelta) -> list[job.Outcome]:
        """Move the clock step by step to `end`, writing what was said meanwhile and running detection each time."""
        outcomes = []
        while self.desk.clock.now() < end:
            self.desk.clock.advance(seconds=step.total_seconds())
            self._write(self.desk.clock.now())
            outcomes.append(job.run(self.desk.service))
        return outcomes

    def incidents(self) -> list[Incident]:
        with self.desk.session() as session:
            return list(session.scalars(select(Incident).order_by(Incident.id)))


@pytest.fixture
def stream_desk(tmp_path, database_url):
    desk = Desk(tmp_path, database_url, clock=FrozenClock(START))
    yield desk
    desk.service.engine.dispose()


def test_a_steady_stream_with_daily_seasonality_raises_no_incident_over_a_week(stream_desk):
    weeks = 4
    week_start = START + timedelta(weeks=weeks - 1)
    stream = Stream(stream_desk, steady(START, START + timedelta(weeks=weeks), base=1.5))
    stream.history(week_start)
    stream_desk.clock.set(week_start)
    outcomes = stream.run_until(week_start + timedelta(weeks=1), timedelta(minutes=15))
    assert len(outcomes) == 7 * 24 * 4
    assert sum(o.rolled_up for o in outcomes) > 7 * 24 * 60  # the week's mentions went through the rollup
    assert stream.incidents() == []


def test_a_burst_of_outage_complaints_opens_one_incident_within_five_minutes_and_ends_when_normal(stream_desk):
    burst_at = START + timedelta(days=14, hours=15, minutes=2)
    burst = outage_burst(burst_at, count=40, minutes=15)
    stream = Stream(stream_desk, steady(START, burst_at + timedelta(hours=3), base=1.5) + burst)
    stream.history(burst_at - timedelta(minutes=30))
    stream_desk.clock.set(burst_at - timedelta(minutes=30))
    stream.run_until(burst_at + timedelta(minutes=20), timedelta(minutes=1))

    [incident] = stream.incidents()
    first = min(line.at for line in burst)
    assert incident.state == "open"
    assert incident.detected_at - first <= timedelta(minutes=5)
    assert incident.metric == "outage"
    assert "internet" in incident.topic_name
    assert abs(incident.started_at - first) <= timedelta(minutes=1)
    assert incident.peak_value >= 20 and incident.baseline < 3
    assert len(incident.examples) == 5 and all("internet" in e["text"] for e in incident.examples)

    stream.run_until(burst_at + timedelta(hours=2, minutes=30), timedelta(minutes=5))
    [incident] = stream.incidents()
    assert incident.state == "ended"
    # back to normal once the burst left the window, then quiet for quiet_minutes (30): not before, not much later
    last = max(line.at for line in burst)
    assert last + timedelta(minutes=30) <= incident.ended_at <= last + timedelta(minutes=60)
    with stream_desk.session() as session:
        events = {(n.event, n.key) for n in session.scalars(select(Notification))}
    assert events == {
        ("incident_opened", f"incident-opened:{incident.id}"),
        ("incident_ended", f"incident-ended:{incident.id}"),
    }


def test_a_spam_wave_is_told_apart_from_complaints(stream_desk):
    wave_at = START + timedelta(days=14, hours=11)
    stream = Stream(stream_desk, steady(START, wave_at + timedelta(hours=1), base=1.5) + spam_wave(wave_at, 60))
    stream.history(wave_at - timedelta(minutes=30))
    stream_desk.clock.set(wave_at - timedelta(minutes=30))
    stream.run_until(wave_at + timedelta(minutes=30), timedelta(minutes=1))

    [incident] = stream.incidents()
    assert incident.metric == "spam" and incident.detail["kind"] == "spam"
    assert incident.examples and all("giveaway" in e["text"] for e in incident.examples)
