"""Honest ETAs: the queue ahead, the agents on shift and their pace, within the SLA; promises measured afterwards."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.service_levels import eta
from bot.storage.models import Case, Draft, User

PROBLEM = "@acme my internet has been down since this morning and it's still not working"


def add_agents(desk, *names):
    with desk.session() as session:
        for name in names:
            session.add(
                User(username=name, role="agent", capacity=50, on_shift=True, active=True, created_at=desk.clock.now())
            )


def ack_for(desk, platform_id) -> Draft:
    case = desk.case_of(platform_id)
    [ack] = [d for d in desk.drafts() if d.case_id == case.id and d.kind == "acknowledgement"]
    return ack


def test_an_eta_grows_with_the_queue_ahead_and_says_how_it_was_computed(desk):
    add_agents(desk, "maria")
    desk.mention(PROBLEM, author="@first", id="first")
    desk.poll()
    assert ack_for(desk, "first").eta_minutes == 30  # an empty queue: the 30-minute promise

    for number in range(12):
        desk.mention(PROBLEM, author=f"@user{number}", id=f"q-{number}")
    desk.poll()
    desk.clock.advance(minutes=1)
    desk.mention(PROBLEM, author="@late", id="late")
    desk.poll()

    late = ack_for(desk, "late")
    # 13 cases ahead (first + 12) and this one, one agent at the default 10 min a case: 140 min, said as 3 hours.
    assert late.eta_minutes == 180
    assert "13 case(s) ahead" in late.eta_explanation and "1 agent(s) on shift" in late.eta_explanation
    assert "within 3 hours" in late.text


def test_more_agents_on_shift_shorten_the_eta(desk):
    add_agents(desk, "maria", "juan", "noe", "eva")
    for number in range(12):
        desk.mention(PROBLEM, author=f"@user{number}", id=f"q-{number}")
    desk.poll()
    desk.clock.advance(minutes=1)
    desk.mention(PROBLEM, author="@late", id="late")
    desk.poll()
    late = ack_for(desk, "late")
    assert late.eta_minutes == 40  # ⌈13/4⌉ × 10 min
    assert "4 agent(s) on shift" in late.eta_explanation


def test_the_eta_never_exceeds_the_resolution_target(desk):
    desk.mention(PROBLEM, id="seed")
    desk.poll()
    seed = desk.case_of("seed")
    with desk.session() as session:

        def case(key: str, priority: float) -> Case:
            return Case(
                account_id=seed.account_id,
                customer_id=seed.customer_id,
                platform="x",
                thread_key=key,
                state="awaiting_approval",
                level="investigate",
                priority=priority,
                opened_at=desk.clock.now(),
                updated_at=desk.clock.now(),
                paused_seconds=0.0,
                reopen_count=0,
            )

        session.add_all(case(f"busy-{n}", 1.0) for n in range(300))
        target = case("target", 0.0)
        session.add(target)
        session.flush()
        promise = eta.estimate(session, desk.config, target, desk.clock.now())
    assert promise.minutes == 24 * 60
    assert "capped at the 24 h resolution target" in promise.explanation
    assert promise.text("en") == "24 hours" and promise.text("es") == "24 horas"


def test_the_pace_is_measured_from_recent_decisions(desk):
    add_agents(desk, "maria")
    for number in range(7):
        desk.mention(PROBLEM, author=f"@user{number}", id=f"q-{number}")
    desk.poll()
    for draft in desk.drafts():
        desk.clock.advance(minutes=4)
        desk.approve(draft.id, actor="maria")
    with desk.session() as session:
        pace, note = eta.recent_pace(session, desk.config, desk.clock.now())
    assert pace == 4.0 and "median of 6 gaps" in note


def test_promises_are_recorded_when_sent_and_measured_when_due(desk):
    desk.mention(PROBLEM, author="@ana", id="kept")
    desk.mention(PROBLEM, author="@bob", id="broken")
    desk.poll()
    for draft in desk.drafts():
        desk.approve(draft.id)  # both acknowledgements promise 30 minutes at 09:00
    desk.clock.advance(minutes=20)
    close = desk.resolve(desk.case_of("kept").id, summary="the line was repaired")
    desk.approve(close.id)

    desk.clock.advance(minutes=5)
    assert eta.run(desk.service) == {"kept": 1, "broken": 0}
    desk.clock.advance(minutes=6)  # 09:31: the other promise has run out
    assert eta.run(desk.service) == {"kept": 0, "broken": 1}
    with desk.session() as session:
        stats = eta.promise_stats(session, desk.clock.now() - timedelta(days=1), desk.clock.now())
    assert stats == {"made": 2, "kept": 1, "broken": 1, "open": 0, "kept_share": 0.5}


def test_nobody_on_shift_adds_the_wait_for_the_next_shift(tmp_path, database_url):
    from bot.clock import FrozenClock
    from tests.harness import Desk

    desk = Desk(
        tmp_path,
        database_url,
        clock=FrozenClock(datetime(2026, 1, 5, 6, 0)),
        assignment={
            "shifts": [{"agent": "maria", "days": ["mon"], "start": "08:00", "end": "16:00", "timezone": "UTC"}]
        },
    )
    try:
        add_agents(desk, "maria")
        desk.mention(PROBLEM, id="early")
        desk.poll()
        early = ack_for(desk, "early")
        assert early.eta_minutes == 180  # 120 min until 08:00 + 10 min of work, said as 3 hours
        assert "nobody on shift until Mon 08:00 UTC" in early.eta_explanation
    finally:
        desk.service.engine.dispose()
