"""SLA clocks: policies, business hours, pauses while waiting on the customer, warnings and breaches raised once."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.config import BusinessHoursConfig, parse_config
from bot.notifications import delivery
from bot.runtime.status_report import collect
from bot.service_levels import sla
from bot.storage.models import Notification, NotificationDelivery, SlaAlert
from tests.harness import Desk

MONDAY_9 = datetime(2026, 1, 5, 9, 0)


def alerts(desk) -> list[tuple[int, str, str, datetime]]:
    with desk.session() as session:
        return [
            (a.case_id, a.clock, a.kind, a.fired_at) for a in session.scalars(select(SlaAlert).order_by(SlaAlert.id))
        ]


def test_a_breach_alert_fires_once_at_the_minute_the_first_response_target_passes(desk):
    desk.mention("@acme my internet has been down since this morning and it's still not working", id="t-1")
    desk.poll()
    case = desk.case_of("t-1")
    assert case.first_response_due_at == datetime(2026, 1, 5, 9, 30)

    desk.clock.set(datetime(2026, 1, 5, 9, 23))
    assert sla.run(desk.service) == []
    desk.clock.set(datetime(2026, 1, 5, 9, 24))  # 80 % of the 30 minutes used: the warning
    sla.run(desk.service)
    desk.clock.set(datetime(2026, 1, 5, 9, 29, 59))
    sla.run(desk.service)
    assert alerts(desk) == [(case.id, "first_response", "warning", datetime(2026, 1, 5, 9, 24))]

    desk.clock.set(datetime(2026, 1, 5, 9, 30))
    sla.run(desk.service)
    for minute in (31, 45):
        desk.clock.set(datetime(2026, 1, 5, 9, minute))
        sla.run(desk.service)

    assert alerts(desk)[1:] == [(case.id, "first_response", "breach", datetime(2026, 1, 5, 9, 30))]
    status = collect(desk.service)
    assert status["sla"]["breaches"] == 1
    assert any(f"case #{case.id} missed its first response 30 min" in line for line in status["alerts"])


def test_answering_stops_the_first_response_clock_and_its_alerts_leave_the_open_list(desk):
    desk.mention("@acme my internet has been down since this morning and it's still not working", id="t-1")
    desk.poll()
    desk.clock.set(datetime(2026, 1, 5, 9, 40))
    sla.run(desk.service)
    with desk.session() as session:
        assert [a["kind"] for a in sla.open_alerts(session)] == ["breach"]

    desk.approve(desk.drafts()[0].id)
    desk.clock.advance(hours=1)
    sla.run(desk.service)

    with desk.session() as session:
        assert sla.open_alerts(session) == []
        [clock] = sla.countdowns(session, desk.config, desk.clock.now())
    assert clock["clock"] == "resolution" and clock["minutes_left"] == pytest.approx(24 * 60 - 100)


def test_no_alert_fires_while_the_case_waits_on_the_customer_and_the_clock_resumes_where_it_stopped(desk):
    desk.mention("@acme you charged my card twice this month, I want a refund", id="bill-1")
    desk.poll()
    desk.clock.advance(hours=2)
    for draft in desk.drafts():
        desk.approve(draft.id)
    case = desk.case_of("bill-1")
    assert case.state == "waiting_on_customer"
    assert case.resolution_due_at == datetime(2026, 1, 6, 9, 0)

    desk.clock.set(datetime(2026, 1, 7, 12, 0))  # well past the resolution target, but paused
    sla.run(desk.service)
    assert alerts(desk) == []

    desk.mention(
        "my name is Ana Ruiz, can you please check why I was charged twice?",
        id="dm-1",
        channel="private",
        thread="dm-thread",
    )
    desk.poll()
    case = desk.case_of("dm-1")
    assert case.id == desk.case_of("bill-1").id and case.state != "waiting_on_customer"
    # 2 of the 24 hours ran before the wait: 22 are left from the moment the customer wrote back.
    assert case.resolution_due_at == datetime(2026, 1, 8, 10, 0)
    desk.clock.set(datetime(2026, 1, 8, 9, 59))
    sla.run(desk.service)
    assert [kind for _c, clock, kind, _at in alerts(desk) if clock == "resolution"] == ["warning"]
    desk.clock.set(datetime(2026, 1, 8, 10, 0))
    sla.run(desk.service)
    assert [kind for _c, clock, kind, _at in alerts(desk) if clock == "resolution"] == ["warning", "breach"]


def test_business_hours_move_a_friday_evening_due_time_past_the_weekend_and_a_holiday(tmp_path, database_url):
    friday_evening = datetime(2026, 1, 9, 16, 50)  # 17:50 in Madrid (UTC+1 in winter)
    desk = Desk(
        tmp_path,
        database_url,
        clock=FrozenClock(friday_evening),
        sla={
            "business_hours": {
                "enabled": True,
                "timezone": "Europe/Madrid",
                "start": "09:00",
                "end": "18:00",
                "holidays": ["2026-01-12"],
            }
        },
    )
    try:
        desk.mention("@acme my internet has been down since this morning and it's still not working", id="t-1")
        desk.poll()
        case = desk.case_of("t-1")
        # 10 minutes run on Friday; Monday the 12th is a holiday; the other 20 run from 09:00 Tuesday in Madrid.
        assert case.first_response_due_at == datetime(2026, 1, 13, 8, 20)

        desk.clock.set(datetime(2026, 1, 12, 18, 0))
        sla.run(desk.service)
        assert alerts(desk) == []  # the whole weekend and the holiday passed without a minute of SLA time
        desk.clock.set(datetime(2026, 1, 13, 8, 20))
        sla.run(desk.service)
        assert [kind for *_x, kind, _at in alerts(desk)] == ["breach"]
    finally:
        desk.service.engine.dispose()


def test_the_calendar_adds_and_measures_business_minutes():
    config = parse_config(
        {
            "sla": {
                "business_hours": {
                    "enabled": True,
                    "timezone": "America/New_York",
                    "days": ["mon", "tue", "wed", "thu", "fri"],
                    "start": "09:00",
                    "end": "17:00",
                }
            }
        }
    )
    calendar = sla.Calendar(config.sla.business_hours)
    friday_4pm_ny = datetime(2026, 3, 6, 21, 0)  # 16:00 EST
    monday_10am_ny = datetime(2026, 3, 9, 14, 0)  # 10:00 EDT: daylight saving began on Sunday the 8th
    assert calendar.add(friday_4pm_ny, 120) == monday_10am_ny
    assert calendar.minutes_between(friday_4pm_ny, monday_10am_ny) == 120
    assert calendar.minutes_between(monday_10am_ny, friday_4pm_ny) == -120
    assert sla.Calendar(None).add(friday_4pm_ny, 120) == datetime(2026, 3, 6, 23, 0)


def test_the_most_specific_policy_wins():
    config = parse_config(
        {
            "sla": {
                "policies": [
                    {"level": "private", "first_response_target_minutes": 60},
                    {"platform": "facebook", "first_response_target_minutes": 120, "resolution_target_hours": 48},
                    {
                        "level": "private",
                        "platform": "facebook",
                        "first_response_target_minutes": 15,
                        "business_hours": True,
                    },
                ]
            }
        }
    )
    assert sla.policy_for(config.sla, "investigate", "x").first_response_target_minutes == 30
    assert sla.policy_for(config.sla, "private", "x").first_response_target_minutes == 60
    assert sla.policy_for(config.sla, "investigate", "facebook").resolution_target_hours == 48
    both = sla.policy_for(config.sla, "private", "facebook")
    assert (both.first_response_target_minutes, both.resolution_target_hours, both.business_hours) == (15, 48, True)


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []
    statuses: list[int] = []

    def do_POST(self):  # noqa: N802 - the http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append(body)
        status = type(self).statuses.pop(0) if type(self).statuses else 200
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    """A Slack-like incoming webhook on 127.0.0.1 that records what it is sent."""
    handler = type("Hook", (_Hook,), {"received": [], "statuses": []})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{server.server_address[1]}/services/hook"
    server.shutdown()
    server.server_close()


def webhook_deliveries(desk) -> list[tuple[str, str, int]]:
    with desk.session() as session:
        rows = session.scalars(select(NotificationDelivery).order_by(NotificationDelivery.id))
        return [(d.channel, d.status, d.attempts) for d in rows]


def test_a_breach_raises_one_notification_however_often_the_check_runs(desk):
    desk.mention("@acme my internet has been down since this morning and it's still not working", id="t-1")
    desk.poll()
    desk.clock.set(datetime(2026, 1, 5, 9, 31))
    sla.run(desk.service)
    sla.run(desk.service)
    case = desk.case_of("t-1")
    with desk.session() as session:
        raised = [(n.event, n.key, n.subject) for n in session.scalars(select(Notification).order_by(Notification.id))]
    assert raised == [
        (
            "sla_breach",
            f"sla:{case.id}:first_response:breach:0",
            f"SLA breach: case #{case.id} missed its first response 30 min (due 2026-01-05 09:30 UTC)",
        )
    ]


def test_a_breach_is_posted_to_the_webhook_exactly_once(tmp_path, database_url, webhook):
    handler, url = webhook
    desk = Desk(
        tmp_path, database_url, clock=FrozenClock(MONDAY_9), sla={"webhook_url": url, "webhook_warnings": False}
    )
    try:
        desk.mention("@acme my internet has been down since this morning and it's still not working", id="t-1")
        desk.poll()
        desk.clock.set(datetime(2026, 1, 5, 9, 25))
        sla.run(desk.service)  # a warning: recorded, but this webhook takes breaches only
        delivery.run(desk.service)
        desk.clock.set(datetime(2026, 1, 5, 9, 31))
        for _ in range(3):
            sla.run(desk.service)
            delivery.run(desk.service)
            desk.restart()

        assert len(handler.received) == 1
        # the Slack-compatible body the webhook always had: {"text": "…"}
        assert list(handler.received[0]) == ["text"]
        assert handler.received[0]["text"].startswith("SLA breach: case #")
        assert webhook_deliveries(desk) == [("sla-webhook", "sent", 1)]
    finally:
        desk.service.engine.dispose()


def test_a_webhook_that_fails_is_retried_and_still_posted_once(tmp_path, database_url, webhook):
    handler, url = webhook
    handler.statuses.extend([500])
    desk = Desk(tmp_path, database_url, clock=FrozenClock(MONDAY_9), sla={"webhook_url": url})
    try:
        desk.mention("@acme my internet has been down since this morning and it's still not working", id="t-1")
        desk.poll()
        desk.clock.set(datetime(2026, 1, 5, 9, 31))
        sla.run(desk.service)
        delivery.run(desk.service)
        with desk.session() as session:
            [sent] = session.scalars(select(NotificationDelivery))
            assert (sent.status, sent.attempts) == ("pending", 1)
            assert "500" in sent.last_error
        for _ in range(2):
            desk.clock.advance(minutes=1)  # past the retry's backoff
            sla.run(desk.service)
            delivery.run(desk.service)
        assert len(handler.received) == 2  # the failed attempt and the one that got through
        assert webhook_deliveries(desk) == [("sla-webhook", "sent", 2)]
    finally:
        desk.service.engine.dispose()


def test_past_the_24_hour_maximum_a_further_alert_fires_and_a_reopened_case_starts_a_new_cycle(desk):
    desk.mention("@acme my internet has been down since this morning and it's still not working", id="t-1")
    desk.poll()
    desk.clock.set(datetime(2026, 1, 6, 9, 0))
    sla.run(desk.service)
    case = desk.case_of("t-1")
    assert sorted((clock, kind) for _c, clock, kind, _at in alerts(desk)) == [
        ("first_response", "breach"),
        ("first_response", "maximum"),
        ("resolution", "breach"),
    ]

    desk.approve(desk.drafts()[0].id)
    desk.approve(desk.resolve(case.id, summary="the line was repaired").id)
    desk.clock.advance(days=1)
    desk.mention("@acme it's down again, still not working", id="t-2", thread="t-1", in_reply_to="t-1")
    desk.poll()
    assert desk.case_of("t-2").reopen_count == 1
    desk.clock.advance(minutes=30)
    sla.run(desk.service)
    assert [(clock, kind) for _c, clock, kind, _at in alerts(desk)[3:]] == [("first_response", "breach")]
    with desk.session() as session:
        assert [(a["clock"], a["kind"]) for a in sla.open_alerts(session)] == [("first_response", "breach")]


def test_a_webhook_that_keeps_failing_gives_up_and_says_so_in_status(tmp_path, database_url, webhook):
    handler, url = webhook
    handler.statuses.extend([500, 503])
    desk = Desk(
        tmp_path, database_url, clock=FrozenClock(MONDAY_9), sla={"webhook_url": url, "webhook_max_attempts": 2}
    )
    try:
        desk.mention("@acme my internet has been down since this morning and it's still not working", id="t-1")
        desk.poll()
        desk.clock.set(datetime(2026, 1, 5, 9, 31))
        for _ in range(4):
            sla.run(desk.service)
            delivery.run(desk.service)
            desk.clock.advance(minutes=2)
        assert len(handler.received) == 2
        assert "1 notification(s) could not be delivered to sla-webhook" in " ".join(collect(desk.service)["alerts"])
    finally:
        desk.service.engine.dispose()


def test_the_webhook_url_must_be_http():
    from bot.config import ConfigError

    with pytest.raises(ConfigError, match="sla.webhook_url"):
        parse_config({"sla": {"webhook_url": "hooks.slack.com/services/x"}})


def test_the_check_reads_only_cases_near_or_past_due_whose_breach_is_not_raised_yet(desk):
    desk.mention("@acme my internet has been down since this morning and it's still not working", id="old")
    desk.poll()
    desk.clock.set(datetime(2026, 1, 5, 9, 45))
    desk.mention("@acme the app crashes every time I open it", author="@bob", id="fresh")
    desk.poll()

    def read_by_the_check() -> set[str]:
        now = desk.clock.now()
        horizons = sla.warning_horizons(desk.config.sla, {"replay"}, now)
        with desk.session() as session:
            from bot.storage.models import Case

            ids = set(session.scalars(select(Case.id).where(sla._may_fire(horizons, now))))
        return {name for name in ("old", "fresh") if desk.case_of(name).id in ids}

    assert read_by_the_check() == {"old"}  # past its first-response target; the fresh one is 30 minutes from due
    sla.run(desk.service)
    assert [kind for _, _, kind, _ in alerts(desk)] == ["breach"]
    assert read_by_the_check() == set()  # its breach is raised: a long backlog is not read again every minute


def test_a_backlog_longer_than_one_step_of_the_check_raises_the_breaches_of_every_step(desk, monkeypatch):
    monkeypatch.setattr(sla, "CHECK_CHUNK", 1)  # one case per step: the second step follows one that raised
    desk.mention("@acme my internet has been down since this morning and it's still not working", id="first")
    desk.mention("@acme the app crashes every time I open it", author="@bob", id="second")
    desk.poll()
    desk.clock.set(datetime(2026, 1, 5, 9, 31))
    sla.run(desk.service)
    breached = {case_id for case_id, _, kind, _ in alerts(desk) if kind == "breach"}
    assert breached == {desk.case_of("first").id, desk.case_of("second").id}


def test_a_countrys_public_holidays_stop_the_clock_without_listing_them_and_listed_days_still_add():
    spain = BusinessHoursConfig(enabled=True, timezone="UTC", country="es", holidays=["2026-12-09"])
    # Monday 7 December 2026, 17:00: one hour that day; Tuesday the 8th is a national holiday; the 9th is listed.
    assert sla.Calendar(spain).add(datetime(2026, 12, 7, 17, 0), 120) == datetime(2026, 12, 10, 10, 0)
    madrid = BusinessHoursConfig(enabled=True, timezone="UTC", country="ES", subdivision="md", holidays=["2026-12-09"])
    assert (madrid.country, madrid.subdivision) == ("ES", "MD")
    # Madrid also moves Sunday's Constitution Day to Monday the 7th: the clock starts on Thursday.
    assert sla.Calendar(madrid).add(datetime(2026, 12, 7, 17, 0), 120) == datetime(2026, 12, 10, 11, 0)
    with pytest.raises(ValueError, match="no holiday calendar"):
        BusinessHoursConfig(enabled=True, country="Atlantis")
    with pytest.raises(ValueError, match="no subdivision"):
        BusinessHoursConfig(enabled=True, country="ES", subdivision="XX")
