"""Internal notes and the inbox in the console and the API: the team talks on a case, never to the customer."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from bot.storage.models import CaseNote, NoteMention, OutboxMessage
from tests.console.test_api import auth, token_for
from tests.console.test_queue import flash


@pytest.fixture
def api(console):
    with TestClient(console.app, base_url="http://127.0.0.1") as client:
        yield client


def two_messages_with_a_gap(console) -> int:
    """A customer writes, and writes again ten minutes later in the same thread; the case."""
    console.mention("@acme FIRST: my parcel never arrived", id="n-1", author="@ana")
    console.poll()
    console.clock.advance(minutes=10)
    console.mention("@acme SECOND: still nothing today", id="n-2", thread="n-1", in_reply_to="n-1", author="@ana")
    console.poll()
    return console.case_of("n-1").id


def inbox_count(page: str) -> str:
    """The unread count the Inbox link in the header shows ('' when none)."""
    match = re.search(r'id="inbox-link"[^>]*>Inbox(?: <span class="count"[^>]*>(\d+)</span>)?</a>', page)
    assert match, "the header has no Inbox link"
    return match.group(1) or ""


def test_an_agent_notes_a_case_and_the_note_sits_between_the_two_messages_in_time_order(browser, console):
    console.mention("@acme FIRST: my parcel never arrived", id="n-1", author="@ana")
    console.poll()
    case_id = console.case_of("n-1").id
    browser.login("alex")
    console.clock.advance(minutes=5)

    added = browser.post(f"/cases/{case_id}/notes", {"text": "MIDDLE: courier says it was left at a neighbour"})
    assert flash(added.text) == "ok: Note added; it stays inside the team."
    console.clock.advance(minutes=5)
    console.mention("@acme SECOND: still nothing today", id="n-2", thread="n-1", in_reply_to="n-1", author="@ana")
    console.poll()

    page = browser.get(f"/cases/{case_id}").text
    thread = page[page.index('<ol class="thread">') :]
    assert thread.index("FIRST:") < thread.index("MIDDLE:") < thread.index("SECOND:")
    note = re.search(r'<li class="msg note" id="note-\d+">(.*?)</li>', thread, re.S).group(1)
    assert "internal note — not sent" in note and "alex" in note and "MIDDLE:" in note
    assert console.count(OutboxMessage) == 0


def test_html_in_a_note_is_shown_as_text(browser, console):
    case_id = two_messages_with_a_gap(console)
    browser.login("alex")

    browser.post(f"/cases/{case_id}/notes", {"text": '<script>alert("x")</script><b>bold</b> @maria'})

    page = browser.get(f"/cases/{case_id}").text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in page
    assert "<script>alert" not in page and "<b>bold" not in page
    browser.client.cookies.clear()
    browser.login("maria")
    inbox = browser.get("/inbox").text
    assert "&lt;script&gt;" in inbox and "<script>alert" not in inbox


def test_an_empty_note_from_the_form_is_refused_with_the_reason(browser, console):
    case_id = two_messages_with_a_gap(console)
    browser.login("alex")

    refused = browser.post(f"/cases/{case_id}/notes", {"text": "   "})

    assert flash(refused.text) == "error: a note cannot be empty"
    assert console.count(CaseNote) == 0


def test_alex_finds_marias_mention_in_his_inbox_opens_the_case_and_marks_it_read(browser, console):
    case_id = two_messages_with_a_gap(console)
    browser.login("maria")
    browser.post(f"/cases/{case_id}/notes", {"text": "@alex can you phone the courier?"})
    browser.client.cookies.clear()

    home = browser.login("alex").text
    assert inbox_count(home) == "1"
    inbox = browser.get("/inbox").text
    assert "can you phone the courier?" in inbox and "maria" in inbox
    with console.session() as session:
        mention_id, note_id = session.query(NoteMention.id, NoteMention.note_id).one()
    assert f'href="/cases/{case_id}#note-{note_id}"' in inbox
    assert f'id="note-{note_id}"' in browser.get(f"/cases/{case_id}").text

    read = browser.post(f"/inbox/{mention_id}/read", {"back": "/inbox"})

    assert flash(read.text) == "ok: Marked read."
    assert inbox_count(read.text) == ""
    assert 'class="read"' in read.text and "Mark read</button>" not in read.text


def test_opening_the_case_reads_the_mention_and_leaves_others_mentions_unread(browser, console):
    case_id = two_messages_with_a_gap(console)
    browser.login("maria")
    browser.post(f"/cases/{case_id}/notes", {"text": "@alex @root the courier lost it"})
    browser.client.cookies.clear()

    assert inbox_count(browser.login("alex").text) == "1"
    page = browser.get(f"/cases/{case_id}").text

    assert inbox_count(page) == ""
    with console.session() as session:
        unread = {m.user.username for m in session.query(NoteMention).filter(NoteMention.read_at.is_(None))}
    assert unread == {"root"}


def test_nobody_marks_someone_elses_mention_read_from_the_page(browser, console):
    case_id = two_messages_with_a_gap(console)
    browser.login("maria")
    browser.post(f"/cases/{case_id}/notes", {"text": "@alex please look"})
    with console.session() as session:
        mention_id = session.query(NoteMention.id).scalar()

    refused = browser.post(f"/inbox/{mention_id}/read", {"back": "/inbox"})

    assert flash(refused.text) == f"error: there is no inbox item {mention_id}"
    with console.session() as session:
        assert session.get(NoteMention, mention_id).read_at is None


def test_without_a_login_or_a_csrf_token_nobody_leaves_a_note_or_reads_an_inbox(browser, console, api):
    case_id = two_messages_with_a_gap(console)

    assert browser.post(f"/cases/{case_id}/notes", {"text": "hello"}, csrf=False).status_code == 401
    assert browser.get("/inbox", follow_redirects=False).headers["location"].startswith("/login")
    assert api.post(f"/api/v1/cases/{case_id}/notes", json={"text": "hello"}).status_code == 401
    assert api.get("/api/v1/inbox").status_code == 401
    assert api.post("/api/v1/inbox/1/read").status_code == 401
    browser.login("alex")
    assert browser.post(f"/cases/{case_id}/notes", {"text": "hello"}, csrf=False).status_code == 403
    assert console.count(CaseNote) == 0


def test_a_crm_leaves_a_note_and_reads_the_inbox_through_the_api(api, console):
    case_id = two_messages_with_a_gap(console)
    alex, maria = auth(token_for(console, "alex")), auth(token_for(console, "maria"))

    note = api.post(f"/api/v1/cases/{case_id}/notes", json={"text": "@maria approve please, @acme"}, headers=alex)
    assert note.status_code == 200, note.text
    assert note.json()["mentioned"] == ["maria"] and note.json()["author"] == "alex"
    detail = api.get(f"/api/v1/cases/{case_id}", headers=alex).json()
    assert [n["text"] for n in detail["notes"]] == ["@maria approve please, @acme"]

    inbox = api.get("/api/v1/inbox", headers=maria).json()
    assert inbox["unread"] == 1
    [item] = inbox["items"]
    assert item["case_id"] == case_id and item["unread"] and item["note"]["id"] == note.json()["id"]
    assert api.post(f"/api/v1/inbox/{item['id']}/read", headers=alex).status_code == 404  # not alex's
    read = api.post(f"/api/v1/inbox/{item['id']}/read", headers=maria).json()
    assert read["unread"] is False and read["read_at"]
    assert api.get("/api/v1/inbox", headers=maria).json()["unread"] == 0

    empty = api.post(f"/api/v1/cases/{case_id}/notes", json={"text": ""}, headers=alex)
    assert empty.status_code == 400 and empty.json()["detail"] == "a note cannot be empty"
    assert api.post("/api/v1/cases/999/notes", json={"text": "x"}, headers=alex).status_code == 404
    assert console.count(OutboxMessage) == 0
