"""Presence: each open case or draft says so every few seconds, and everyone else sees who is viewing or editing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bot.console import presence
from bot.errors import UserError
from bot.storage.models import Presence
from tests.console.conftest import Browser


@pytest.fixture
def second(console):
    """Another person's browser, next to `browser`."""
    with TestClient(console.app, base_url="http://127.0.0.1") as client:
        yield Browser(client)


@pytest.fixture
def draft(console):
    console.mention("@acme how do I change my plan online?", id="q-1", author="@ana")
    console.poll()
    [draft] = console.drafts()
    return draft


def beat(client: Browser, object_type: str, object_id: int, **fields):
    response = client.post(
        "/presence", {"object_type": object_type, "object_id": str(object_id), **fields}, follow_redirects=False
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_two_people_on_one_draft_see_each_other_and_who_is_editing(browser, second, console, draft):
    browser.login("maria")
    second.login("alex")
    assert beat(browser, "draft", draft.id)["others"] == []
    assert [p["text"] for p in beat(second, "draft", draft.id)["others"]] == ["maria is viewing this draft"]
    beat(second, "draft", draft.id, editing="1")
    [alex] = beat(browser, "draft", draft.id)["others"]
    assert alex["name"] == "alex" and alex["editing"] is True and alex["text"] == "alex is editing this draft"


def test_the_case_page_sees_who_has_its_drafts_open_and_the_queue_rows_show_it(browser, second, console, draft):
    browser.login("maria")
    second.login("alex")
    beat(second, "draft", draft.id, editing="1")
    assert [p["text"] for p in beat(browser, "case", draft.case_id)["others"]] == [f"alex is editing draft #{draft.id}"]
    assert beat(browser, "case", draft.case_id, watch=str(draft.id))["watched"][str(draft.id)][0]["editing"] is True
    assert "alex is editing" in browser.get("/queue").text  # drawn by the server before any script runs
    assert f"alex is editing draft #{draft.id}" in browser.get(f"/cases/{draft.case_id}").text


def test_someone_who_left_or_went_quiet_no_longer_shows(browser, second, console, draft):
    browser.login("maria")
    second.login("alex")
    beat(second, "draft", draft.id)
    assert len(beat(browser, "draft", draft.id)["others"]) == 1
    beat(second, "draft", draft.id, gone="1")
    assert beat(browser, "draft", draft.id)["others"] == []

    beat(second, "draft", draft.id)
    console.clock.advance(seconds=31)  # console.presence_seconds is 30
    assert beat(browser, "draft", draft.id)["others"] == []


def test_the_heartbeat_says_when_the_draft_changed_since_the_page_was_drawn(browser, second, console, draft):
    browser.login("maria")
    second.login("alex")
    assert beat(browser, "draft", draft.id, draft_version="0", case_version="1")["changed"] == []
    second.post(f"/drafts/{draft.id}/edit", {"text": "Hi Ana! Here is how: https://help.acme.example/plans"})
    changed = beat(browser, "draft", draft.id, draft_version="0", case_version="1")["changed"]
    assert changed == ["the draft was edited by alex at 09:00 since you opened it"]


def test_the_heartbeat_needs_a_login_and_the_csrf_token_and_a_real_object(browser, console, draft):
    response = browser.post("/presence", {"object_type": "draft", "object_id": str(draft.id)}, csrf=False)
    assert response.status_code == 401
    browser.login("maria")
    response = browser.post("/presence", {"object_type": "draft", "object_id": str(draft.id)}, csrf=False)
    assert response.status_code == 403
    missing = browser.post("/presence", {"object_type": "draft", "object_id": "999"})
    assert missing.status_code == 404 and missing.json()["detail"] == "there is no draft 999"
    assert browser.post("/presence", {"object_type": "user", "object_id": "1"}).status_code == 400
    assert console.count(Presence) == 0


def test_one_row_per_person_and_object_however_often_they_beat(console, draft):
    with console.session() as session:
        for _ in range(3):
            presence.beat(session, 1, "draft", draft.id, False, console.clock.now())
            session.flush()
        presence.beat(session, 1, "draft", draft.id, True, console.clock.now())
    with console.session() as session:
        [row] = session.query(Presence).all()
        assert row.editing is True
    with pytest.raises(UserError):
        presence.check_object("mention", 1)
