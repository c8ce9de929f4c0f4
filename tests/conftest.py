"""Shared fixtures: a database per test (SQLite by default, PostgreSQL when BOT_TEST_DATABASE_URL is set) and the desk."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.harness import Desk

TEST_DATABASE_ENV = "BOT_TEST_DATABASE_URL"


def _server_url() -> str | None:
    return os.environ.get(TEST_DATABASE_ENV) or None


@pytest.fixture(scope="session")
def postgres_admin():
    """An autocommit engine on the PostgreSQL test server (None when the suite runs on SQLite)."""
    url = _server_url()
    if url is None or make_url(url).get_backend_name() != "postgresql":
        yield None
        return
    engine = create_engine(url, isolation_level="AUTOCOMMIT", pool_size=1)
    yield engine
    engine.dispose()


@pytest.fixture
def database_url(tmp_path: Path, postgres_admin) -> str:
    """A fresh, empty database for one test: a SQLite file, or a new PostgreSQL database dropped afterwards."""
    url = _server_url()
    if url is None:
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    if postgres_admin is None:  # another backend named by the variable: use it as it is
        yield url
        return
    name = f"test_{uuid.uuid4().hex[:16]}"
    with postgres_admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(url).set(database=name).render_as_string(hide_password=False)
    with postgres_admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> Desk:
    """The whole service in memory with the sandbox responder and a frozen clock."""
    desk = Desk(tmp_path, database_url)
    yield desk
    desk.service.engine.dispose()
