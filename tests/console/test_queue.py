"""The approval queue over HTTP: order, filters, approve, edit, reject, bulk approve, overrides, learning, audit."""

from __future__ import annotations

import html
import re

from bot.storage.models import AuditEntry, LabelledExample, TriageResult


def flash(page: str) -> str:
    match = re.search(r'class="flash flash-(\w+)"[^>]*>([^<]*)<', page)
    return f"{match.group(1)}: {html.unescape(match.group(2))}" if match else ""


def test_the_queue_lists_drafts_by_priority_and_shows_the_selected_one_in_context(browser, console):
    console.mention("@acme thanks, lovely service", id="p-1", author="@fan")
    console.mention(
        "@acme my internet is down since this morning, not working at all", id="d-1", author="@ana", followers=50000
    )
    console.poll()
    console.clock.advance(minutes=5)
    console.mention("@acme hello?? still down", id="d-2", thread="d-1", in_reply_to="d-1", author="@ana")
    console.poll()
    browser.login("maria")

    page = browser.get("/queue").text

    rows = re.findall(r'<li class="row[^"]*" data-draft="(\d+)"', page)
    drafts = {d.id: d for d in console.drafts()}
    assert [drafts[int(i)].priority for i in rows] == sorted((d.priority for d in drafts.values()), reverse=True)
    top = drafts[int(rows[0])]
    detail = browser.get(f"/queue?draft={top.id}").text
    assert "my internet is down since this morning" in detail and "hello?? still down" in detail  # the whole thread
    assert "Triage" in detail and "confidence" in detail
    assert "length:" in detail  # quality checks
    assert "platform policy" in detail


def test_filters_narrow_the_queue(browser, console):
    console.mention("@acme my internet is down, not working", id="x-1", platform="x")
    console.mention("@acme la fibra no funciona desde ayer", id="f-1", platform="facebook", author="@lu", lang="es")
    console.poll()
    browser.login("maria")
    x_only = browser.get("/queue?platform=x").text
    es_only = browser.get("/queue?language=es").text
    assert "my internet is down" in x_only and "la fibra no funciona" not in x_only
    assert "la fibra no funciona" in es_only and "my internet is down" not in es_only


def test_approving_posts_through_the_sandbox_records_audit_and_learning(browser, console):
    console.mention("@acme my internet is down since this morning, not working", id="d-1")
    console.poll()
    [draft] = console.drafts()
    browser.login("maria")

    page = browser.post(f"/drafts/{draft.id}/approve", {"text": draft.text, "back": "/queue"})

    assert flash(page.text).startswith(f"ok: Draft {draft.id} approved and posted as sandbox-")
    [posted] = console.posted()
    assert posted.draft_id == draft.id and posted.target_id == "d-1"
    with console.session() as session:
        actions = [(e.actor, e.action) for e in session.query(AuditEntry).order_by(AuditEntry.id)]
        assert ("maria", "approve") in actions and any(a == "send" for _, a in actions)
        assert session.query(LabelledExample).filter_by(source="approve", actor="maria").count() > 0
    audit_page = browser.get("/audit").text
    assert "maria" in audit_page and "approve" in audit_page


def test_an_agent_proposes_an_edit_and_an_approver_sends_it(browser, console):
    console.mention("@acme my internet is down since this morning, not working", id="d-1")
    console.poll()
    [draft] = console.drafts()
    browser.login("alex")
    text = "Hi! So sorry about the outage; an engineer is on it and we'll update you within 30 minutes."
    assert flash(browser.post(f"/drafts/{draft.id}/edit", {"text": text}).text).startswith("ok:")
    assert console.draft(draft.id).text == text and console.draft(draft.id).status == "pending"
    assert console.posted() == []

    browser.post("/logout")
    browser.login("maria")
    browser.post(f"/drafts/{draft.id}/approve", {"text": text})
    assert console.posted()[0].text == text


