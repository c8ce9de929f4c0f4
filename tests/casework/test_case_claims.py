"""Claiming a case ("I'm on it"): others see who holds it, cannot take it, and it frees itself when it expires."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from bot.casework import case_claims
from bot.casework.case_claims import ClaimRefused
from bot.errors import UserError
from bot.storage import users
from bot.storage.models import AuditEntry, User

PASSWORD = "correct horse battery"


@pytest.fixture
def team(desk, monkeypatch):
    """The desk with a case and two agents, alex and bea; returns (case id, alex's id, bea's id)."""
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    with desk.session() as session:
        alex = users.create_user(session, "alex", PASSWORD, "agent", desk.clock.now(), "test")
        bea = users.create_user(session, "bea", PASSWORD, "agent", desk.clock.now(), "test", "Bea Ortiz")
        session.flush()
        ids = alex.id, bea.id
    desk.mention("@acme my order never arrived, it's been two weeks", id="k-1")
    desk.poll()
    return desk.case_of("k-1").id, *ids


def test_an_agent_claims_a_case_and_another_is_told_who_holds_it_and_until_when(desk, team):
    case_id, alex, bea = team
    with desk.session() as session:
        case = case_claims.claim(session, case_id, bea, desk.clock.now(), 30)
        assert case_claims.holder_id(case, desk.clock.now()) == bea
    desk.clock.advance(minutes=5)
    with pytest.raises(ClaimRefused, match=r"claimed by Bea Ortiz until 2026-01-05 09:30 UTC"):
        with desk.session() as session:
            case_claims.claim(session, case_id, alex, desk.clock.now(), 30)
    with desk.session() as session:
        entries = session.query(AuditEntry).filter_by(action="claim", object_id=case_id).all()
        assert [e.actor for e in entries] == ["bea"] and entries[0].detail["until"] == "2026-01-05T09:30:00"


def test_claiming_again_extends_ones_own_claim(desk, team):
    case_id, _alex, bea = team
    with desk.session() as session:
        case_claims.claim(session, case_id, bea, desk.clock.now(), 30)
    desk.clock.advance(minutes=20)
    with desk.session() as session:
        case = case_claims.claim(session, case_id, bea, desk.clock.now(), 30)
        assert f"{case.claimed_until:%H:%M}" == "09:50"


def test_a_claim_expires_and_then_anyone_may_claim_the_case(desk, team):
    case_id, alex, bea = team
    with desk.session() as session:
        case_claims.claim(session, case_id, bea, desk.clock.now(), 30)
    desk.clock.advance(minutes=31)
    with desk.session() as session:
        case = case_claims.claim(session, case_id, alex, desk.clock.now(), 30)
        assert case_claims.holder_id(case, desk.clock.now()) == alex


def test_only_the_holder_releases_a_claim_and_the_release_is_audited(desk, team):
    case_id, alex, bea = team
    with desk.session() as session:
        case_claims.claim(session, case_id, bea, desk.clock.now(), 30)
    with pytest.raises(ClaimRefused, match="only they can release it"):
        with desk.session() as session:
            case_claims.release(session, case_id, alex, desk.clock.now())
    with desk.session() as session:
        case = case_claims.release(session, case_id, bea, desk.clock.now())
        assert case_claims.holder_id(case, desk.clock.now()) is None
    with pytest.raises(UserError, match="not claimed by anyone"):
        with desk.session() as session:
            case_claims.release(session, case_id, bea, desk.clock.now())
    with desk.session() as session:
        assert session.query(AuditEntry).filter_by(action="release", actor="bea").count() == 1


def test_a_disabled_user_cannot_claim(desk, team):
    case_id, alex, _bea = team
    with desk.session() as session:
        session.get(User, alex).active = False
    with pytest.raises(UserError, match="no active user"):
        with desk.session() as session:
            case_claims.claim(session, case_id, alex, desk.clock.now(), 30)
