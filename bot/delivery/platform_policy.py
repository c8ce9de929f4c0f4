"""The platform policy guard in front of every send: what the account's platform allows an automated account to post."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.platforms.registry import platform_named
from bot.storage.models import Account, Case, Draft, Mention
from responders.base import PolicyVerdict

__all__ = ["PolicyVerdict", "check"]


def check(session: Session, draft: Draft, case: Case, mention: Mention | None, now: datetime) -> PolicyVerdict:
    """The verdict for sending this draft now, by the rules of the platform of the case's account."""
    account = session.get(Account, case.account_id)
    return platform_named(account.platform if account is not None else case.platform).policy(
        session, draft, case, mention, now
    )
