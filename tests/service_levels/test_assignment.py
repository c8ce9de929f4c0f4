"""The universal queue: least-loaded agent on shift, one interlocutor per customer, cases move off shift or over capacity."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.clock import FrozenClock
from bot.config import ShiftConfig
from bot.service_levels import assignment
from bot.storage.models import Case, User
from tests.harness import Desk

PROBLEM = "@acme my internet has been down since this morning and it's still not working"


def add_agents(desk, *names, capacity=10):
    with desk.session() as session:
        for name in names:
            session.add(
                User(
                    username=name,
                    role="agent",
                    capacity=capacity,
                    on_shift=True,
                    active=True,
                    created_at=desk.clock.now(),
                )
            )


def owner_of(desk, platform_id) -> str | None:
    case = desk.case_of(platform_id)
    with desk.session() as session:
        user = session.get(User, case.owner_id) if case.owner_id else None
        return user.username if user else None


def test_a_new_case_goes_to_the_least_loaded_agent_and_the_customers_next_case_to_the_same_agent(desk):
    add_agents(desk, "maria", "juan")
    desk.mention(PROBLEM, author="@ana", id="a-1")
    desk.mention(PROBLEM, author="@bob", id="b-1")
    desk.mention(PROBLEM, author="@carla", id="c-1")
    desk.poll()
    assert [owner_of(desk, m) for m in ("a-1", "b-1", "c-1")] == ["maria", "juan", "maria"]

    desk.clock.advance(minutes=20)
    desk.mention("@acme and now the tv box doesn't work either, still broken", author="@ana", id="a-2")
    desk.poll()

    assert desk.case_of("a-2").id != desk.case_of("a-1").id
    assert owner_of(desk, "a-2") == "maria"  # juan has less work, but ana already talks to maria


def test_cases_move_when_their_agent_goes_off_shift_and_the_customer_follows(desk):
    add_agents(desk, "maria", "juan")
    desk.mention(PROBLEM, author="@ana", id="a-1")
    desk.poll()
    assert owner_of(desk, "a-1") == "maria"

    with desk.session() as session:
        assignment.set_on_shift(session, "maria", False)
    assert assignment.run(desk.service) == 1
    assert owner_of(desk, "a-1") == "juan"

    desk.mention("@acme the tv box doesn't work either, still broken", author="@ana", id="a-2")
    desk.poll()
    assert owner_of(desk, "a-2") == "juan"
    with desk.session() as session:
        notes = [e.note for e in session.get(Case, desk.case_of("a-1").id).events if e.note and "owner" in e.note]
    assert notes[-1].startswith("owner maria → juan")


def test_an_agent_at_capacity_gets_no_more_and_sheds_cases_when_capacity_drops(desk):
    add_agents(desk, "maria", "juan", capacity=2)
    for who in ("ana", "bob", "carla", "dani"):
        desk.mention(PROBLEM, author=f"@{who}", id=f"{who}-1")
    desk.poll()
    assert sorted(owner_of(desk, f"{w}-1") for w in ("ana", "bob", "carla", "dani")) == [
        "juan",
        "juan",
        "maria",
        "maria",
    ]
    desk.mention(PROBLEM, author="@eva", id="eva-1")
    desk.poll()
    assert owner_of(desk, "eva-1") is None  # everyone is full: it waits in the unassigned queue

    with desk.session() as session:
        assignment.set_capacity(session, "juan", 4)
        assignment.set_capacity(session, "maria", 1)
    assignment.run(desk.service)

    with desk.session() as session:
        counts = assignment.loads(session)
        users = {u.username: u.id for u in session.scalars(select(User))}
    assert counts[users["maria"]] == 1 and counts[users["juan"]] == 4


def test_shifts_from_config_decide_who_is_working(tmp_path, database_url):
    monday_evening_madrid = datetime(2026, 1, 5, 17, 30)  # 18:30 in Madrid
    desk = Desk(
        tmp_path,
        database_url,
        clock=FrozenClock(monday_evening_madrid),
        assignment={
            "shifts": [
                {
                    "agent": "maria",
                    "days": ["mon", "tue", "wed", "thu", "fri"],
                    "start": "09:00",
                    "end": "18:00",
                    "timezone": "Europe/Madrid",
                },
                {"agent": "noe", "days": ["mon"], "start": "18:00", "end": "02:00", "timezone": "Europe/Madrid"},
            ]
        },
    )
    try:
        add_agents(desk, "maria", "noe")
        desk.mention(PROBLEM, author="@ana", id="a-1")
        desk.poll()
        assert owner_of(desk, "a-1") == "noe"
        with desk.session() as session:
            assert [
                a.user.username for a in assignment.agents_on_shift(session, desk.config, datetime(2026, 1, 6, 0, 30))
            ] == ["noe"]
            assert [
                a.user.username for a in assignment.agents_on_shift(session, desk.config, datetime(2026, 1, 6, 8, 0))
            ] == ["maria"]
        assert assignment.next_shift_start(desk.config, datetime(2026, 1, 6, 2, 0)) == datetime(2026, 1, 6, 8, 0)
    finally:
        desk.service.engine.dispose()


def test_an_overnight_shift_runs_past_midnight():
    shift = ShiftConfig(agent="noe", days=["fri"], start="22:00", end="06:00", timezone="UTC")
    assert assignment.in_shift(shift, datetime(2026, 1, 9, 23, 0))  # Friday night
    assert assignment.in_shift(shift, datetime(2026, 1, 10, 5, 59))  # early Saturday, still Friday's shift
    assert not assignment.in_shift(shift, datetime(2026, 1, 10, 22, 30))  # Saturday night: no shift


def test_monitored_threads_are_nobodys_work(desk):
    add_agents(desk, "maria")
    desk.mention("watching the acme ad during the game lol", id="p-1", addressed=False)
    desk.poll()
    assert owner_of(desk, "p-1") is None
