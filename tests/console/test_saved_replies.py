"""Saved replies in the console and the API: admins manage them, agents and approvers insert them into drafts."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.casework import macros, tags
from bot.storage.models import AuditEntry, Macro
from tests.console.test_api import auth, token_for
from tests.console.test_queue import flash

COMPLAINT = "@acme the app crashes on start, still waiting for a fix"


def save(console, name, language, text, actions=None):
    with console.session() as session:
        return macros.create(
            session,
            console.config,
            console.service.renderer,
            name,
            language,
            text,
            actions,
            "root",
            console.clock.now(),
        ).id


def one_draft(console, text=COMPLAINT, author_name=None, lang=None):
    console.mention(text, id="c-1", author="@ana", author_name=author_name, lang=lang)
    console.poll()
    [draft] = console.drafts()
    return draft


def textarea(page: str) -> str:
    match = re.search(r'<textarea id="draft-text"[^>]*>([^<]*)</textarea>', page)
    assert match, "the page shows no editable draft"
    return html.unescape(match.group(1))


@pytest.fixture
def api(console):
    with TestClient(console.app, base_url="http://127.0.0.1") as client:
        yield client


def test_an_admin_adds_edits_and_deletes_a_saved_reply_from_the_console(browser, console):
    browser.login("root")
    assert 'href="/macros"' in browser.get("/queue").text

    created = browser.post(
        "/macros",
        {
            "name": "Still-On-It",
            "language": "es",
            "text": "Seguimos con tu caso {{ case.reference }}, {{ customer.first_name }}.",
            "tags": "follow-up, VIP",
            "assign": "maria",
        },
    )
    assert created.status_code == 200
    assert flash(created.text) == "ok: Saved reply still-on-it (es) created."
    with console.session() as session:
        [macro] = macros.list_macros(session)
        assert (macro.name, macro.language, macro.created_by) == ("still-on-it", "es", "root")
        assert macro.actions == {"tags": ["follow-up", "vip"], "assign": "maria"}
    assert "Seguimos con tu caso {{ case.reference }}" in html.unescape(created.text)

    edited = browser.post(
        f"/macros/{macro.id}",
        {
            "name": "still-on-it",
            "language": "es",
            "text": "Seguimos con ello, {{ customer.first_name }}.",
            "resolve": "true",
        },
    )
    assert flash(edited.text) == "ok: Saved reply still-on-it (es) saved."
    with console.session() as session:
        assert session.get(Macro, macro.id).actions == {"resolve": True}

    deleted = browser.post(f"/macros/{macro.id}/delete")
    assert flash(deleted.text) == f"ok: Saved reply {macro.id} deleted."
    with console.session() as session:
        assert session.get(Macro, macro.id) is None
        actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.actor == "root")))
    assert {"macro_create", "macro_update", "macro_delete"} <= set(actions)


def test_a_mistake_in_a_saved_reply_is_shown_with_its_line_and_the_typed_text_is_kept(browser, console):
    browser.login("root")
    typed = "Hello {{ customer.first_name }},\nyour order {{ order.number }} ships today."

    page = browser.post("/macros", {"name": "ships", "language": "en", "text": typed})

    assert page.status_code == 400
    assert "saved reply &#39;ships&#39; (en), line 2: unknown variable &#39;order&#39;" in page.text
    assert html.unescape(typed) in html.unescape(page.text)  # in the form again, to fix
    assert console.count(Macro) == 0


def test_only_admins_manage_saved_replies(browser, console):
    save(console, "thanks", "en", "Thanks!")
    browser.login("maria")
    assert 'href="/macros"' not in browser.get("/queue").text
    assert browser.get("/macros").status_code == 403
    refused = browser.post("/macros", {"name": "mine", "language": "en", "text": "Hi"})
    assert refused.status_code == 403
    assert browser.post("/macros/1/delete").status_code == 403
    assert console.count(Macro) == 1


def test_an_agent_inserts_a_saved_reply_into_a_draft_and_the_text_waits_for_approval(browser, console):
    save(
        console,
        "still-on-it",
        "en",
        "Sorry, {{ customer.first_name }}: case {{ case.reference }} is moving.",
        {"tags": ["follow-up"]},
    )
    save(console, "still-on-it", "es", "Lo sentimos, {{ customer.first_name }}: el caso {{ case.reference }} avanza.")
    draft = one_draft(console, author_name="<b>Ana</b> {{ 7*7 }}")
    browser.login("alex")
    queue = browser.get(f"/queue?draft={draft.id}").text
    assert "Insert saved reply" in queue and "<option>still-on-it</option>" in queue

    after = browser.post(f"/drafts/{draft.id}/macro", {"name": "still-on-it", "back": "/queue"})

    assert after.status_code == 200
    assert flash(after.text).startswith(f"ok: Saved reply still-on-it inserted into draft {draft.id}")
    assert f"draft={draft.id}" in str(after.url)
    text = textarea(after.text)
    assert text == f"Sorry, <b>Ana</b>: case #{draft.case_id} is moving."
    assert "<b>Ana</b>" not in after.text  # escaped in the page
    assert console.draft(draft.id).status == "pending" and console.posted() == []
    with console.session() as session:
        assert tags.tags_of(session, draft.case_id) == ["follow-up"]


def test_the_case_page_offers_the_picker_on_its_pending_draft(browser, console):
    save(console, "all-sorted", "en", "Glad it's sorted, {{ customer.first_name }}!", {"resolve": True})
    draft = one_draft(console, author_name="Ana Pérez")
    browser.login("maria")
    page = browser.get(f"/cases/{draft.case_id}").text
    assert f'action="/drafts/{draft.id}/macro"' in page

    after = browser.post(f"/drafts/{draft.id}/macro", {"name": "all-sorted", "back": f"/cases/{draft.case_id}"})

    assert "resolved the case" in flash(after.text)
    assert console.case_of("c-1").state == "resolved"
    [close] = console.drafts()
    assert close.kind == "close" and close.text == "Glad it's sorted, Ana!"


def test_an_unknown_saved_reply_is_a_clear_error_in_the_console(browser, console):
    draft = one_draft(console)
    browser.login("alex")
    after = browser.post(f"/drafts/{draft.id}/macro", {"name": "nothing", "back": "/queue"})
    assert flash(after.text) == "error: there is no saved reply named 'nothing' in en"
    assert console.draft(draft.id).text == draft.text


def test_through_the_api_an_agent_uses_saved_replies_but_cannot_write_them(api, console):
    macro_id = save(console, "thanks", "en", "Thanks, {{ customer.first_name }}!")
    draft = one_draft(console, author_name="Ana Pérez")
    agent = auth(token_for(console, "alex"))

    listed = api.get("/api/v1/macros", headers=agent)
    assert listed.status_code == 200 and [m["name"] for m in listed.json()] == ["thanks"]
    body = {"name": "mine", "language": "en", "text": "Hi"}
    assert api.post("/api/v1/macros", json=body, headers=agent).status_code == 403
    assert api.put(f"/api/v1/macros/{macro_id}", json=body, headers=agent).status_code == 403
    assert api.delete(f"/api/v1/macros/{macro_id}", headers=agent).status_code == 403
    assert "manage_macros" in api.post("/api/v1/macros", json=body, headers=agent).json()["detail"]

    used = api.post(f"/api/v1/drafts/{draft.id}/macro", json={"name": "thanks"}, headers=agent)
    assert used.status_code == 200
    assert used.json()["id"] == draft.id and used.json()["text"] == "Thanks, Ana!"
    assert used.json()["status"] == "pending"
    missing = api.post(f"/api/v1/drafts/{draft.id}/macro", json={"name": "nothing"}, headers=agent)
    assert missing.status_code == 404


def test_through_the_api_an_admin_writes_saved_replies_and_an_approver_uses_them(api, console):
    admin = auth(token_for(console, "root"))
    approver = auth(token_for(console, "maria"))
    created = api.post(
        "/api/v1/macros",
        json={
            "name": "gracias",
            "language": "es",
            "text": "¡Gracias, {{ customer.first_name }}!",
            "actions": {"tags": ["x"]},
        },
        headers=admin,
    )
    assert created.status_code == 201
    macro = created.json()
    assert macro["created_by"] == "root" and macro["actions"] == {"tags": ["x"]}

    broken = api.put(
        f"/api/v1/macros/{macro['id']}", json={"name": "gracias", "language": "es", "text": "{% if %}"}, headers=admin
    )
    assert broken.status_code == 400 and "saved reply 'gracias' (es), line 1" in broken.json()["detail"]
    changed = api.put(
        f"/api/v1/macros/{macro['id']}",
        json={"name": "gracias", "language": "es", "text": "¡Mil gracias, {{ customer.first_name }}!"},
        headers=admin,
    )
    assert changed.status_code == 200 and changed.json()["actions"] == {}

    draft = one_draft(
        console,
        text="@acme la app se cierra al abrirla, sigo esperando una solución",
        lang="es",
        author_name="Lucía Gómez",
    )
    assert (
        api.post("/api/v1/macros", json={"name": "x", "language": "es", "text": "x"}, headers=approver).status_code
        == 403
    )
    used = api.post(f"/api/v1/drafts/{draft.id}/macro", json={"name": "gracias"}, headers=approver)
    assert used.status_code == 200 and used.json()["text"] == "¡Mil gracias, Lucía!"

    assert api.delete(f"/api/v1/macros/{macro['id']}", headers=admin).status_code == 204
    assert api.delete(f"/api/v1/macros/{macro['id']}", headers=admin).status_code == 404
    assert api.get("/api/v1/macros", headers=approver).json() == []
