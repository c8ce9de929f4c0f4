"""Claiming a case ("I'm on it"): one person says they handle it, others see who and until when; it expires."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.casework.cases import get_case
from bot.errors import UserError
from bot.storage import audit
from bot.storage.models import Case, User


class ClaimRefused(UserError):
    """Someone else holds the case: the message says who and until when."""


def holder_id(case: Case, now: datetime) -> int | None:
    """The id of the user whose claim on the case still runs, or None."""
    if case.claimed_by_id is not None and case.claimed_until is not None and case.claimed_until > now:
        return case.claimed_by_id
    return None


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise UserError(f"there is no active user {user_id}")
    return user


def _name(session: Session, user_id: int) -> str:
    user = session.get(User, user_id)
    return (user.display_name or user.username) if user is not None else f"user {user_id}"


def claim(session: Session, case_id: int, user_id: int, now: datetime, minutes: float) -> Case:
    """Claim a case for a user for `minutes` (claiming one's own claim again extends it); refused if another holds it."""
    case = get_case(session, case_id)
    user = _user(session, user_id)
    holder = holder_id(case, now)
    if holder is not None and holder != user.id:
        raise ClaimRefused(
            f"case {case.id} is claimed by {_name(session, holder)} until {case.claimed_until:%Y-%m-%d %H:%M} UTC; "
            "ask them, or wait for the claim to expire"
        )
    case.claimed_by_id = user.id
    case.claimed_until = now + timedelta(minutes=minutes)
    audit.record(
        session,
        now,
        user.username,
        "claim",
        "case",
        case.id,
        until=case.claimed_until.isoformat(),
        **({"extended": True} if holder == user.id else {}),
    )
    return case


def release(session: Session, case_id: int, user_id: int, now: datetime) -> Case:
    """Give up a claim; only its holder can, and a case nobody holds is refused with that said."""
    case = get_case(session, case_id)
    user = _user(session, user_id)
    holder = holder_id(case, now)
    if holder is None:
        raise UserError(f"case {case.id} is not claimed by anyone")
    if holder != user.id:
        raise ClaimRefused(
            f"case {case.id} is claimed by {_name(session, holder)} until {case.claimed_until:%Y-%m-%d %H:%M} UTC; "
            "only they can release it"
        )
    case.claimed_by_id = None
    case.claimed_until = None
    audit.record(session, now, user.username, "release", "case", case.id)
    return case
