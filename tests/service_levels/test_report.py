"""The report's figures, checked against a morning worked out by hand."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.errors import UserError
from bot.service_levels import eta, report, sla

PROBLEM = "@acme my internet has been down since this morning and it's still not working"
BILLING = "@acme you charged my card twice this month, I want a refund"
CHATTER = "watching the acme ad during the game lol"


def at(hour: int, minute: int) -> datetime:
    return datetime(2026, 1, 5, hour, minute)


def morning(desk):
    """Five mentions on Monday 5 January 2026; what happened to each is written beside it."""
    desk.mention(PROBLEM, author="@ana", id="ana")  # acknowledged 09:10, resolved and closed in public 09:30
    desk.mention(BILLING, author="@bob", id="bob")  # moved to private at 09:40: first response 40 min, late
    desk.mention(CHATTER, author="@carl", id="carl", addressed=False)  # only monitored: no clock
    desk.mention(PROBLEM, author="@eve", id="eve")  # acknowledged 09:20, nothing after: a broken promise
    desk.poll()
    desk.clock.set(at(9, 5))
    desk.mention(PROBLEM, author="@dan", id="dan")  # never answered: past its 09:35 target
    desk.poll()

    def draft_of(platform_id, kind):
        case = desk.case_of(platform_id)
        return next(d for d in desk.drafts() if d.case_id == case.id and d.kind == kind)

    desk.clock.set(at(9, 10))
    desk.approve(draft_of("ana", "acknowledgement").id)
    desk.clock.set(at(9, 20))
    desk.approve(draft_of("eve", "acknowledgement").id)
    desk.clock.set(at(9, 30))
    desk.approve(desk.resolve(desk.case_of("ana").id, summary="the line card was replaced").id)
    desk.clock.set(at(9, 31))
    sla.run(desk.service)  # bob: breach; dan: warning (4 of 30 min left)
    desk.clock.set(at(9, 40))
    desk.approve(draft_of("bob", "invitation").id)
    desk.approve(draft_of("bob", "private_message").id)
    desk.clock.set(at(12, 0))
    sla.run(desk.service)  # dan: breach
    eta.run(desk.service)


def test_the_report_matches_a_morning_worked_out_by_hand(desk):
    morning(desk)
    with desk.session() as session:
        figures = report.build(session, desk.config, report.parse_since("7d", desk.clock.now()), desk.clock.now())

    assert figures["detection"]["mentions"] == 5
    assert figures["detection"]["addressed_to_brand"] == 4 and figures["detection"]["not_addressed"] == 1
    assert figures["detection"]["by_source"] == [
        {"account": "brand", "platform": "x", "stream": "replay", "mentions": 5}
    ]
    assert figures["platforms"] == {"x": {"mentions": 5, "cases": 5}}
    assert figures["cases_opened"] == 5
    # First responses: ana 10, eve 20, bob 40 minutes.
    assert figures["first_response"] == {"answered": 3, "median_minutes": 20.0, "p90_minutes": 40.0}
    # Only ana was resolved, 30 minutes after she wrote.
    assert figures["resolution"] == {"resolved": 1, "median_minutes": 30.0, "p90_minutes": 30.0}
    # Four cases have a clock (carl is monitored): ana and eve in time, bob late, dan past due unanswered.
    assert figures["sla"]["first_response_attainment"] == 0.5 and figures["sla"]["first_response_cases"] == 4
    assert figures["sla"]["resolution_attainment"] == 1.0 and figures["sla"]["resolution_cases"] == 1
    assert figures["sla"]["alerts"] == {"warning": 1, "breach": 2, "maximum": 0}
    assert figures["levels"] == {"investigate": 3, "private": 1, "monitor": 1}
    assert figures["categories"] == {"complaint": 4, "other": 1}
    assert figures["languages"] == {"en": 5}
    assert figures["public_cases"] == {"resolved": 1, "closed_in_public_share": 1.0}
    # ana's promise (30 min from 09:10) was kept by the close at 09:30; eve's (30 min from 09:20) ran out.
    assert figures["promises"] == {"made": 2, "kept": 1, "broken": 1, "open": 0, "kept_share": 0.5}
    internet = next(t for t in figures["topics"] if t["term"] == "internet")
    assert internet["mentions"] == 3 and internet["examples"][0] == PROBLEM
    assert all(t["term"] not in ("acme",) for t in figures["topics"])


def test_the_report_command_prints_json_and_tables(desk, tmp_path):
    morning(desk)
    config = tmp_path / "config.yaml"
    import yaml

    config.write_text(yaml.safe_dump(desk.config.model_dump(mode="json")), encoding="utf-8")
    runner = CliRunner()
    from unittest import mock

    with mock.patch("bot.runtime.service.SystemClock", return_value=desk.clock):
        as_json = runner.invoke(main, ["--config", str(config), "report", "--since", "1d", "--format", "json"])
        as_text = runner.invoke(main, ["--config", str(config), "report", "--since", "2026-01-05"])
    assert as_json.exit_code == 0, as_json.output
    figures = json.loads(as_json.output)
    assert figures["first_response"]["median_minutes"] == 20.0
    assert as_text.exit_code == 0, as_text.output
    assert "Service-level report" in as_text.output and "first response" in as_text.output
    assert "2 made, 1 kept, 1 broken" in as_text.output
    assert "Languages: en 5" in as_text.output


def test_since_accepts_spans_and_dates_and_names_what_is_wrong():
    now = datetime(2026, 1, 8, 12, 0)
    assert report.parse_since("7d", now) == datetime(2026, 1, 1, 12, 0)
    assert report.parse_since("12h", now) == datetime(2026, 1, 8, 0, 0)
    assert report.parse_since("2026-01-05", now) == datetime(2026, 1, 5)
    with pytest.raises(UserError, match="--since 'soon'"):
        report.parse_since("soon", now)
