"""Platform accounts in the database: created from config, with their cursor and health."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import AccountConfig, Config
from bot.storage.db import dialect_insert
from bot.storage.models import Account

HEALTH_OK = "ok"
HEALTH_RATE_LIMITED = "rate_limited"
HEALTH_BACKING_OFF = "backing_off"
HEALTH_NEEDS_REAUTH = "needs_reauth"
HEALTH_ERROR = "error"

_ENV_FIELDS = (
    "bearer_token_env",
    "access_token_env",
    "access_token_secret_env",
    "consumer_key_env",
    "consumer_secret_env",
    "app_secret_env",
)


def sync_accounts(session: Session, config: Config, now: datetime) -> dict[str, Account]:
    """Create a row for every configured account and refresh its settings; returns them by name."""
    known = set(session.scalars(select(Account.name)))
    missing = [a for a in config.accounts if a.name not in known]
    if missing:
        # ON CONFLICT: daemons started together on a new database each try to create the rows; one of them does.
        session.execute(
            dialect_insert(session, Account).on_conflict_do_nothing(index_elements=["name"]),
            [
                dict(
                    name=a.name,
                    platform=a.platform,
                    created_at=now,
                    cursor={},
                    credentials_env={},
                    health=HEALTH_OK,
                    consecutive_failures=0,
                    consecutive_auth_failures=0,
                    api_calls=0,
                )
                for a in missing
            ],
        )
    existing = {a.name: a for a in session.scalars(select(Account))}
    for account_config in config.accounts:
        _refresh(existing[account_config.name], account_config)
    session.flush()
    return existing


def _refresh(account: Account, config: AccountConfig) -> None:
    account.platform = config.platform
    account.handle = config.handle
    account.external_id = config.user_id or config.page_id
    account.credentials_env = {f: getattr(config, f) for f in _ENV_FIELDS if getattr(config, f)}


def get_account(session: Session, name: str) -> Account | None:
    """The account row with this name."""
    return session.scalar(select(Account).where(Account.name == name))


def configured_account(session: Session, name: str) -> Account:
    """The row of a configured account, which sync_accounts created at start; a clear error if it is missing."""
    account = get_account(session, name)
    if account is None:
        raise LookupError(f"account {name!r} has no row in the database: sync_accounts creates it at start")
    return account
