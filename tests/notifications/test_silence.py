"""Silent accounts: no mention for hours is told once per silence, and again after the next one."""

from __future__ import annotations

from sqlalchemy import select

from bot.notifications import silence
from bot.storage.models import Notification
from tests.harness import Desk


def silences(desk) -> list[str]:
    with desk.session() as session:
        rows = session.scalars(select(Notification).where(Notification.event == "account_silent"))
        return [n.subject for n in rows.all()]


def test_an_account_silent_for_hours_is_told_once_per_silence(tmp_path, database_url):
    desk = Desk(tmp_path, database_url, notifications={"silent_account_hours": 6})
    try:
        desk.mention("@acme hello, is the shop open on sunday?", id="m-1")
        desk.poll()
        desk.clock.advance(hours=5)
        assert silence.run(desk.service) == 0
        desk.clock.advance(hours=1, minutes=1)
        assert silence.run(desk.service) == 1
        desk.clock.advance(hours=3)
        assert silence.run(desk.service) == 0  # the same silence
        assert silences(desk) == ["No mention from account brand for 6 hours"]

        desk.mention("@acme are you still there?", id="m-2")
        desk.poll()  # the silence is over
        desk.clock.advance(hours=6, minutes=30)
        assert silence.run(desk.service) == 1
        assert len(silences(desk)) == 2
    finally:
        desk.service.engine.dispose()


def test_no_check_when_turned_off_and_none_for_a_disabled_account(tmp_path, database_url):
    desk = Desk(tmp_path, database_url, notifications={"silent_account_hours": 0})
    try:
        desk.clock.advance(days=3)
        assert silence.run(desk.service) == 0
        desk.config.notifications.silent_account_hours = 1
        desk.config.accounts[0].enabled = False
        assert silence.run(desk.service) == 0
        desk.config.accounts[0].enabled = True
        assert silence.run(desk.service) == 1  # never a mention since it was added, three days ago
    finally:
        desk.service.engine.dispose()
