"""The console while an incident is open: a banner on every page, the incidents page, and approving its drafts."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.console import create_app
from bot.runtime.health import render_metrics
from bot.runtime.status_report import collect
from bot.storage import users
from bot.storage.models import Draft, Incident, IncidentCase, OutboxMessage
from tests.console.conftest import Browser, add_users
from tests.early_warning.burst import burst, detect, outage_desk, quiet_history


@pytest.fixture
def incident_desk(tmp_path, database_url, shared_triager):
    desk = outage_desk(tmp_path, database_url, shared_triager)
    add_users(desk)
    quiet_history(desk)
    burst(desk)
    [desk.incident_id] = detect(desk).opened
    desk.app = create_app(desk.service)
    yield desk
    desk.service.engine.dispose()


@pytest.fixture
def approver(incident_desk):
    with TestClient(incident_desk.app, base_url="http://127.0.0.1") as client:
        browser = Browser(client)
        browser.login("maria")
        yield browser


def test_every_page_shows_the_open_incident_in_a_banner(incident_desk, approver):
    for page in ("/queue", "/cases", "/kpis", "/audit"):
        html = approver.get(page).text
        assert 'class="incident-banner' in html, page
        assert f'href="/incidents/{incident_desk.incident_id}"' in html and "internet" in html


def test_the_incidents_page_lists_it_with_its_chart_examples_and_cases(incident_desk, approver):
    listing = approver.get("/incidents")
    assert listing.status_code == 200 and f"/incidents/{incident_desk.incident_id}" in listing.text
    page = approver.get(f"/incidents/{incident_desk.incident_id}")
    assert page.status_code == 200
    assert '<svg class="chart" data-chart="incident"' in page.text
    assert "internet down" in page.text  # an example mention, escaped as text
    with incident_desk.session() as session:
        links = list(session.scalars(select(IncidentCase)))
        for link in links:
            assert f'href="/cases/{link.case_id}"' in page.text
    assert "Approve all" in page.text
    assert approver.get("/incidents/999").status_code == 404


def test_approve_all_sends_each_draft_once_in_its_own_thread(incident_desk, approver):
    page = approver.get(f"/incidents/{incident_desk.incident_id}").text
    with incident_desk.session() as session:
        pending = list(
            session.scalars(
                select(Draft)
                .join(IncidentCase, IncidentCase.case_id == Draft.case_id)
                .where(Draft.status == "pending")
                .order_by(Draft.id)
            )
        )
    assert len(pending) >= 6 and all(f'name="draft_ids" value="{d.id}"' in page for d in pending)
    done = approver.post(
        "/drafts/approve",
        {"draft_ids": [str(d.id) for d in pending], "back": f"/incidents/{incident_desk.incident_id}"},
    )
    assert f"{len(pending)} of {len(pending)} draft(s) approved and posted" in done.text
    with incident_desk.session() as session:
        messages = list(session.scalars(select(OutboxMessage).where(OutboxMessage.status == "sent")))
        assert sorted(m.draft_id for m in messages) == [d.id for d in pending]
        targets = [m.target_id for m in messages]
        assert len(set(targets)) == len(targets)  # one reply per customer, each in its own thread
        assert {session.get(Draft, d.id).decided_by for d in pending} == {"maria"}


def test_an_agent_sees_the_incident_but_cannot_approve_its_drafts(incident_desk):
    with TestClient(incident_desk.app, base_url="http://127.0.0.1") as client:
        agent = Browser(client)
        agent.login("alex")
        page = agent.get(f"/incidents/{incident_desk.incident_id}")
        assert page.status_code == 200 and "Approve all" not in page.text


def test_status_reports_the_open_incident(incident_desk):
    report = collect(incident_desk.service)
    [incident] = report["incidents"]
    assert incident["id"] == incident_desk.incident_id and incident["cases"] >= 8
    assert any(f"incident #{incident_desk.incident_id}" in alert and "internet" in alert for alert in report["alerts"])


def test_the_metrics_count_open_incidents_by_severity(incident_desk):
    with incident_desk.session() as session:
        severity = session.get(Incident, incident_desk.incident_id).severity
    text = render_metrics(incident_desk.service)
    assert f'incidents_open{{severity="{severity}"}} 1.0' in text


def test_a_crm_reads_the_open_incident_and_its_cases_through_the_api(incident_desk):
    with incident_desk.session() as session:
        user = users.get_user(session, "alex")
        token = users.issue_api_token(session, user, incident_desk.clock.now(), "test")
        case_ids = sorted(link.case_id for link in session.scalars(select(IncidentCase)))
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(incident_desk.app, base_url="http://127.0.0.1") as api:
        listed = api.get("/api/v1/incidents?state=open", headers=headers).json()
        assert [i["id"] for i in listed] == [incident_desk.incident_id]
        [incident] = listed
        assert incident["state"] == "open" and "internet" in incident["topic"]
        assert sorted(incident["case_ids"]) == case_ids and incident["examples"]
        assert incident["started_at"].endswith("Z") or incident["started_at"].endswith("+00:00")
        assert api.get("/api/v1/incidents?state=ended", headers=headers).json() == []
        one = api.get(f"/api/v1/incidents/{incident_desk.incident_id}", headers=headers)
        assert one.status_code == 200 and one.json()["id"] == incident_desk.incident_id
        assert api.get("/api/v1/incidents/999", headers=headers).status_code == 404
        assert api.get("/api/v1/incidents").status_code == 401
