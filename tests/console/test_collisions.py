"""Several people on one desk: the API and the pages refuse a stale approval with what changed, and show claims."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from bot.storage.models import AuditEntry
from tests.console.conftest import Browser
from tests.console.test_api import auth, token_for


@pytest.fixture
def api(console):
    with TestClient(console.app, base_url="http://127.0.0.1") as client:
        yield client


@pytest.fixture
def second(console):
    """Another person's browser, next to `browser`."""
    with TestClient(console.app, base_url="http://127.0.0.1") as client:
        yield Browser(client)


def one_draft(console, text="@acme how do I change my plan online?", id="o-1"):
    console.mention(text, id=id, author="@ana")
    console.poll()
    [draft] = console.drafts()
    return draft


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"the page has no {name}"
    return match.group(1)


# ---- the API --------------------------------------------------------------------------------------------------


def test_an_api_approval_of_a_draft_edited_since_is_refused_with_409_and_who_edited_it(api, console):
    draft = one_draft(console)
    maria, alex = token_for(console, "maria"), token_for(console, "alex")
    seen = api.get(f"/api/v1/drafts/{draft.id}", headers=auth(maria)).json()
    console.clock.advance(minutes=2)
    edited = api.post(
        f"/api/v1/drafts/{draft.id}/edit",
        headers=auth(alex),
        json={"text": "@ana So sorry! We are checking with the courier, back within 30 minutes.", "draft_version": 0},
    )
    assert edited.status_code == 200 and edited.json()["version"] == 1

    body = {"draft_version": seen["version"], "case_version": seen["case_version"]}
    refused = api.post(f"/api/v1/drafts/{draft.id}/approve", headers=auth(maria), json=body)
    assert refused.status_code == 409
    assert "the draft was edited by alex at 09:02 since you opened it" in refused.json()["detail"]
    assert console.posted() == []

    fresh = api.get(f"/api/v1/drafts/{draft.id}", headers=auth(maria)).json()
    body = {"draft_version": fresh["version"], "case_version": fresh["case_version"]}
    sent = api.post(f"/api/v1/drafts/{draft.id}/approve", headers=auth(maria), json=body)
    assert sent.status_code == 200 and sent.json()["status"] == "sent"
    assert [m.text for m in console.posted()] == [fresh["text"]]


def test_an_api_approval_after_the_customer_wrote_again_is_refused_naming_the_message(api, console):
    draft = one_draft(console)
    maria = token_for(console, "maria")
    seen = api.get(f"/api/v1/drafts/{draft.id}", headers=auth(maria)).json()
    console.clock.advance(minutes=7)
    console.mention("@acme found it at the neighbour's, all good now", id="o-2", thread="o-1", in_reply_to="o-1")
    console.poll()

    body = {"draft_version": seen["version"], "case_version": seen["case_version"]}
    refused = api.post(f"/api/v1/drafts/{draft.id}/approve", headers=auth(maria), json=body)
    assert refused.status_code == 409
    assert (
        "the customer wrote again at 09:07: “@acme found it at the neighbour's, all good now”"
        in refused.json()["detail"]
    )
    assert console.posted() == []


def test_an_api_approval_without_versions_works_as_before(api, console):
    draft = one_draft(console)
    sent = api.post(f"/api/v1/drafts/{draft.id}/approve", headers=auth(token_for(console, "maria")), json={})
    assert sent.status_code == 200 and len(console.posted()) == 1


def test_an_agent_claims_through_the_api_others_get_409_and_a_role_without_the_permission_gets_403(api, console):
    draft = one_draft(console)
    alex, maria = token_for(console, "alex"), token_for(console, "maria")
    claimed = api.post(f"/api/v1/cases/{draft.case_id}/claim", headers=auth(alex))
    assert claimed.status_code == 200
    assert claimed.json()["claimed_by"] == "alex" and claimed.json()["claimed_until"].startswith("2026-01-05T09:30:00")
    assert api.get("/api/v1/cases", headers=auth(maria)).json()["cases"][0]["claimed_by"] == "alex"

    taken = api.post(f"/api/v1/cases/{draft.case_id}/claim", headers=auth(maria))
    assert taken.status_code == 409 and "claimed by alex until 2026-01-05 09:30 UTC" in taken.json()["detail"]
    assert api.post(f"/api/v1/cases/{draft.case_id}/release", headers=auth(maria)).status_code == 409
    # An agent may claim, but not approve: the API says which permission is missing.
    refused = api.post(f"/api/v1/drafts/{draft.id}/approve", headers=auth(alex), json={})
    assert refused.status_code == 403 and "'approve' permission" in refused.json()["detail"]

    released = api.post(f"/api/v1/cases/{draft.case_id}/release", headers=auth(alex))
    assert released.status_code == 200 and released.json()["claimed_by"] is None
    console.clock.advance(minutes=1)
    assert api.post(f"/api/v1/cases/{draft.case_id}/claim", headers=auth(maria)).json()["claimed_by"] == "maria"
    console.clock.advance(minutes=31)
    assert api.get(f"/api/v1/cases/{draft.case_id}", headers=auth(alex)).json()["claimed_by"] is None  # expired
    with console.session() as session:
        assert [e.action for e in session.query(AuditEntry).filter_by(object_type="case").order_by(AuditEntry.id)] == [
            "claim",
            "release",
            "claim",
        ]