def test_a_failing_check_needs_an_override_reason(browser, console):
    console.mention("@acme my internet is down since this morning, not working", id="d-1")
    console.poll()
    [draft] = console.drafts()
    browser.login("maria")
    with_card = "Sorry! Pay with 4111 1111 1111 1111 and we will fix it within 30 minutes."

    refused = browser.post(f"/drafts/{draft.id}/approve", {"text": with_card})
    assert "fails its checks" in flash(refused.text)
    assert console.draft(draft.id).status == "pending" and console.posted() == []

    browser.post(f"/drafts/{draft.id}/approve", {"text": with_card, "override_reason": "a public test card number"})
    assert console.draft(draft.id).status == "sent"
    assert console.draft(draft.id).override_reason == "a public test card number"


def test_rejecting_needs_a_reason_and_sends_nothing(browser, console):
    console.mention("@acme my internet is down since this morning, not working", id="d-1")
    console.poll()
    [draft] = console.drafts()
    browser.login("maria")
    assert "needs a reason" in flash(browser.post(f"/drafts/{draft.id}/reject", {"reason": "  "}).text)
    browser.post(f"/drafts/{draft.id}/reject", {"reason": "answered by phone"})
    rejected = console.draft(draft.id)
    assert rejected.status == "rejected" and rejected.reject_reason == "answered by phone" and console.posted() == []


def test_a_selection_is_approved_at_once(browser, console):
    for n in range(3):
        console.mention(f"@acme my internet is down in street {n}, not working", id=f"d-{n}", author=f"@user{n}")
    console.poll()
    ids = [d.id for d in console.drafts()]
    browser.login("maria")

    page = browser.post("/drafts/approve", {"back": "/queue", "draft_ids": [str(i) for i in ids[:2]]})

    assert "2 of 2 draft(s) approved and posted" in flash(page.text)
    assert sorted(m.draft_id for m in console.posted()) == ids[:2]
    assert console.draft(ids[2]).status == "pending"


def test_a_decided_draft_cannot_be_approved_twice(browser, console):
    console.mention("@acme my internet is down since this morning, not working", id="d-1")
    console.poll()
    [draft] = console.drafts()
    browser.login("maria")
    browser.post(f"/drafts/{draft.id}/approve", {"text": draft.text})
    again = browser.post(f"/drafts/{draft.id}/approve", {"text": draft.text})
    assert "not pending" in flash(again.text)
    assert len(console.posted()) == 1


def test_correcting_the_triage_teaches_the_classifier(browser, console):
    console.mention("@acme my internet is down since this morning, not working", id="d-1")
    console.poll()
    [draft] = console.drafts()
    browser.login("alex")
    page = browser.post(
        f"/mentions/{draft.mention_id}/triage",
        {"head": "category", "label": "question", "back": f"/queue?draft={draft.id}"},
    )
    assert "Triage corrected" in flash(page.text)
    with console.session() as session:
        triage = session.query(TriageResult).filter_by(mention_id=draft.mention_id).one()
        assert triage.category == "question" and triage.corrected_by == "alex"
        [example] = session.query(LabelledExample).filter_by(source="correction").all()
        assert (example.head, example.label, example.actor) == ("category", "question", "alex")
    wrong = browser.post(f"/mentions/{draft.mention_id}/triage", {"head": "sentiment", "label": "question"})
    assert "is not a 'sentiment' label" in flash(wrong.text)


def test_mention_text_is_escaped_in_every_page(browser, console):
    hostile = "<script>alert(1)</script><img src=x onerror=alert(1)> my internet is down, not working"
    console.mention("@acme " + hostile, id="h-1", author="@mallory", author_name="<b>Mal</b>")
    console.poll()
    [draft] = console.drafts()
    case = console.case_of("h-1")
    browser.login("maria")
    for url in (
        f"/queue?draft={draft.id}",
        f"/cases/{case.id}",
        f"/customers/{case.customer_id}",
        "/kpis",
        "/customers?q=mal",
    ):
        page = browser.get(url).text
        assert "<script>alert(1)" not in page and "<img src=x" not in page and "<b>Mal</b>" not in page, url
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in browser.get(f"/queue?draft={draft.id}").text
