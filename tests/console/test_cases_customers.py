"""Cases and customers in the console: thread, history, clocks, move to private, resolve, reopen, assign, link."""

from __future__ import annotations

from bot.storage.models import Case, Customer, Identity
from tests.console.test_queue import flash


def test_a_case_page_shows_the_thread_public_and_private_its_history_and_clocks(browser, console):
    console.mention("@acme you charged my card twice, I want a refund", id="b-1", author="@ana")
    console.poll()
    for draft in console.drafts():
        console.approve(draft.id)
    console.mention("my account number ends in 1234", id="b-2", channel="private", author="@ana")
    console.poll()
    case = console.case_of("b-1")
    browser.login("maria")

    page = browser.get(f"/cases/{case.id}").text

    assert "you charged my card twice" in page and "my account number ends in 1234" in page
    assert "ch-private" in page and "msg brand" in page  # the brand's replies sit in the thread too
    assert "moved private" in page  # the state history
    assert 'data-seconds="' in page  # a live countdown


def test_move_to_private_resolve_and_reopen_from_the_case_page(browser, console):
    console.mention("@acme my order never arrived, it's been two weeks", id="o-1")
    console.poll()
    console.approve(console.drafts()[0].id)
    case = console.case_of("o-1")
    browser.login("alex")

    moved = browser.post(f"/cases/{case.id}/private")
    assert "Invitation and private opener drafted" in flash(moved.text)
    assert {d.kind for d in console.drafts()} == {"invitation", "private_message"}

    resolved = browser.post(f"/cases/{case.id}/resolve", {"summary": "a replacement ships today"})
    assert "public close was drafted" in flash(resolved.text)
    [close] = console.drafts()
    assert close.kind == "close" and "replacement ships today" in close.text
    assert console.case_of("o-1").state == "resolved"

    reopened = browser.post(f"/cases/{case.id}/reopen", {"note": "the replacement was also broken"})
    assert flash(reopened.text) == "ok: Case reopened."
    again = console.case_of("o-1")
    assert again.state == "new" and again.reopen_count == 1 and again.resolved_at is None


def test_assigning_a_case_records_it_and_gives_the_customer_one_interlocutor(browser, console):
    console.mention("@acme my order never arrived, it's been two weeks", id="o-1")
    console.poll()
    case = console.case_of("o-1")
    browser.login("maria")
    page = browser.post(f"/cases/{case.id}/assign", {"owner": "alex"})
    assert "Case assigned to alex" in flash(page.text)
    assert "assigned to alex" in page.text  # in the history
    with console.session() as session:
        owner_id = session.get(Case, case.id).owner_id
        assert session.get(Customer, case.customer_id).owner_id == owner_id
    assert "no active user" in flash(browser.post(f"/cases/{case.id}/assign", {"owner": "ghost"}).text)


def test_two_identities_of_one_person_are_linked_by_hand(browser, console):
    console.mention("@acme my order never arrived, it's been two weeks", id="o-1", author="@ana", platform="x")
    console.mention(
        "Still no order, I wrote on X too", id="f-1", author="@ana.fb", platform="facebook", author_name="Ana Lopez"
    )
    console.poll()
    x_case, fb_case = console.case_of("o-1"), console.case_of("f-1")
    assert x_case.customer_id != fb_case.customer_id
    browser.login("alex")

    found = browser.get(f"/customers/{x_case.customer_id}?find=ana lopez").text
    assert "Ana Lopez" in found
    with console.session() as session:
        fb_identity = session.query(Identity).filter_by(platform="facebook").one()
    linked = browser.post(f"/customers/{x_case.customer_id}/link", {"identity_id": fb_identity.id})

    assert "linked to this customer" in flash(linked.text)
    assert "Still no order" in linked.text and "my order never arrived" in linked.text
    assert console.case_of("f-1").customer_id == x_case.customer_id
    with console.session() as session:
        assert session.get(Customer, fb_case.customer_id) is None  # the emptied record is gone
    assert "link identity" in browser.get("/audit").text


def test_the_customers_list_finds_people_by_handle(browser, console):
    console.mention("@acme my order never arrived", id="o-1", author="@ana")
    console.mention("@acme love the new app", id="p-1", author="@zoe")
    console.poll()
    browser.login("alex")
    page = browser.get("/customers?q=zoe").text
    assert "x: @zoe" in page and "x: @ana" not in page


def test_the_accounts_page_shows_each_accounts_health_and_budget(browser, console):
    console.poll()
    browser.login("alex")
    page = browser.get("/accounts").text
    assert "brand" in page and "health-ok" in page and "API calls / hour" in page


def test_sla_warnings_and_breaches_show_on_the_case(browser, console):
    from bot.service_levels import sla

    console.mention("@acme my internet is down since this morning, not working", id="d-1")
    console.poll()
    console.clock.advance(hours=2)
    sla.run(console.service)
    case = console.case_of("d-1")
    browser.login("alex")
    page = browser.get(f"/cases/{case.id}").text
    assert "SLA breach (first response" in page
    assert "overdue by" in page
