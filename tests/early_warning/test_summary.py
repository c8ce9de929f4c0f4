"""Incidents as people read them: in the report's period or not, and one line each."""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.console import Console

from bot.early_warning import summary
from bot.storage.models import Incident

NOW = datetime(2026, 3, 20, 12, 0)


def _incident(started: datetime, ended: datetime | None, topic: str) -> Incident:
    return Incident(
        brand="Acme", topic_key=topic.split(",")[0], topic_name=topic, metric="outage", severity="major",
        state="ended" if ended else "open", started_at=started, detected_at=started, peak_at=started,
        peak_value=31, baseline=0.5, last_above_at=ended or started, ended_at=ended, examples=[], detail={},
    )  # fmt: skip


def test_the_report_lists_the_incidents_open_at_some_time_in_its_period(desk):
    with desk.session() as session:
        session.add_all(
            [
                _incident(NOW - timedelta(days=10), NOW - timedelta(days=9, hours=23), "router, firmware"),
                _incident(NOW - timedelta(days=3), NOW - timedelta(days=3) + timedelta(hours=2), "internet, down"),
                _incident(NOW - timedelta(hours=1), None, "app, login"),
            ]
        )
    with desk.session() as session:
        section = summary.report_section(session, NOW - timedelta(days=7), NOW)
        assert [i["topic"] for i in section] == ["internet, down", "app, login"]
        assert [i["state"] for i in section] == ["ended", "open"]
        assert summary.counts_by_severity(session) == {"minor": 0, "major": 1}
        [open_one] = summary.open_now(session)
        assert open_one["topic"] == "app, login" and open_one["cases"] == 0
    console = Console(record=True, width=200)
    summary.render_report(section, console)
    text = console.export_text()
    assert "Incidents (2)" in text
    assert "outage reports about internet, down since" in text and "peak 31 where 0.5 is usual" in text
