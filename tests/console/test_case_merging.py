"""Merging and splitting cases from the console and the API: the forms, the roles, the refusals."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.storage.models import AuditEntry, Case, Mention
from tests.console.test_api import auth, token_for
from tests.console.test_queue import flash

DM = "my order never arrived, can you check what happened?"
COMMENT = "@acme my internet has been down since this morning and it's still not working"


@pytest.fixture
def api(console):
    with TestClient(console.app, base_url="http://127.0.0.1") as client:
        yield client


def two_cases(console) -> tuple[Case, Case]:
    """Ana's DM, then her public comment: two cases of one customer."""
    console.mention(DM, author="@ana", id="dm-1", thread="dm-ana", channel="private")
    console.poll()
    console.clock.advance(minutes=10)
    console.mention(COMMENT, author="@ana", id="c-1", thread="t-1")
    console.poll()
    return console.case_of("dm-1"), console.case_of("c-1")


def mention_id(console, platform_id: str) -> int:
    with console.session() as session:
        return session.scalar(select(Mention.id).where(Mention.platform_id == platform_id))


def test_an_agent_merges_a_case_into_another_of_the_same_customer_from_the_case_page(browser, console):
    dm, comment = two_cases(console)
    browser.login("alex")
    page = browser.get(f"/cases/{dm.id}").text
    assert 'id="merge-into"' in page and f'<option value="{comment.id}">' in page

    merged = browser.post(f"/cases/{dm.id}/merge", {"into_case_id": str(comment.id)})

    assert flash(merged.text) == f"ok: Case {dm.id} merged into this case."
    assert str(merged.url).endswith(f"/cases/{comment.id}")
    assert DM in merged.text and "still not working" in merged.text  # one thread now
    assert f'<a href="/cases/{dm.id}">#{dm.id}</a> was merged into this one' in merged.text
    absorbed = browser.get(f"/cases/{dm.id}").text
    assert f'This case was merged into <a href="/cases/{comment.id}">case #{comment.id}</a>' in absorbed
    assert 'id="merge-into"' not in absorbed and 'id="reopen"' not in absorbed and "split-" not in absorbed
    refused = browser.post(f"/cases/{dm.id}/reopen", {"note": "by mistake"})
    assert flash(refused.text).startswith(f"error: case {dm.id} is merged into case {comment.id}")
    customer = browser.get(f"/customers/{comment.customer_id}").text
    assert (
        "1 case(s)" in customer and f'/cases/{dm.id}"' not in customer.split("<h2>Cases</h2>")[1].split("</section>")[0]
    )


def test_a_case_page_refuses_a_merge_with_another_customer_and_offers_only_her_cases(browser, console):
    console.mention(COMMENT, author="@ana", id="c-1")
    console.mention(COMMENT, author="@bob", id="c-2")
    console.poll()
    ana, bob = console.case_of("c-1"), console.case_of("c-2")
    browser.login("alex")
    assert 'id="merge-into"' not in browser.get(f"/cases/{ana.id}").text  # she has no other case

    refused = browser.post(f"/cases/{ana.id}/merge", {"into_case_id": str(bob.id)})

    assert "link the identities first" in flash(refused.text)
    assert console.case_of("c-1").merged_into_id is None


def test_splitting_a_message_from_the_case_page_opens_a_new_case(browser, console):
    console.mention(COMMENT, author="@ana", id="c-1", thread="t-1")
    console.poll()
    console.mention(DM, author="@ana", id="dm-1", thread="dm-ana", channel="private")
    console.poll()
    case = console.case_of("c-1")
    dm = mention_id(console, "dm-1")
    browser.login("alex")
    assert f'id="split-{dm}"' in browser.get(f"/cases/{case.id}").text

    split = browser.post(f"/mentions/{dm}/split", {"back": f"/cases/{case.id}"})

    new = console.case_of("dm-1")
    assert new.id != case.id and flash(split.text) == f"ok: The message was split into this new case {new.id}."
    assert "split from case" in split.text
    only = browser.post(f"/mentions/{mention_id(console, 'c-1')}/split", {"back": f"/cases/{case.id}"})
    assert "only message" in flash(only.text)


def test_the_case_forms_need_a_login_and_the_csrf_token(browser, console):
    dm, comment = two_cases(console)
    anonymous = browser.post(f"/cases/{dm.id}/merge", {"into_case_id": str(comment.id)}, follow_redirects=False)
    assert anonymous.status_code == 401  # a form post without a session is refused, not redirected
    assert console.case_of("dm-1").merged_into_id is None
    browser.login("alex")
    forged = browser.post(f"/cases/{dm.id}/merge", {"into_case_id": str(comment.id)}, csrf=False)
    assert forged.status_code == 403 and console.case_of("dm-1").merged_into_id is None


def test_the_api_merges_with_the_case_permission_and_refuses_callers_without_a_token(api, console):
    dm, comment = two_cases(console)
    body = {"other_case_id": dm.id}
    assert api.post(f"/api/v1/cases/{comment.id}/merge", json=body).status_code == 401
    assert api.post(f"/api/v1/cases/{comment.id}/merge", json=body, headers=auth("mdk_nope")).status_code == 401
    token = token_for(console, "alex")  # an agent: the 'case' permission

    merged = api.post(f"/api/v1/cases/{comment.id}/merge", json=body, headers=auth(token))

    assert merged.status_code == 200, merged.text
    detail = merged.json()
    assert detail["id"] == comment.id and len(detail["mentions"]) == 2 and detail["merged_into_id"] is None
    absorbed = api.get(f"/api/v1/cases/{dm.id}", headers=auth(token)).json()
    assert absorbed["state"] == "merged" and absorbed["merged_into_id"] == comment.id
    again = api.post(f"/api/v1/cases/{comment.id}/merge", json=body, headers=auth(token))
    assert again.status_code == 400 and "already merged" in again.json()["detail"]
    missing = api.post("/api/v1/cases/999/merge", json=body, headers=auth(token))
    assert missing.status_code == 404
    listed = api.get("/api/v1/cases?state=", headers=auth(token)).json()
    assert [c["id"] for c in listed["cases"]] == [comment.id]
    with console.session() as session:
        assert session.scalar(select(AuditEntry.actor).where(AuditEntry.action == "merge")) == "alex"


def test_the_api_splits_a_message_out_and_refuses_the_only_one(api, console):
    console.mention(COMMENT, author="@ana", id="c-1", thread="t-1")
    console.poll()
    console.mention(DM, author="@ana", id="dm-1", thread="dm-ana", channel="private")
    console.poll()
    case = console.case_of("c-1")
    dm = mention_id(console, "dm-1")
    assert api.post(f"/api/v1/mentions/{dm}/split").status_code == 401
    token = token_for(console, "maria")

    split = api.post(f"/api/v1/mentions/{dm}/split", headers=auth(token))

    assert split.status_code == 200, split.text
    new = split.json()
    assert new["id"] != case.id and [m["platform_id"] for m in new["mentions"]] == ["dm-1"]
    only = api.post(f"/api/v1/mentions/{mention_id(console, 'c-1')}/split", headers=auth(token))
    assert only.status_code == 400 and "only message" in only.json()["detail"]
    assert api.post("/api/v1/mentions/999/split", headers=auth(token)).status_code == 404
