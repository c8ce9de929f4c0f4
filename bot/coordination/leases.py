"""Leases: each source is polled, and each singleton job run, by one daemon at a time.

A lease is a row (name, owner, expiry). Its holder renews it well before it expires; a daemon that dies stops
renewing, and after `daemon.lease_seconds` any other daemon takes it over. Acquiring and renewing are one atomic
upsert (INSERT … ON CONFLICT DO UPDATE … WHERE the lease is ours or expired), the same on PostgreSQL and SQLite.
A daemon counts a lease as held only until a safety margin before its expiry, so two daemons never both believe
they hold it, as long as their clocks agree to within that margin (run NTP).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from sqlalchemy import case, delete, select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.storage.db import dialect_insert, transaction
from bot.storage.models import Lease

log = logging.getLogger(__name__)
SAFETY_SHARE = 0.2


def poll_lease(account: str) -> str:
    """The lease name for polling one account."""
    return f"poll:{account}"


def job_lease(job: str) -> str:
    """The lease name for a singleton job (SLA checks, follow-ups)."""
    return f"job:{job}"


def try_acquire(session: Session, name: str, owner: str, now: datetime, seconds: float) -> bool:
    """Take the lease, or renew it when it is already ours; False while another owner holds it."""
    expires = now + timedelta(seconds=seconds)
    insert = dialect_insert(session, Lease).values(name=name, owner=owner, acquired_at=now, expires_at=expires)
    upsert = insert.on_conflict_do_update(
        index_elements=["name"],
        set_={
            "owner": owner,
            "expires_at": expires,
            # a renewal keeps the time it was first taken; a takeover starts a new tenure
            "acquired_at": case((Lease.owner == owner, Lease.acquired_at), else_=now),
        },
        where=(Lease.owner == owner) | (Lease.expires_at < now),
    )
    return session.scalar(upsert.returning(Lease.owner)) == owner


def holder(session: Session, name: str, now: datetime) -> str | None:
    """Who holds a lease now, or None when it is free or expired."""
    lease = session.get(Lease, name)
    return lease.owner if lease is not None and lease.expires_at >= now else None


class Leases:
    """The leases one daemon wants: renewed together by renew(), checked by holds() before each leased step."""

    def __init__(self, factory: sessionmaker[Session], clock: Clock, owner: str, seconds: float):
        self.factory = factory
        self.clock = clock
        self.owner = owner
        self.seconds = seconds
        self.wanted: list[str] = []
        self._held_until: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def want(self, name: str) -> None:
        """Ask for a lease on every renew()."""
        if name not in self.wanted:
            self.wanted.append(name)

    def renew(self) -> dict[str, bool]:
        """Acquire or renew every wanted lease; returns which ones this daemon holds now."""
        now = self.clock.now()
        margin = timedelta(seconds=self.seconds * SAFETY_SHARE)
        result: dict[str, bool] = {}
        with transaction(self.factory) as session:
            for name in list(self.wanted):
                result[name] = try_acquire(session, name, self.owner, now, self.seconds)
        with self._lock:
            for name, held in result.items():
                was_held = self._is_held(name, now)
                if held:
                    # counted from before the round trip, minus a margin: we stop before anyone else may start
                    self._held_until[name] = now + timedelta(seconds=self.seconds) - margin
                    if not was_held:
                        log.info("%s took the lease %s", self.owner, name)
                else:
                    self._held_until.pop(name, None)
        return result

    def holds(self, name: str) -> bool:
        """True while this daemon's lease on name is valid (with the safety margin)."""
        with self._lock:
            return self._is_held(name, self.clock.now())

    def _is_held(self, name: str, now: datetime) -> bool:
        until = self._held_until.get(name)
        return until is not None and until > now

    def release_all(self) -> None:
        """Give every lease back (a clean stop), so another daemon takes over at once."""
        with self._lock:
            self._held_until.clear()
        with transaction(self.factory) as session:
            session.execute(delete(Lease).where(Lease.owner == self.owner))

    def holders(self) -> dict[str, str | None]:
        """Who holds each wanted lease now (for /healthz)."""
        now = self.clock.now()
        with transaction(self.factory) as session:
            rows = {lease.name: lease for lease in session.scalars(select(Lease).where(Lease.name.in_(self.wanted)))}
        return {
            name: (rows[name].owner if name in rows and rows[name].expires_at >= now else None) for name in self.wanted
        }
