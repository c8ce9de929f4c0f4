"""One polling mechanism for every listener: cursor, backoff, rate-limit waits, re-authorisation."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot import backoff
from bot.clock import Clock
from bot.config import AccountConfig, Config
from bot.errors import AuthError, PermanentError, TransientError
from bot.intake import accounts
from bot.intake.ingest import store_mentions
from bot.notifications import events
from bot.storage.db import transaction
from bot.storage.models import Account
from listeners.base import Listener

log = logging.getLogger(__name__)


@dataclass
class PollResult:
    """What one poll did."""

    account: str
    fetched: int = 0
    stored: int = 0
    skipped: str | None = None
    error: str | None = None


class Poller:
    """Polls one account's listener and stores what it finds, with its cursor, in one transaction."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        config: Config,
        account: AccountConfig,
        listener: Listener,
        clock: Clock,
        fingerprint: Callable[[AccountConfig], str | None] | None = None,
    ):
        self.factory = factory
        self.config = config
        self.account = account
        self.listener = listener
        self.clock = clock
        self.fingerprint = fingerprint or (lambda _account: None)

    def poll(self) -> PollResult:
        """Fetch and store new mentions unless the account is waiting; never raises for platform trouble."""
        result = PollResult(self.account.name)
        now = self.clock.now()
        with transaction(self.factory) as session:
            row = accounts.configured_account(session, self.account.name)
            waiting = self._waiting_reason(row)
            if waiting:
                result.skipped = waiting
                return result
            cursor = dict(row.cursor or {})
        try:
            mentions, next_cursor = self.listener.fetch(cursor)
        except TransientError as exc:
            return self._transient(result, exc)
        except AuthError as exc:
            return self._auth_failed(result, exc)
        except PermanentError as exc:
            return self._failed(result, exc)
        with transaction(self.factory) as session:
            row = accounts.configured_account(session, self.account.name)
            stored = store_mentions(session, row, mentions, now)
            row.cursor = next_cursor
            recovered = (
                row.consecutive_failures > 0 or row.consecutive_auth_failures > 0 or row.health != accounts.HEALTH_OK
            )
            row.last_poll_at = row.last_success_at = now
            row.consecutive_failures = row.consecutive_auth_failures = 0
            row.health, row.health_detail, row.last_error = accounts.HEALTH_OK, None, None
            row.rate_limited_until = row.next_poll_at = None
            row.api_calls = (row.api_calls or 0) + getattr(self.listener, "calls_made", lambda: 0)()
            slower = self._slow_down_seconds()
            if slower:
                # Close to the platform's limit: poll less often now rather than hit a 429 later.
                row.next_poll_at = now + timedelta(seconds=slower)
                row.health_detail = f"near the rate limit: polling every {slower:.0f} s until the window resets"
        if recovered:
            log.info("account %s recovered: polling normally again", self.account.name)
        result.fetched, result.stored = len(mentions), len(stored)
        return result

    def _slow_down_seconds(self) -> float | None:
        """The listener's longer interval near a rate limit, when it is longer than the configured one."""
        suggested = getattr(self.listener, "suggested_interval", lambda: None)()
        if suggested and suggested > self.account.poll_interval_seconds:
            return float(suggested)
        return None

    def _waiting_reason(self, row: Account) -> str | None:
        now = self.clock.now()
        if row.health == accounts.HEALTH_NEEDS_REAUTH:
            current = self.fingerprint(self.account)
            if current is None or current == row.credentials_fingerprint:
                return "needs re-authorisation"
            log.info("account %s: credentials changed, trying again", self.account.name)
        if row.rate_limited_until and row.rate_limited_until > now:
            return f"rate-limited until {row.rate_limited_until:%H:%M:%S}"
        if row.next_poll_at and row.next_poll_at > now:
            return f"waiting until {row.next_poll_at:%H:%M:%S}"
        return None

    def _transient(self, result: PollResult, exc: TransientError) -> PollResult:
        now = self.clock.now()
        with transaction(self.factory) as session:
            row = accounts.configured_account(session, self.account.name)
            row.consecutive_failures += 1
            row.last_poll_at = now
            row.last_error = str(exc)
            if exc.retry_after is not None:
                row.rate_limited_until = now + timedelta(seconds=exc.retry_after)
                row.health = accounts.HEALTH_RATE_LIMITED
            else:
                delay = backoff.delay(
                    row.consecutive_failures, self.account.poll_interval_seconds, self.config.daemon.max_backoff_seconds
                )
                row.next_poll_at = now + timedelta(seconds=delay)
                row.health = accounts.HEALTH_BACKING_OFF
            first = row.consecutive_failures == 1
        if first:
            log.warning("account %s: %s; backing off (logged once until it recovers)", self.account.name, exc)
        result.error = str(exc)
        return result

    def _auth_failed(self, result: PollResult, exc: AuthError) -> PollResult:
        now = self.clock.now()
        with transaction(self.factory) as session:
            row = accounts.configured_account(session, self.account.name)
            row.consecutive_auth_failures += 1
            row.last_poll_at = now
            row.last_error = str(exc)
            if row.consecutive_auth_failures >= self.config.daemon.auth_failures_before_reauth:
                if row.health != accounts.HEALTH_NEEDS_REAUTH:
                    self._notify_reauth(session, row, exc, now)
                row.health = accounts.HEALTH_NEEDS_REAUTH
                row.health_detail = "the platform refused the credentials; update the token in the environment"
                row.credentials_fingerprint = self.fingerprint(self.account)
                log.error(
                    "account %s needs re-authorisation: %s; polling stopped until the token changes",
                    self.account.name,
                    exc,
                )
        result.error = str(exc)
        return result

    def _notify_reauth(self, session: Session, row: Account, exc: AuthError, now: datetime) -> None:
        """Tell people the account stopped listening until its credentials are renewed (once per episode)."""
        name = self.account.name
        events.notify(
            session,
            now,
            events.ACCOUNT_REAUTH,
            f"account_reauth:{name}:{now.isoformat()}",
            f"Account {name} needs re-authorisation",
            f"The {row.platform} account {name} stopped listening: the platform refused its credentials "
            f"{row.consecutive_auth_failures} time(s) in a row ({exc}). Update the token in the environment; "
            f"polling resumes when it changes.",
            account=name,
            platform=row.platform,
        )

    def _failed(self, result: PollResult, exc: PermanentError) -> PollResult:
        now = self.clock.now()
        with transaction(self.factory) as session:
            row = accounts.configured_account(session, self.account.name)
            row.consecutive_failures += 1
            row.health = accounts.HEALTH_ERROR
            row.last_error = str(exc)
            row.last_poll_at = now
            row.next_poll_at = now + timedelta(seconds=self.config.daemon.max_backoff_seconds)
            first = row.consecutive_failures == 1
        if first:
            log.error("account %s: %s", self.account.name, exc)
        result.error = str(exc)
        return result
