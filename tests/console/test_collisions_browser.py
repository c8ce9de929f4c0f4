"""Two people on one draft in real browsers (Debian's chromium): each sees the other live, and the stale approval is refused."""

from __future__ import annotations

import pytest

from bot.console import create_app
from bot.console.server import ConsoleServer, free_port
from bot.storage.models import Draft
from tests.console.conftest import add_users
from tests.console.test_browser import chromium, login  # noqa: F401 - the module's browser and its login
from tests.console.test_browser import pytestmark as browser_needed
from tests.harness import Desk

pytestmark = browser_needed


@pytest.fixture
def served(tmp_path, database_url, shared_triager):
    """A desk with users and one draft waiting, served on a free port; pages beat every second."""
    desk = Desk(
        tmp_path,
        database_url,
        triager=shared_triager,
        console={"presence_poll_seconds": 1, "presence_seconds": 5},
    )
    add_users(desk)
    desk.mention("@acme how do I change my plan online?", id="q-1", author="@sam")
    desk.poll()
    server = ConsoleServer(create_app(desk.service), "127.0.0.1", free_port())
    server.start()
    desk.url = server.url
    yield desk
    server.stop()
    desk.service.engine.dispose()


@pytest.fixture
def tabs(chromium):  # noqa: F811 - the fixture imported from test_browser
    """Two people's browsers (separate contexts: separate cookies), each with one tab."""
    contexts = [chromium.new_context(), chromium.new_context()]
    pages = [context.new_page() for context in contexts]
    for page in pages:
        page.set_default_timeout(10000)
    yield pages
    for context in contexts:
        context.close()


def test_two_people_see_each_other_on_a_draft_and_the_second_approval_after_an_edit_is_refused(served, tabs):
    maria, alex = tabs
    with served.session() as session:
        draft = session.query(Draft).filter_by(status="pending").one()
    login(maria, served.url, "maria")
    login(alex, served.url, "alex")
    maria.goto(f"{served.url}/queue?draft={draft.id}")
    alex.goto(f"{served.url}/queue?draft={draft.id}")

    # Each sees the other, live: maria's page learns of alex at its next beat, without a reload.
    alex.wait_for_selector("#presence .others li:has-text('maria is viewing this draft')")
    maria.wait_for_selector("#presence .others li:has-text('alex is viewing this draft')")
    alex.wait_for_selector(f".row[data-draft='{draft.id}'] .row-presence .chip:has-text('maria is viewing')")

    # maria writes her own answer; alex sees her typing.
    mine = "Hi Sam! So sorry it fails. You can change your plan at https://help.acme.example/plans"
    maria.fill("#draft-text", mine)
    alex.wait_for_selector("#presence .others li.editing:has-text('maria is editing this draft')")

    # alex saves his edit first; maria's page warns her before she clicks.
    alex.fill("#draft-text", "Hi Sam! Here is how to change your plan: https://help.acme.example/plans")
    maria.wait_for_selector("#presence .others li.editing:has-text('alex is editing this draft')")
    alex.click("#save-edit")
    alex.wait_for_selector(".flash-ok")
    maria.wait_for_selector("#presence .stale-live:has-text('the draft was edited by alex')")

    # maria approves what she saw: refused, with what changed, and her text still in the box.
    maria.click("#approve")
    maria.wait_for_selector("#stale")
    reason = maria.inner_text("#stale")
    assert "the draft was edited by alex" in reason and "since you opened it" in reason
    assert "Here is how to change your plan" in reason  # what the draft says now
    assert maria.input_value("#draft-text") == mine
    assert served.posted() == []
    assert served.draft(draft.id).text.startswith("Hi Sam! Here is how")

    # Having read it, she approves her own text deliberately: it is sent, once.
    maria.click("#approve")
    maria.wait_for_selector(".flash-ok")
    assert [m.text for m in served.posted()] == [mine]
