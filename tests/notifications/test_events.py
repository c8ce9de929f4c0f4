"""Raising notifications: once per key, and a case assigned to someone tells them (by a person or by the queue)."""

from __future__ import annotations

from sqlalchemy import select

from bot.console import actions
from bot.notifications import events
from bot.storage.models import Notification, User

PROBLEM = "@acme my internet has been down since this morning and it's still not working"


def raised(desk) -> list[tuple[str, str | None, str]]:
    with desk.session() as session:
        rows = session.scalars(select(Notification).order_by(Notification.id))
        return [(n.event, n.recipient, n.subject) for n in rows]


def add_user(desk, name, role="agent", on_shift=False):
    with desk.session() as session:
        session.add(
            User(username=name, role=role, capacity=10, on_shift=on_shift, active=True, created_at=desk.clock.now())
        )


def test_a_key_is_raised_once_whoever_raises_it_and_however_often(desk):
    with desk.session() as session:
        first = events.notify(session, desk.clock.now(), events.INCIDENT_OPENED, "incident:7", "Spike", "40 in 10 min")
        again = events.notify(session, desk.clock.now(), events.INCIDENT_OPENED, "incident:7", "Spike", "41 in 10 min")
    assert first is not None and again is None
    assert raised(desk) == [("incident_opened", None, "Spike")]


def test_a_case_assigned_by_a_person_tells_the_new_owner_but_not_someone_taking_it_themselves(desk):
    add_user(desk, "alex")
    add_user(desk, "maria", role="approver")
    desk.mention(PROBLEM, id="t-1")
    desk.poll()
    case = desk.case_of("t-1")
    with desk.session() as session:
        actions.assign(session, case.id, "alex", "maria", desk.clock.now())
    desk.clock.advance(minutes=5)
    with desk.session() as session:
        actions.assign(session, case.id, "maria", "maria", desk.clock.now())

    assert raised(desk) == [("case_assigned", "alex", f"Case #{case.id} is assigned to you")]
    with desk.session() as session:
        [notification] = session.scalars(select(Notification))
        assert notification.detail == {"case_id": case.id, "actor": "maria"}
        assert "assigned to alex by maria" in notification.body


def test_the_universal_queue_tells_the_agent_a_case_is_theirs(desk):
    add_user(desk, "juan", on_shift=True)
    desk.mention(PROBLEM, id="t-1")
    desk.poll()
    case = desk.case_of("t-1")
    [(event, recipient, subject)] = raised(desk)
    assert (event, recipient, subject) == ("case_assigned", "juan", f"Case #{case.id} is assigned to you")
