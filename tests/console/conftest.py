"""Fixtures for the console: users of each role, a logged-in HTTP client, and the app served for a browser."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from bot.console import create_app
from bot.storage import users
from tests.harness import Desk

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_users(desk) -> None:
    """An agent, an approver and an admin, all with PASSWORD."""
    with desk.session() as session:
        for name, role in (("alex", "agent"), ("maria", "approver"), ("root", "admin")):
            users.create_user(session, name, PASSWORD, role, desk.clock.now(), "test")


def csrf_of(html: str) -> str:
    """The CSRF token a page embeds in its forms."""
    match = CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


class Browser:
    """A TestClient that logs in through the form, like a person would."""

    def __init__(self, client: TestClient):
        self.client = client
        self.csrf = ""

    def login(self, username: str, password: str = PASSWORD):
        page = self.client.get("/login")
        response = self.client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": csrf_of(page.text), "next": "/queue"},
            follow_redirects=True,
        )
        if response.status_code == 200 and "csrf_token" in response.text and "/logout" in response.text:
            self.csrf = csrf_of(response.text)
        return response

    def get(self, url: str, **kwargs):
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict | None = None, csrf: bool = True, **kwargs):
        payload = dict(data or {})
        if csrf:
            payload["csrf_token"] = self.csrf
        kwargs.setdefault("follow_redirects", True)
        return self.client.post(url, data=payload, **kwargs)


@pytest.fixture(autouse=True)
def quick_password_hashing(monkeypatch):
    """Cheaper argon2 parameters in tests: the real ones are made to be slow."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    monkeypatch.setattr(users, "_dummy", {})


@pytest.fixture(scope="session")
def shared_triager(tmp_path_factory):
    """One classifier for every console test (loading it is the slow part of a desk)."""
    from bot.config import parse_config
    from bot.triage.build import build_triager
    from tests.harness import base_config

    folder = tmp_path_factory.mktemp("triager")
    return build_triager(parse_config(base_config(folder, f"sqlite:///{folder / 'unused.db'}")))


@pytest.fixture
def desk(tmp_path, database_url, shared_triager):
    """The desk of tests/conftest.py, sharing one classifier."""
    desk = Desk(tmp_path, database_url, triager=shared_triager)
    yield desk
    desk.service.engine.dispose()


@pytest.fixture
def console(desk):
    """The desk with users and the console app over its service."""
    add_users(desk)
    desk.app = create_app(desk.service)
    return desk


@pytest.fixture
def browser(console):
    """A new, logged-out HTTP client of the console."""
    with TestClient(console.app, base_url="http://127.0.0.1") as client:
        yield Browser(client)
