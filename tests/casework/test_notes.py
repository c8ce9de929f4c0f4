"""Internal notes: the team talks on a case, @mentions land in a teammate's inbox, and nothing of it is ever sent."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.casework import notes
from bot.clock import FrozenClock
from bot.errors import UserError
from bot.simulators import x_account
from bot.simulators.pytest_fixtures import x_sim  # noqa: F401 - fixture
from bot.storage import users
from bot.storage.models import AuditEntry, Case, CaseNote, NoteMention, Notification, OutboxMessage
from tests.harness import Desk

ROOT = Path(__file__).resolve().parents[2]


def team(desk: Desk) -> None:
    """An agent, an approver, and a former colleague whose account is disabled."""
    with desk.session() as session:
        for name, role in (("alex", "agent"), ("maria", "approver"), ("olga", "agent")):
            users.create_user(session, name, "correct horse battery", role, desk.clock.now(), "test")
        users.get_user(session, "olga").active = False


def a_case(desk: Desk, text: str = "@acme my parcel never arrived, order 1234") -> int:
    """A customer writes; the case it opens."""
    mention = desk.mention(text)
    desk.poll()
    return desk.case_of(mention).id


def write(desk: Desk, case_id: int, author: str, text: str) -> int:
    """A person leaves a note; its id."""
    with desk.session() as session:
        note = notes.add_note(
            session, session.get(Case, case_id), users.get_user(session, author), text, desk.clock.now()
        )
        return note.id


def inbox_of(desk: Desk, username: str) -> list[tuple[int, str, bool]]:
    """(case id, note text, unread) of each item in a user's inbox, in the order shown."""
    with desk.session() as session:
        return [(i.case.id, i.note.text, i.unread) for i in notes.inbox(session, users.get_user(session, username))]


def note_notifications(desk) -> int:
    """How many @mention notifications were raised (assigning a case raises its own kind)."""
    with desk.session() as session:
        return len(session.scalars(select(Notification).where(Notification.event == "note_mention")).all())


def test_a_note_that_mentions_alex_reaches_his_inbox_and_raises_one_notification(desk):
    team(desk)
    case_id = a_case(desk)

    write(desk, case_id, "maria", "@alex can you call the courier? The customer is upset.")

    assert inbox_of(desk, "alex") == [(case_id, "@alex can you call the courier? The customer is upset.", True)]
    assert inbox_of(desk, "maria") == []
    with desk.session() as session:
        [raised] = session.scalars(select(Notification).where(Notification.event == "note_mention")).all()
        mention_row = session.scalar(select(NoteMention))
    assert raised.event == "note_mention" and raised.recipient == "alex"
    assert raised.key == f"note-mention:{mention_row.id}"
    assert raised.detail == {"case_id": case_id, "note_id": mention_row.note_id}
    assert "maria" in raised.subject and f"case {case_id}" in raised.subject


def test_mentions_match_user_names_whatever_the_case_and_each_user_once(desk):
    team(desk)
    case_id = a_case(desk)

    write(desk, case_id, "alex", "@Maria please approve; @MARIA see the DM. Thanks, (@maria).")

    assert [text for _, text, _ in inbox_of(desk, "maria")] == [
        "@Maria please approve; @MARIA see the DM. Thanks, (@maria)."
    ]
    assert desk.count(NoteMention) == 1 and note_notifications(desk) == 1


def test_a_customers_handle_an_email_or_a_disabled_user_is_not_a_mention(desk):
    team(desk)
    case_id = a_case(desk)

    write(desk, case_id, "maria", "@acme told @ana to mail ana@alex.com; @olga left; @nobody knows; @alex.")

    with desk.session() as session:
        note = session.scalar(select(CaseNote))
        assert [m.user.username for m in note.mentioned] == ["alex"]
        assert note.text == "@acme told @ana to mail ana@alex.com; @olga left; @nobody knows; @alex."
    assert inbox_of(desk, "olga") == []
    assert note_notifications(desk) == 1


def test_mentioning_yourself_puts_nothing_in_your_inbox(desk):
    team(desk)
    case_id = a_case(desk)

    write(desk, case_id, "alex", "@alex remember to check tomorrow")

    assert inbox_of(desk, "alex") == []
    assert note_notifications(desk) == 0


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "cannot be empty"),
        ("   \n ", "cannot be empty"),
        ("x" * 5001, "at most 5,000 characters"),
        ("call\x00back", "NUL character"),
    ],
)
def test_an_empty_or_too_long_note_is_refused_and_nothing_is_written(desk, text, message):
    team(desk)
    case_id = a_case(desk)

    with pytest.raises(UserError, match=message):
        write(desk, case_id, "maria", text)

    assert desk.count(CaseNote) == 0 and note_notifications(desk) == 0
    assert "note" not in _actions(desk)


