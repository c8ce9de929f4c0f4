"""Hiding a customer's public message on its platform (a rule or a person), and showing it again; each one audited.

The platform is asked first, outside any transaction (it is a network call); only what it did is recorded, on the
mention (hidden_at, hidden_by) and in the audit log. Hiding is idempotent on every platform, so a retry is safe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.errors import PlatformError
from bot.storage import audit
from bot.storage.db import transaction
from bot.storage.models import Account, Mention
from responders.base import Responder

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What became of one hide or unhide: done, or why not."""

    mention_id: int
    hidden: bool
    done: bool
    problem: str | None = None


def why_not(mention: Mention) -> str | None:
    """Why this message cannot be hidden at all (None when its platform may hide it)."""
    if mention.channel == "private":
        return f"a private message on {mention.platform} cannot be hidden"
    return None


def set_hidden(
    factory: sessionmaker[Session],
    responder_for: Callable[[str], Responder],
    mention_id: int,
    hidden: bool,
    actor: str,
    now: datetime,
    rule: str | None = None,
) -> Outcome:
    """Hide (or unhide) a mention on its platform, then record it; a platform's refusal is returned, not raised."""
    with transaction(factory) as session:
        mention = session.get(Mention, mention_id)
        if mention is None:
            return Outcome(mention_id, hidden, False, f"there is no mention {mention_id}")
        refused = why_not(mention)
        account = session.get_one(Account, mention.account_id).name  # a mention's account is kept
        platform_id, case_id = mention.platform_id, mention.case_id
    if refused is None:
        try:
            responder_for(account).hide(platform_id, hidden)
        except PlatformError as exc:
            refused = str(exc)
    if refused is not None:
        log.warning("mention %s could not be %s: %s", mention_id, "hidden" if hidden else "unhidden", refused)
        return Outcome(mention_id, hidden, False, refused)
    with transaction(factory) as session:
        record(session, session.get_one(Mention, mention_id), hidden, actor, now, case_id=case_id, rule=rule)
    return Outcome(mention_id, hidden, True)


def record(session: Session, mention: Mention, hidden: bool, actor: str, now: datetime, **detail) -> None:
    """Write down that the platform hid (or showed again) a mention: on the mention and in the audit log."""
    mention.hidden_at = now if hidden else None
    mention.hidden_by = actor if hidden else None
    extra = {k: v for k, v in detail.items() if v is not None}
    audit.record(session, now, actor, "hide" if hidden else "unhide", "mention", mention.id, **extra)
