"""Internal notes in a real browser (Debian's chromium through Playwright): maria asks alex, alex finds it."""

from __future__ import annotations

from bot.storage.models import OutboxMessage
from tests.console.test_browser import chromium, login, page, served  # noqa: F401 - fixtures and helpers
from tests.console.test_browser import pytestmark as browser_needed

pytestmark = browser_needed


def test_maria_writes_a_note_mentioning_alex_and_he_finds_it_in_his_inbox(page, served):  # noqa: F811
    case = served.case_of("h-1")
    login(page, served.url, "maria")
    page.goto(f"{served.url}/cases/{case.id}")
    page.fill("#note-text", "@alex <b>check</b> this one with the courier, please")
    page.click("#add-note")
    page.wait_for_selector(".flash-ok")
    note = page.locator(".thread .msg.note")
    assert note.count() == 1
    assert "internal note — not sent" in note.inner_text()
    assert "@alex <b>check</b> this one with the courier" in note.locator(".text").inner_text()  # shown as text
    assert note.locator("b").count() == 0
    assert page.locator("#inbox-link .count").count() == 0  # maria was not mentioned

    page.click("button.link")  # log out
    login(page, served.url, "alex")
    assert page.inner_text("#inbox-link .count") == "1"
    page.click("#inbox-link")
    page.wait_for_selector("table.inbox tr.unread")  # the click starts the page load; wait until it has rendered
    row = page.locator("table.inbox tr.unread")
    assert row.count() == 1 and "check</b> this one" in row.inner_text() and "maria" in row.inner_text()
    row.locator("button", has_text="Mark read").click()
    page.wait_for_selector(".flash-ok")
    assert page.locator("#inbox-link .count").count() == 0
    assert page.locator("table.inbox tr.read").count() == 1

    page.click(f"a[href^='/cases/{case.id}#note-']")
    page.wait_for_selector(".thread .msg.note")
    assert page.url.startswith(f"{served.url}/cases/{case.id}#note-")
    assert served.count(OutboxMessage) == 0
