"""The JSON API: token auth, roles, the same actions as the pages, and an OpenAPI schema that matches the app."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from bot.storage import users
from bot.storage.models import AuditEntry, User


def token_for(console, username: str) -> str:
    with console.session() as session:
        user = session.query(User).filter_by(username=username).one()
        return users.issue_api_token(session, user, console.clock.now(), "test")


@pytest.fixture
def api(console):
    with TestClient(console.app, base_url="http://127.0.0.1") as client:
        yield client


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_api_needs_a_valid_token_and_cookies_do_not_count(api, console, browser):
    assert api.get("/api/v1/drafts").status_code == 401
    assert api.get("/api/v1/drafts", headers=auth("mdk_not-a-token")).status_code == 401
    browser.login("maria")  # a console session is not an API credential: no CSRF risk through the API
    assert browser.get("/api/v1/drafts").status_code == 401
    token = token_for(console, "maria")
    me = api.get("/api/v1/me", headers=auth(token)).json()
    assert me["username"] == "maria" and "approve" in me["permissions"]
    with console.session() as session:
        stored = session.query(User).filter_by(username="maria").one().api_token_hash
        assert stored and token not in stored  # only a hash is kept


def test_a_crm_approves_edits_and_rejects_through_the_api(api, console):
    for n in range(3):
        console.mention(f"@acme my internet is down in street {n}, not working", id=f"d-{n}", author=f"@user{n}")
    console.poll()
    token = token_for(console, "maria")
    queue = api.get("/api/v1/drafts", headers=auth(token)).json()
    assert queue["total"] == 3
    first, second, third = (d["id"] for d in queue["drafts"])
    assert queue["drafts"][0]["mention"]["triage"]["reasons"]

    sent = api.post(f"/api/v1/drafts/{first}/approve", json={}, headers=auth(token)).json()
    assert sent["status"] == "sent" and sent["platform_post_id"].startswith("sandbox-")
    assert sent["case_state"] == "answered_public"

    edited = api.post(
        f"/api/v1/drafts/{second}/approve",
        headers=auth(token),
        json={"text": "So sorry! Our engineers are on it; we will update you within 30 minutes."},
    ).json()
    assert edited["status"] == "sent"
    assert console.posted()[-1].text.startswith("So sorry! Our engineers")

    rejected = api.post(f"/api/v1/drafts/{third}/reject", json={"reason": "duplicate"}, headers=auth(token)).json()
    assert rejected["status"] == "rejected" and rejected["reject_reason"] == "duplicate"
    with console.session() as session:
        actions = {e.action for e in session.query(AuditEntry).filter_by(actor="maria")}
    assert {"approve", "edit_and_approve", "reject"} <= actions


def test_an_agent_token_cannot_approve(api, console):
    console.mention("@acme my internet is down, not working", id="d-1")
    console.poll()
    [draft] = console.drafts()
    token = token_for(console, "alex")
    response = api.post(f"/api/v1/drafts/{draft.id}/approve", json={}, headers=auth(token))
    assert response.status_code == 403 and "cannot do this" in response.json()["detail"]
    assert (
        api.post(
            f"/api/v1/drafts/{draft.id}/edit",
            json={"text": "Sorry! We're on it, back within 30 min."},
            headers=auth(token),
        ).status_code
        == 200
    )
    assert console.posted() == []


def test_errors_are_json_with_a_reason(api, console):
    token = token_for(console, "maria")
    missing = api.get("/api/v1/drafts/999", headers=auth(token))
    assert missing.status_code == 404 and missing.json() == {"detail": "there is no draft 999"}
    console.mention("@acme my internet is down, not working", id="d-1")
    console.poll()
    [draft] = console.drafts()
    empty = api.post(f"/api/v1/drafts/{draft.id}/reject", json={"reason": ""}, headers=auth(token))
    assert empty.status_code == 400 and "needs a reason" in empty.json()["detail"]


def test_cases_customers_and_kpis_through_the_api(api, console):
    console.mention("@acme my order never arrived, it's been two weeks", id="o-1")
    console.poll()
    token = token_for(console, "maria")
    case_id = console.case_of("o-1").id
    case = api.get(f"/api/v1/cases/{case_id}", headers=auth(token)).json()
    assert case["mentions"][0]["text"].startswith("@acme my order") and case["events"]
    assigned = api.post(f"/api/v1/cases/{case_id}/assign", json={"owner": "alex"}, headers=auth(token)).json()
    assert assigned["owner"] == "alex"
    close = api.post(f"/api/v1/cases/{case_id}/resolve", json={"summary": "refund sent"}, headers=auth(token)).json()
    assert close["kind"] == "close" and close["status"] == "pending"
    customer = api.get(f"/api/v1/customers/{case['customer_id']}", headers=auth(token)).json()
    assert customer["identities"][0]["handle"] == "@ana"
    kpis = api.get("/api/v1/kpis?days=7", headers=auth(token)).json()
    assert kpis["mentions"] == 1 and "category" in kpis["volume"]


def _example(schema: dict, spec: dict) -> object:
    """A small valid value for a JSON schema (enough to reach the handler)."""
    if "$ref" in schema:
        return _example(spec["components"]["schemas"][schema["$ref"].split("/")[-1]], spec)
    if "anyOf" in schema:
        return _example(next(s for s in schema["anyOf"] if s.get("type") != "null"), spec)
    kind = schema.get("type")
    if kind == "object":
        return {
            name: _example(prop, spec)
            for name, prop in schema.get("properties", {}).items()
            if name in schema.get("required", [])
        }
    return {"integer": 1, "number": 1.0, "boolean": True, "array": []}.get(kind, "x")


def test_every_documented_operation_answers_as_documented(api, console):
    console.mention("@acme my order never arrived, it's been two weeks", id="o-1")
    console.poll()
    token = token_for(console, "root")
    spec = console.app.openapi()
    assert spec["openapi"].startswith("3.")
    operations = [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if path.startswith("/api/")
    ]
    assert len(operations) >= 15
    for path, method, op in operations:
        url = re.sub(r"\{[^}]+\}", "1", path)
        body = None
        if "requestBody" in op:
            body = _example(op["requestBody"]["content"]["application/json"]["schema"], spec)
        anonymous = api.request(method.upper(), url, json=body)
        assert anonymous.status_code == 401, (method, path)
        response = api.request(method.upper(), url, json=body, headers=auth(token))
        documented = {int(code) for code in op["responses"] if code.isdigit()}
        assert response.status_code in documented, (method, path, response.status_code, response.text)
        assert response.status_code != 500
        if response.status_code == 200:
            assert response.headers["content-type"].startswith("application/json"), (method, path)


def test_the_html_pages_stay_out_of_the_schema_and_no_docs_page_loads_from_a_cdn(console, api):
    spec = console.app.openapi()
    assert not any(path.startswith(("/queue", "/login", "/cases")) for path in spec["paths"])
    assert api.get("/docs").status_code == 404
    assert spec["components"]["securitySchemes"]
