"""Logging in and out, session cookies, CSRF, lockout and roles, over HTTP against the real app."""

from __future__ import annotations

from bot.storage.models import AuditEntry, ConsoleSession, User
from tests.console.conftest import PASSWORD, csrf_of


def test_pages_need_a_login_and_send_you_back_where_you_were_going(browser):
    response = browser.get("/cases?state=open", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fcases%3Fstate%3Dopen"
    form = browser.get(response.headers["location"])
    landed = browser.client.post(
        "/login",
        data={"username": "maria", "password": PASSWORD, "next": "/cases?state=open", "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert landed.status_code == 303 and landed.headers["location"] == "/cases?state=open"


def test_the_session_cookie_is_httponly_samesite_and_holds_no_user_data(browser, console):
    browser.get("/login")
    page = browser.get("/login")
    response = browser.client.post(
        "/login",
        data={"username": "maria", "password": PASSWORD, "next": "/queue", "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("md_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http on 127.0.0.1; https and X-Forwarded-Proto make it Secure
    assert "maria" not in cookie
    with console.session() as session:
        [stored] = session.query(ConsoleSession).all()
        assert stored.token_hash not in cookie  # only the hash is kept, never the token itself


def test_cookies_are_secure_when_the_console_is_reached_over_https(console):
    from fastapi.testclient import TestClient

    with TestClient(console.app, base_url="https://console.example") as client:
        page = client.get("/login")
        response = client.post(
            "/login",
            data={"username": "maria", "password": PASSWORD, "next": "/queue", "csrf_token": csrf_of(page.text)},
            follow_redirects=False,
        )
        cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("md_session="))
        assert "Secure" in cookie


def test_a_wrong_password_is_refused_without_saying_whether_the_user_exists(browser):
    wrong = browser.login("maria", "not the password")
    unknown = browser.login("nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "wrong user name or password" in wrong.text and "wrong user name or password" in unknown.text


def test_repeated_failed_logins_lock_the_account_until_the_lockout_passes(browser, console):
    for _ in range(console.config.console.max_failed_logins):
        assert browser.login("maria", "guessing").status_code == 401
    locked = browser.login("maria")  # even the right password is refused while locked
    assert locked.status_code == 401 and "locked until" in locked.text
    with console.session() as session:
        assert session.query(AuditEntry).filter_by(action="user_locked").count() == 1

    console.clock.advance(minutes=console.config.console.lockout_minutes + 1)
    assert browser.login("maria").status_code == 200


def test_logout_ends_the_session_on_the_server(browser, console):
    browser.login("maria")
    stolen = dict(browser.client.cookies)
    browser.post("/logout")
    assert browser.get("/queue", follow_redirects=False).status_code == 303
    browser.client.cookies.update(stolen)  # replaying the old cookie does not bring the session back
    assert browser.get("/queue", follow_redirects=False).status_code == 303
    with console.session() as session:
        assert session.query(ConsoleSession).count() == 0


def test_a_session_expires(browser, console):
    browser.login("maria")
    console.clock.advance(hours=console.config.console.session_hours + 0.1)
    assert browser.get("/queue", follow_redirects=False).status_code == 303


def test_a_state_changing_request_without_the_csrf_token_is_refused(browser, console):
    console.mention("@acme my internet is down, not working", id="c-1")
    console.poll()
    [draft] = console.drafts()
    browser.login("maria")

    missing = browser.post(f"/drafts/{draft.id}/approve", {"text": draft.text}, csrf=False)
    forged = browser.client.post(f"/drafts/{draft.id}/approve", data={"text": draft.text, "csrf_token": "forged"})

    assert missing.status_code == 403 and forged.status_code == 403
    assert "CSRF" in missing.text
    assert console.draft(draft.id).status == "pending" and console.posted() == []


def test_the_login_form_itself_needs_its_csrf_token(browser):
    response = browser.client.post("/login", data={"username": "maria", "password": PASSWORD, "next": "/queue"})
    assert response.status_code == 403
    assert "md_session" not in response.headers.get("set-cookie", "")


def test_an_agent_cannot_approve_or_reject_nor_manage_users(browser, console):
    console.mention("@acme my internet is down, not working", id="c-1")
    console.poll()
    [draft] = console.drafts()
    browser.login("alex")

    assert browser.post(f"/drafts/{draft.id}/approve", {"text": draft.text}).status_code == 403
    assert browser.post(f"/drafts/{draft.id}/reject", {"reason": "no"}).status_code == 403
    assert browser.post("/drafts/approve", {"draft_ids": str(draft.id)}).status_code == 403
    assert browser.get("/users").status_code == 403
    assert browser.get("/settings").status_code == 403
    assert console.draft(draft.id).status == "pending" and console.posted() == []
    assert "Approve &amp; send" not in browser.get(f"/queue?draft={draft.id}").text


def test_an_admin_adds_a_user_who_can_then_log_in_and_disabling_ends_their_sessions(browser, console):
    browser.login("root")
    created = browser.post("/users", {"username": "lucia", "password": "a long enough secret", "role": "approver"})
    assert "User lucia created as approver" in created.text

    from fastapi.testclient import TestClient

    from tests.console.conftest import Browser

    with TestClient(console.app, base_url="http://127.0.0.1") as other:
        lucia = Browser(other)
        assert lucia.login("lucia", "a long enough secret").status_code == 200
        with console.session() as session:
            user_id = session.query(User).filter_by(username="lucia").one().id
        browser.post(f"/users/{user_id}", {"role": "approver", "active": "false"})
        assert lucia.get("/queue", follow_redirects=False).status_code == 303


def test_the_last_admin_cannot_be_demoted(browser, console):
    browser.login("root")
    with console.session() as session:
        root_id = session.query(User).filter_by(username="root").one().id
    response = browser.post(f"/users/{root_id}", {"role": "agent", "active": "true"})
    assert "last active admin" in response.text


def test_redirects_after_login_stay_on_this_site(browser):
    page = browser.get("/login")
    response = browser.client.post(
        "/login",
        data={"username": "maria", "password": PASSWORD, "next": "//evil.example/x", "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/queue"


def test_pages_forbid_inline_scripts_and_framing(browser):
    browser.login("maria")
    headers = browser.get("/queue").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"


def test_monitoring_endpoints_answer_without_a_login(browser):
    assert browser.get("/healthz").status_code == 200
    metrics = browser.get("/metrics")
    assert metrics.status_code == 200 and "text/plain" in metrics.headers["content-type"]


def test_an_admin_puts_a_person_off_shift_and_changes_their_capacity(browser, console):
    browser.login("root")
    with console.session() as session:
        alex = session.query(User).filter_by(username="alex").one().id
    page = browser.post(f"/users/{alex}", {"role": "agent", "active": "true", "on_shift": "false", "capacity": "4"})
    assert "User updated." in page.text
    with console.session() as session:
        user = session.get(User, alex)
        assert (user.on_shift, user.capacity) == (False, 4)
        assert session.query(AuditEntry).filter_by(action="user_update", object_id=alex).count() == 1
