"""Tags on cases from the console and the API, the queue and the cases filtered by tag, KPIs counted by tag, and
hiding or unhiding a customer's message (approvers only)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.casework import tags
from bot.console import create_app
from bot.service_levels import kpis, report
from bot.storage import users
from bot.storage.models import AuditEntry, Case, Mention, User
from tests.console.conftest import Browser, add_users
from tests.harness import Desk

PROBLEM = "@acme my internet has been down since this morning, still not working"
QUESTION = "@acme how do I download my last invoice?"


def token_for(console, username: str) -> str:
    with console.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        return users.issue_api_token(session, user, console.clock.now(), "test")


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(console):
    with TestClient(console.app, base_url="http://127.0.0.1") as client:
        yield client


@pytest.fixture
def approver(console):
    """A second console client, logged in as the approver maria."""
    with TestClient(console.app, base_url="http://127.0.0.1") as client:
        other = Browser(client)
        other.login("maria")
        yield other


@pytest.fixture
def two_cases(console):
    """A problem and a question, triaged and drafted; their case ids."""
    console.mention(PROBLEM, id="p-1", author="@ana")
    console.mention(QUESTION, id="q-1", author="@bo")
    console.poll()
    return console.case_of("p-1").id, console.case_of("q-1").id


def test_an_agent_tags_a_case_on_its_page_and_takes_the_tag_off_again(browser, console, two_cases):
    problem, _ = two_cases
    browser.login("alex")
    page = browser.post(f"/cases/{problem}/tags", {"tag": "  Outage  North "})
    assert page.status_code == 200 and "Tag added." in page.text
    assert 'class="chip tag">outage north' in page.text
    with console.session() as session:
        assert tags.tags_of(session, problem) == ["outage north"]
    page = browser.post(f"/cases/{problem}/tags/outage north/remove")
    assert "Tag outage north removed." in page.text
    with console.session() as session:
        assert tags.tags_of(session, problem) == []
        actions = [
            (e.action, e.actor) for e in session.scalars(select(AuditEntry).where(AuditEntry.object_id == problem))
        ]
    assert ("tag", "alex") in actions and ("untag", "alex") in actions


def test_a_bad_tag_is_refused_with_the_reason(browser, two_cases):
    problem, _ = two_cases
    browser.login("alex")
    page = browser.post(f"/cases/{problem}/tags", {"tag": "<script>"})
    assert "may hold only letters" in page.text
    assert "&#39;&lt;script&gt;&#39;" in page.text and "<script>" not in page.text  # escaped, never run


def test_the_queue_and_the_cases_list_filter_by_tag(browser, console, two_cases):
    problem, question = two_cases
    with console.session() as session:
        tags.add_tag(session, console.case_of("p-1"), "outage", "alex", console.clock.now())
    browser.login("alex")
    queue = browser.get("/queue?tag=outage")
    assert "internet has been down" in queue.text and "download my last invoice" not in queue.text
    assert '<option value="outage" selected>' in queue.text
    everything = browser.get("/queue")
    assert "download my last invoice" in everything.text
    listed = browser.get("/cases?state=&tag=outage")
    assert f'href="/cases/{problem}"' in listed.text and f'href="/cases/{question}"' not in listed.text


def test_the_api_tags_with_the_agents_token_and_refuses_without_one(api, console, two_cases):
    problem, question = two_cases
    agent = auth(token_for(console, "alex"))
    assert api.post(f"/api/v1/cases/{problem}/tags", json={"tag": "outage"}).status_code == 401
    tagged = api.post(f"/api/v1/cases/{problem}/tags", json={"tag": "Outage"}, headers=agent)
    assert tagged.status_code == 200 and tagged.json()["tags"] == ["outage"]
    assert api.post(f"/api/v1/cases/{problem}/tags", json={"tag": "vip"}, headers=agent).json()["tags"] == [
        "outage",
        "vip",
    ]
    drafts = api.get("/api/v1/drafts?tag=outage", headers=agent).json()
    assert {d["case_id"] for d in drafts["drafts"]} == {problem}
    cases = api.get("/api/v1/cases?tag=vip", headers=agent).json()
    assert [c["id"] for c in cases["cases"]] == [problem] and cases["cases"][0]["tags"] == ["outage", "vip"]
    assert api.get(f"/api/v1/cases/{question}", headers=agent).json()["tags"] == []

    assert api.delete(f"/api/v1/cases/{problem}/tags/vip").status_code == 401
    removed = api.delete(f"/api/v1/cases/{problem}/tags/vip", headers=agent)
    assert removed.status_code == 200 and removed.json()["tags"] == ["outage"]
    again = api.delete(f"/api/v1/cases/{problem}/tags/vip", headers=agent)
    assert again.status_code == 400 and "has no tag 'vip'" in again.json()["detail"]
    assert api.post("/api/v1/cases/999/tags", json={"tag": "x"}, headers=agent).status_code == 404


def test_kpis_count_cases_by_tag_on_the_page_in_the_api_and_in_the_report(browser, api, console, two_cases):
    problem, question = two_cases
    with console.session() as session:
        now = console.clock.now()
        for case_id, names in ((problem, ["outage", "vip"]), (question, ["outage"])):
            case = session.get(Case, case_id)
            for name in names:
                tags.add_tag(session, case, name, "alex", now)
        assert kpis.cases_by_tag(session, kpis.Period.last_days(now, 7)) == {"outage": 2, "vip": 1}
        figures = report.build(session, console.config, now.replace(hour=0), now)
    assert figures["tags"] == {"outage": 2, "vip": 1}
    browser.login("alex")
    page = browser.get("/kpis")
    assert (
        'id="kpi-tags"' in page.text and '/cases?state=&amp;tag=outage">outage</a></td><td class="num">2' in page.text
    )
    body = api.get("/api/v1/kpis?days=7", headers=auth(token_for(console, "alex"))).json()
    assert body["tags"] == {"outage": 2, "vip": 1}


def test_an_approver_hides_and_unhides_a_message_and_an_agent_may_not(browser, approver, api, console, two_cases):
    problem, _ = two_cases
    with console.session() as session:
        mention_id = session.scalar(select(Mention.id).where(Mention.platform_id == "p-1"))
    browser.login("alex")
    page = browser.get(f"/cases/{problem}")
    assert f'id="hide-{mention_id}"' not in page.text and "needs an approver" in page.text
    assert browser.post(f"/mentions/{mention_id}/hide", {"back": f"/cases/{problem}"}).status_code == 403
    agent = auth(token_for(console, "alex"))
    assert api.post(f"/api/v1/mentions/{mention_id}/hide", headers=agent).status_code == 403

    page = approver.post(f"/mentions/{mention_id}/hide", {"back": f"/cases/{problem}"})
    assert f"Message {mention_id} hidden on its platform." in page.text and f'id="unhide-{mention_id}"' in page.text
    assert console.sandbox().hidden == {"p-1": True}

    assert browser.post(f"/mentions/{mention_id}/unhide", {"back": f"/cases/{problem}"}).status_code == 403
    assert api.post(f"/api/v1/mentions/{mention_id}/unhide", headers=agent).status_code == 403
    assert api.post(f"/api/v1/mentions/{mention_id}/unhide").status_code == 401
    shown = api.post(f"/api/v1/mentions/{mention_id}/unhide", headers=auth(token_for(console, "maria")))
    assert shown.status_code == 200 and shown.json()["hidden_at"] is None
    assert console.sandbox().hidden == {"p-1": False}
    with console.session() as session:
        assert session.get(Mention, mention_id).hidden_by is None
        entries = [
            (e.action, e.actor)
            for e in session.scalars(
                select(AuditEntry).where(AuditEntry.object_type == "mention").order_by(AuditEntry.id)
            )
        ]
    assert entries == [("hide", "maria"), ("unhide", "maria")]


def test_a_private_message_cannot_be_hidden(api, console):
    console.mention("@acme I was charged twice, please help", id="dm-1", channel="private")
    console.poll()
    with console.session() as session:
        mention_id = session.scalar(select(Mention.id).where(Mention.platform_id == "dm-1"))
    refused = api.post(f"/api/v1/mentions/{mention_id}/hide", headers=auth(token_for(console, "maria")))
    assert refused.status_code == 400 and "a private message on x cannot be hidden" in refused.json()["detail"]


def test_the_settings_page_shows_the_rules_read_only(tmp_path, database_url, shared_triager):
    rules = [
        {
            "name": "vip-fast-lane",
            "when": {"vip": ["@ceo", "@press"], "min_followers": 1000},
            "then": {"tag": ["vip"], "raise_priority": 0.2, "hide": True},
        }
    ]
    desk = Desk(tmp_path, database_url, triager=shared_triager, rules=rules)
    try:
        add_users(desk)
        with TestClient(create_app(desk.service), base_url="http://127.0.0.1") as client:
            admin = Browser(client)
            admin.login("root")
            page = admin.get("/settings").text
        assert 'id="rules"' in page and "<strong>vip-fast-lane</strong>" in page
        assert "<li>vip: <code>@ceo or @press</code></li>" in page
        assert "<li>min followers: <code>1000</code></li>" in page
        assert "<li>raise priority: <code>0.2</code></li>" in page and "<li>hide</li>" in page
        assert "<form" not in page.split('id="rules"')[1].split("</section>")[0]  # read-only
    finally:
        desk.service.engine.dispose()
