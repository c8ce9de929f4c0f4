"""Users (bot/storage/users.py): roles, argon2 hashes, lockout, API tokens; and the `user` commands."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.errors import UserError
from bot.storage import users
from bot.storage.models import User

NOW = datetime(2026, 1, 5, 9, 0)


def test_passwords_are_stored_as_argon2_hashes(desk):
    with desk.session() as session:
        user = users.create_user(session, "maria", "correct horse battery", "approver", NOW, "test")
        assert user.password_hash.startswith("$argon2id$")
        assert "correct horse" not in user.password_hash
        assert users.authenticate(session, "MARIA", "correct horse battery", NOW).id == user.id


def test_weak_passwords_unknown_roles_and_duplicate_names_are_refused(desk):
    with desk.session() as session:
        with pytest.raises(UserError, match="at least 10"):
            users.create_user(session, "maria", "short", "agent", NOW, "test")
        with pytest.raises(UserError, match="unknown role"):
            users.create_user(session, "maria", "long enough pass", "boss", NOW, "test")
        users.create_user(session, "maria", "long enough pass", "agent", NOW, "test")
        with pytest.raises(UserError, match="already a user"):
            users.create_user(session, "Maria", "long enough pass", "agent", NOW, "test")


def test_lockout_after_repeated_failures_and_unlock_after_the_wait(desk):
    policy = users.LoginPolicy(max_failed=3, lockout_minutes=10)
    with desk.session() as session:
        users.create_user(session, "maria", "correct horse battery", "approver", NOW, "test")
    for _ in range(3):
        with desk.session() as session, pytest.raises(users.LoginRefused):
            users.authenticate(session, "maria", "wrong", NOW, policy)
    with desk.session() as session:
        assert session.query(User).one().locked_until == NOW + timedelta(minutes=10)
    with desk.session() as session, pytest.raises(users.LoginRefused, match="locked"):
        users.authenticate(session, "maria", "correct horse battery", NOW + timedelta(minutes=5), policy)
    with desk.session() as session:
        assert users.authenticate(session, "maria", "correct horse battery", NOW + timedelta(minutes=11), policy)


def test_roles_grant_more_as_they_go_up():
    agent, approver, admin = (User(role=r, active=True) for r in users.ROLES)
    assert users.can(agent, "edit") and not users.can(agent, "approve")
    assert users.can(approver, "approve") and not users.can(approver, "manage_users")
    assert users.can(admin, "manage_users") and users.can(admin, "approve")
    assert not users.can(User(role="admin", active=False), "view")


def test_api_tokens_are_stored_hashed_and_replaced_when_reissued(desk):
    with desk.session() as session:
        user = users.create_user(session, "maria", "correct horse battery", "approver", NOW, "test")
        first = users.issue_api_token(session, user, NOW, "test")
        assert user.api_token_hash != first and users.user_for_token(session, first).id == user.id
        second = users.issue_api_token(session, user, NOW, "test")
        assert users.user_for_token(session, first) is None
        assert users.user_for_token(session, second).id == user.id
        users.revoke_api_token(session, user, NOW, "test")
        assert users.user_for_token(session, second) is None


def test_user_add_makes_the_first_user_an_admin_and_reads_the_password_from_an_env_var(desk, monkeypatch, tmp_path):
    config = tmp_path / "config.yaml"
    import yaml

    from tests.harness import base_config

    config.write_text(yaml.safe_dump(base_config(tmp_path, desk.database_url)))
    runner = CliRunner()
    monkeypatch.setenv("NEW_PASSWORD", "a long enough secret")

    refused = runner.invoke(
        main, ["--config", str(config), "user", "add", "ana", "--role", "agent", "--password-env", "NEW_PASSWORD"]
    )
    assert refused.exit_code == 1 and "first user must be an admin" in refused.output
    first = runner.invoke(main, ["--config", str(config), "user", "add", "ana", "--password-env", "NEW_PASSWORD"])
    assert first.exit_code == 0 and "created as admin" in first.output
    second = runner.invoke(main, ["--config", str(config), "user", "add", "bo", "--password-env", "NEW_PASSWORD"])
    assert "created as agent" in second.output
    token = runner.invoke(main, ["--config", str(config), "user", "token", "bo"])
    assert token.exit_code == 0 and token.output.startswith(users.TOKEN_PREFIX)
    listing = runner.invoke(main, ["--config", str(config), "user", "list"])
    assert "ana" in listing.output and "admin" in listing.output