# ---- the pages --------------------------------------------------------------------------------------------------


def test_a_stale_approval_in_the_queue_is_refused_on_the_page_and_keeps_the_persons_text(browser, second, console):
    draft = one_draft(console)
    browser.login("maria")
    page = browser.get(f"/queue?draft={draft.id}").text
    versions = {"draft_version": hidden(page, "draft_version"), "case_version": hidden(page, "case_version")}
    second.login("alex")
    second.post(
        f"/drafts/{draft.id}/edit", {"text": "@ana Sorry! Checking now.", "draft_version": "0", "back": "/queue"}
    )

    mine = "@ana We are so sorry! A replacement ships today, tracking within 30 minutes."
    refused = browser.post(f"/drafts/{draft.id}/approve", {"text": mine, "back": "/queue", **versions})
    assert refused.status_code == 409
    text = html.unescape(refused.text)
    assert "the draft was edited by alex at 09:00 since you opened it" in text
    assert "The draft now reads: “@ana Sorry! Checking now.”" in text
    assert f">{mine}</textarea>" in text  # the person's own text is still in the box
    assert console.posted() == []

    again = browser.post(
        f"/drafts/{draft.id}/approve",
        {"text": mine, "back": "/queue", "draft_version": hidden(refused.text, "draft_version"), "case_version": "1"},
    )
    assert "approved and posted" in html.unescape(again.text)
    assert [m.text for m in console.posted()] == [mine]


def test_a_case_claimed_on_its_page_shows_to_others_in_the_queue_and_on_the_case(browser, second, console):
    draft = one_draft(console)
    second.login("alex")
    claimed = second.post(f"/cases/{draft.case_id}/claim")
    assert "You are on case" in claimed.text and 'id="release"' in claimed.text

    browser.login("maria")
    case_page = browser.get(f"/cases/{draft.case_id}").text
    assert "<strong>alex</strong> is on it until 2026-01-05 09:30" in case_page and 'id="claim"' not in case_page
    assert "alex is on it" in browser.get("/queue").text
    refused = browser.post(f"/cases/{draft.case_id}/claim")
    assert "claimed by alex until 2026-01-05 09:30 UTC" in html.unescape(refused.text)

    second.post(f"/cases/{draft.case_id}/release")
    assert 'id="claimed-by"' not in browser.get(f"/cases/{draft.case_id}").text


def test_bulk_approval_checks_each_rows_versions_but_not_against_its_own_sends(browser, second, console):
    draft = one_draft(console)
    browser.login("maria")
    browser.post(f"/cases/{draft.case_id}/private")  # the invitation and the private opener, one case
    console.mention("@acme is the shop open on Sunday?", id="s-1", author="@sam")
    console.poll()
    page = browser.get("/queue").text
    rows = dict(re.findall(r'name="(seen_\d+)" value="([^"]*)"', page))
    assert len(rows) == 3
    other = console.drafts()[-1]
    second.login("alex")
    second.post(f"/drafts/{other.id}/edit", {"text": "Hi Sam! Yes, 10:00 to 14:00.", "draft_version": "0"})

    done = browser.post(
        "/drafts/approve", {"draft_ids": [k.removeprefix("seen_") for k in rows], "back": "/queue", **rows}
    )
    message = html.unescape(done.text)
    assert "2 of 3 draft(s) approved and posted" in message
    assert f"#{other.id}: draft {other.id} was not sent: the draft was edited by alex" in message
    assert sorted(console.draft(i).kind for i in {m.draft_id for m in console.posted()}) == [
        "invitation",
        "private_message",
    ]
