"""Silent accounts: an account that has received no mention for hours is more often broken than quiet."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.config import Config
from bot.notifications import events
from bot.storage.db import transaction
from bot.storage.models import Account, Mention, Notification

CHECK_INTERVAL_SECONDS = 300.0


def last_heard(session: Session, account: Account) -> datetime:
    """When the account last received a mention (when it was added to the service, if it never has)."""
    latest = session.scalar(select(func.max(Mention.fetched_at)).where(Mention.account_id == account.id))
    return latest or account.created_at


def check(session: Session, config: Config, now: datetime) -> list[Notification]:
    """Raise account_silent for each enabled account silent past notifications.silent_account_hours.

    The key names the last mention heard, so a silence is told once, and the next one (after a mention) again."""
    hours = config.notifications.silent_account_hours
    if not hours:
        return []
    enabled = [a.name for a in config.accounts if a.enabled]
    raised = []
    for account in session.scalars(select(Account).where(Account.name.in_(enabled)).order_by(Account.name)):
        heard = last_heard(session, account)
        if now - heard < timedelta(hours=hours):
            continue
        silent_for = (now - heard).total_seconds() / 3600
        notification = events.notify(
            session,
            now,
            events.ACCOUNT_SILENT,
            f"account_silent:{account.name}:{heard.isoformat()}",
            f"No mention from account {account.name} for {silent_for:.0f} hours",
            f"The {account.platform} account {account.name} has received no mention since "
            f"{heard:%Y-%m-%d %H:%M} UTC ({silent_for:.1f} hours; the threshold is {hours:g}). "
            f"Its health is {account.health}: check its credentials, webhooks and the platform's status.",
            account=account.name,
            platform=account.platform,
            last_mention_at=heard.isoformat(),
        )
        if notification is not None:
            raised.append(notification)
    return raised


def run(service) -> int:
    """The daemon's silence check; returns how many accounts were newly found silent."""
    with transaction(service.factory) as session:
        return len(check(session, service.config, service.clock.now()))
