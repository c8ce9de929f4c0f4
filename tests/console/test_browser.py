"""A community manager's day in a real browser (Debian's chromium through Playwright), against the served console."""

from __future__ import annotations

import os
import shutil

import pytest

from bot.console import create_app
from bot.console.server import ConsoleServer, free_port
from bot.storage.models import Draft
from tests.console.conftest import PASSWORD, add_users
from tests.harness import Desk

CHROMIUM = os.environ.get("BOT_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HOSTILE = [
    "<script>alert(1)</script> my internet is down and not working",
    "<img src=x onerror=alert(1)> still broken, not working",
]

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(
    not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM),
    reason=f"no chromium at {CHROMIUM} (apt-get install chromium)",
)


@pytest.fixture(scope="module")
def chromium():
    """One browser for the module's tests."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def served(tmp_path, database_url, shared_triager):
    """A desk with users and mentions (two of them hostile), and the console served on a free port."""
    desk = Desk(tmp_path, database_url, triager=shared_triager)
    add_users(desk)
    desk.mention("@acme my order never arrived, it's been two weeks", id="o-1", author="@ana")
    desk.mention(HOSTILE[0], id="h-1", author="@mallory")
    desk.mention(HOSTILE[1], id="h-2", author="@eve")
    desk.mention("@acme how do I change my plan online?", id="q-1", author="@sam")
    desk.poll()
    server = ConsoleServer(create_app(desk.service), "127.0.0.1", free_port())
    server.start()
    desk.url = server.url
    yield desk
    server.stop()
    desk.service.engine.dispose()


@pytest.fixture
def page(chromium, served):
    """A fresh browser tab in which any alert() or confirm() fails the test."""
    context = chromium.new_context()
    tab = context.new_page()
    dialogs: list[str] = []
    tab.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    tab.set_default_timeout(10000)
    yield tab
    context.close()
    assert dialogs == [], f"a dialog opened: script from a mention ran ({dialogs})"


def login(page, url: str, username: str) -> None:
    page.goto(url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/queue**")


def open_draft(page, desk, mention_id: str) -> Draft:
    case = desk.case_of(mention_id)
    with desk.session() as session:
        draft = session.query(Draft).filter_by(case_id=case.id, status="pending").order_by(Draft.id).first()
    page.goto(f"{desk.url}/queue?draft={draft.id}")
    return draft


def test_an_approver_approves_edits_and_rejects_drafts_and_the_sandbox_posts_them(page, served):
    login(page, served.url, "maria")
    assert page.locator(".rows .row").count() >= 4

    draft = open_draft(page, served, "o-1")
    page.click("#approve")
    page.wait_for_selector(".flash-ok")
    assert f"Draft {draft.id} approved and posted as sandbox-" in page.inner_text(".flash-ok")
    [posted] = served.posted()
    assert posted.draft_id == draft.id and posted.target_id == "o-1"

    draft = open_draft(page, served, "q-1")
    page.fill("#draft-text", "Hi Sam! You can change your plan online at https://help.acme.example/plans")
    page.click("#approve")
    page.wait_for_selector(".flash-ok")
    assert served.posted()[-1].text == "Hi Sam! You can change your plan online at https://help.acme.example/plans"
    assert served.draft(draft.id).original_text != served.draft(draft.id).text

    draft = open_draft(page, served, "h-2")
    page.fill("#reject-reason", "a joke, not a customer")
    page.click("#reject")
    page.wait_for_selector(".flash-ok")
    rejected = served.draft(draft.id)
    assert rejected.status == "rejected" and rejected.reject_reason == "a joke, not a customer"

    draft = open_draft(page, served, "h-1")
    page.keyboard.press("a")  # one key approves the draft on screen
    page.wait_for_selector(".flash-ok")
    assert served.draft(draft.id).status == "sent" and len(served.posted()) == 3

    page.goto(served.url + "/audit")
    actions = page.locator("table.audit tbody tr td:nth-child(3)").all_inner_texts()
    assert {"approve", "edit and approve", "reject", "send"} <= set(actions)


def test_hostile_mention_text_shows_as_text_and_runs_nothing(page, served):
    login(page, served.url, "maria")
    open_draft(page, served, "h-1")
    assert HOSTILE[0] in page.inner_text(".mention-text")
    assert page.locator(".detail script").count() == 0
    open_draft(page, served, "h-2")
    assert HOSTILE[1] in page.inner_text(".mention-text")
    assert page.locator("img[src=x]").count() == 0
    case = served.case_of("h-2")
    page.goto(f"{served.url}/cases/{case.id}")
    assert HOSTILE[1] in page.inner_text(".thread")
    page.goto(f"{served.url}/customers/{case.customer_id}")
    assert HOSTILE[1] in page.inner_text(".thread")
    page.goto(served.url + "/kpis")
    assert page.locator("img[src=x]").count() == 0


def test_an_agent_can_edit_but_not_approve(page, served):
    login(page, served.url, "alex")
    draft = open_draft(page, served, "o-1")
    assert page.locator("#approve").count() == 0
    page.fill("#draft-text", "Hi Ana, so sorry: we are tracing your order now and will write within 30 minutes.")
    page.click("#save-edit")
    page.wait_for_selector(".flash-ok")
    assert served.draft(draft.id).text.startswith("Hi Ana, so sorry")
    assert served.draft(draft.id).status == "pending"
    assert served.posted() == []


def test_cases_customers_and_a_kpi_chart_in_the_browser(page, served):
    login(page, served.url, "maria")
    case = served.case_of("o-1")
    page.goto(served.url + "/cases")
    page.click(f"a[href='/cases/{case.id}']")
    page.wait_for_selector("h1")
    assert f"Case {case.id}" in page.inner_text("h1")
    assert "my order never arrived" in page.inner_text(".thread")
    page.fill("#resolve-summary", "a replacement ships today")
    page.click("#resolve")
    page.wait_for_selector(".flash-ok")
    assert served.case_of("o-1").state == "resolved"

    page.click(f"a[href='/customers/{case.customer_id}']")
    page.wait_for_selector("h2:has-text('Identities')")
    assert "@ana" in page.inner_text("table.grid")

    page.goto(served.url + "/kpis")
    chart = page.locator("svg.chart[data-chart=category]")
    assert chart.is_visible()
    assert chart.locator("rect").count() > 1
    box = chart.bounding_box()
    assert box["width"] > 300 and box["height"] > 100
    assert page.inner_text("#kpi-mentions") == "4"


def test_an_admin_saves_a_reply_and_an_agent_inserts_it_into_a_draft(page, served):
    login(page, served.url, "root")
    page.click("a[href='/macros']")
    page.fill("#new-name", "tracing")
    page.fill("#new-text", "Sorry, {{ customer.handle }}: we are tracing case {{ case.reference }} now.")
    page.fill("#new-tags", "tracing")
    page.click("#macro-create button[type=submit]")
    page.wait_for_selector(".flash-ok")
    assert "tracing" in page.inner_text("#macros")
    page.click("form[action='/logout'] button")

    login(page, served.url, "alex")
    draft = open_draft(page, served, "o-1")
    page.select_option(f"#macro-name-{draft.id}", "tracing")
    page.click(f"#insert-macro-{draft.id}")
    page.wait_for_selector(".flash-ok")
    expected = f"Sorry, @ana: we are tracing case #{draft.case_id} now."
    assert page.input_value("#draft-text") == expected
    assert served.draft(draft.id).text == expected and served.posted() == []


def test_a_case_is_tagged_found_by_its_tag_and_its_message_hidden_and_shown_again(page, served):
    case = served.case_of("o-1")
    login(page, served.url, "maria")
    page.goto(f"{served.url}/cases/{case.id}")
    page.fill("#new-tag", "Late Delivery")
    page.click("#case-tags button:has-text('Tag')")
    page.wait_for_selector(".flash-ok")
    assert "late delivery" in page.inner_text("#case-tags")

    page.goto(served.url + "/queue")
    page.select_option("select[name=tag]", "late delivery")
    page.click(".filters button[type=submit]")
    page.wait_for_url("**tag=late+delivery**")
    shown = page.locator(".rows .excerpt").all_inner_texts()
    assert shown and set(shown) == {"@acme my order never arrived, it's been two weeks"}  # its drafts, no others

    page.goto(f"{served.url}/cases/{case.id}")
    page.click("#moderation button:has-text('Hide')")
    page.wait_for_selector(".flash-ok")
    assert "hidden by maria" in page.inner_text("#moderation")
    assert "hidden" in page.inner_text(".thread .meta")
    assert "maria hide mention" in page.inner_text(".case-side")  # audited, on the case's page
    page.click("#moderation button:has-text('Unhide')")
    page.wait_for_selector(".flash-ok")
    assert "hidden by" not in page.inner_text("#moderation")
    assert served.sandbox().hidden == {"o-1": False}