def test_a_note_at_the_limit_is_kept_whole(desk):
    team(desk)
    case_id = a_case(desk)

    write(desk, case_id, "maria", "y" * notes.MAX_NOTE_LENGTH)

    with desk.session() as session:
        assert len(session.scalar(select(CaseNote.text))) == notes.MAX_NOTE_LENGTH


def test_a_note_is_audited_with_whom_it_mentions(desk):
    team(desk)
    case_id = a_case(desk)

    note_id = write(desk, case_id, "maria", "@alex over to you")

    with desk.session() as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "note")).all()
    assert (entry.actor, entry.object_type, entry.object_id) == ("maria", "case", case_id)
    assert entry.detail == {"note_id": note_id, "mentioned": ["alex"]}


def test_the_inbox_shows_unread_mentions_first_and_marking_one_read_is_audited_once(desk):
    team(desk)
    first = a_case(desk, "@acme my bill is wrong")
    write(desk, first, "maria", "@alex first")
    desk.clock.advance(minutes=5)
    write(desk, first, "maria", "@alex second")
    desk.clock.advance(minutes=5)
    write(desk, first, "maria", "@alex third")
    with desk.session() as session:
        second_id = session.scalar(select(NoteMention.id).join(CaseNote).where(CaseNote.text == "@alex second"))
        alex = users.get_user(session, "alex")
        assert notes.unread_count(session, alex.id) == 3
        item = notes.mark_read(session, alex, second_id, desk.clock.now())
        notes.mark_read(session, alex, second_id, desk.clock.now())  # again: nothing changes
        assert item.note.text == "@alex second" and not item.unread
        assert notes.unread_count(session, alex.id) == 2

    assert [(text, unread) for _, text, unread in inbox_of(desk, "alex")] == [
        ("@alex third", True),
        ("@alex first", True),
        ("@alex second", False),
    ]
    assert _actions(desk).count("note_read") == 1  # two clicks, one change


def test_nobody_can_mark_someone_elses_mention_read(desk):
    team(desk)
    case_id = a_case(desk)
    write(desk, case_id, "maria", "@alex look")
    with desk.session() as session:
        mention_id = session.scalar(select(NoteMention.id))
        with pytest.raises(UserError, match=f"there is no inbox item {mention_id}"):
            notes.mark_read(session, users.get_user(session, "maria"), mention_id, desk.clock.now())
        with pytest.raises(UserError, match="there is no inbox item 999"):
            notes.mark_read(session, users.get_user(session, "alex"), 999, desk.clock.now())
    assert inbox_of(desk, "alex") == [(case_id, "@alex look", True)]


@pytest.fixture
def x_desk(tmp_path: Path, database_url: str, x_sim) -> Desk:  # noqa: F811 - the fixture imported above
    """The service with one X account on the simulator, its clock at the real now."""
    clock = FrozenClock(datetime.now(UTC).replace(tzinfo=None))
    accounts = [x_account(x_sim, poll_interval_seconds=1).model_dump()]
    desk = Desk(tmp_path, database_url, clock=clock, accounts=accounts)
    yield desk
    desk.service.engine.dispose()


def test_a_note_never_enters_the_outbox_nor_reaches_the_platform(x_desk, x_sim):  # noqa: F811
    team(x_desk)
    root = x_sim.post("lena", "@acme my parcel never arrived and nobody answers")
    x_desk.poll()
    case_id = x_desk.case_of(root).id
    draft = x_desk.drafts()[0]

    write(x_desk, case_id, "alex", "@maria SECRET-NOTE: she is a VIP, refund without asking")
    x_desk.clock.advance(minutes=1)
    x_desk.poll()
    x_desk.service.outbox.run()
    assert x_desk.count(OutboxMessage) == 0
    assert x_sim.brand_posts() == [] and x_sim.brand_messages() == []

    x_desk.approve(draft.id)  # the reply a person approved goes out, and only that
    with x_desk.session() as session:
        sent = [m.text for m in session.scalars(select(OutboxMessage))]
    posted = [p["text"] for p in x_sim.brand_posts()] + [m.get("text", "") for m in x_sim.brand_messages()]
    assert sent == [draft.text] and posted == [draft.text]
    assert not any("SECRET-NOTE" in text for text in sent + posted)


def test_drafting_and_delivery_never_read_notes():
    readers = [ROOT / "bot/casework/drafting.py", ROOT / "bot/casework/approval.py", ROOT / "bot/casework/pipeline.py"]
    readers += sorted((ROOT / "bot/delivery").glob("*.py")) + sorted((ROOT / "responders").glob("*.py"))
    for path in readers:
        source = path.read_text(encoding="utf-8")
        assert "CaseNote" not in source and "case_notes" not in source and "casework.notes" not in source, path


def _actions(desk: Desk) -> list[str]:
    with desk.session() as session:
        return list(session.scalars(select(AuditEntry.action)))
