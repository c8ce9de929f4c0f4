"""Database faults the daemon rides out: the server unreachable, a full disk under SQLite.

Every scheduled step runs through DatabaseWatch.guard: the first failure of an outage is logged once with what
to do, later ones quietly, and the recovery once. The steps themselves need no retry logic: each works in
transactions that roll back whole, so a step that failed half-way left nothing behind and simply runs again
on its next tick.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import exc as sa_exc

from bot import backoff

log = logging.getLogger(__name__)

UNREACHABLE = "unreachable"
DISK_FULL = "disk_full"
BUSY = "busy"
_DISK_FULL_MARKERS = ("database or disk is full", "disk is full", "no space left on device", "could not extend file")
_UNREACHABLE_MARKERS = (
    "connection refused",
    "could not connect",
    "server closed the connection",
    "connection timed out",
    "terminating connection",
    "connection is closed",
    "the database system is starting up",
    "the database system is shutting down",
    "consuming input failed",
    "ssl syscall error",
    "connection to server",
    "connection reset",
    "unable to open database file",
)


def classify(error: BaseException) -> str | None:
    """UNREACHABLE, DISK_FULL or BUSY for a database fault the daemon should wait out, else None (a real bug)."""
    if not isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DBAPIError)):
        return None
    text = str(getattr(error, "orig", None) or error).lower()
    if any(marker in text for marker in _DISK_FULL_MARKERS):
        return DISK_FULL
    if "database is locked" in text:
        return BUSY
    if getattr(error, "connection_invalidated", False) or any(marker in text for marker in _UNREACHABLE_MARKERS):
        return UNREACHABLE
    if isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        return UNREACHABLE
    return None


def explain(kind: str, database: str) -> str:
    """One line saying what is wrong and what to do."""
    if kind == DISK_FULL:
        return (
            f"the database {database} cannot grow: the disk is full. Nothing was written (each step rolls back "
            "whole, so the database stays consistent); free some space and the daemon carries on by itself"
        )
    if kind == BUSY:
        return (
            f"the SQLite database {database} stayed locked by another process; run one daemon per SQLite file "
            "(several daemons need PostgreSQL). The step runs again on its schedule"
        )
    return (
        f"the database {database} is unreachable; the daemon waits and retries every step on its schedule "
        "(logged once until it is back)"
    )


class DatabaseWatch:
    """Remembers whether the database is in trouble, so an outage is logged once and its end once."""

    def __init__(self, database: str, probe: Callable[[], object] | None = None):
        self.database = database
        # a step may succeed without touching the database (nothing to do): the probe confirms a recovery
        self.probe = probe
        self.problem: str | None = None
        self.since: float | None = None
        self.errors = 0
        self._lock = threading.Lock()

    @property
    def healthy(self) -> bool:
        """True when the last database step succeeded."""
        return self.problem is None

    def failed(self, error: BaseException) -> bool:
        """Record a failed step; True when it was a database fault (logged once per outage), False otherwise."""
        kind = classify(error)
        if kind is None:
            return False
        with self._lock:
            self.errors += 1
            first = self.problem != kind
            self.problem = kind
            if first and self.since is None:
                self.since = time.monotonic()
        if first:
            (log.error if kind == DISK_FULL else log.warning)("%s (%s)", explain(kind, self.database), _short(error))
        else:
            log.debug("database still in trouble: %s", _short(error))
        return True

    def succeeded(self) -> None:
        """Record a successful database step; logs the recovery once."""
        if self.problem is None:
            return
        if self.probe is not None:
            try:
                self.probe()
            except Exception as error:  # noqa: BLE001 - still down: stay quiet
                log.debug("database still in trouble: %s", _short(error))
                return
        with self._lock:
            problem, since = self.problem, self.since
            self.problem, self.since = None, None
        if problem is not None:
            waited = time.monotonic() - since if since else 0.0
            log.info("the database %s is back after %.0f s; carrying on", self.database, waited)

    def guard(self, name: str, step: Callable[[], object]) -> object:
        """Run a step: database faults are recorded (not raised); other errors propagate to the caller."""
        try:
            result = step()
        except Exception as error:  # noqa: BLE001 - sorted below: database faults are waited out
            if self.failed(error):
                return None
            raise
        self.succeeded()
        return result

    def wait_until_reachable(
        self, check: Callable[[], object], stopping: threading.Event, longest: float = 10.0
    ) -> bool:
        """Call check until it stops failing with a database fault (backing off up to longest s); False if stopped."""
        failures = 0
        while not stopping.is_set():
            try:
                check()
            except Exception as error:  # noqa: BLE001 - only database faults are waited out
                if not self.failed(error):
                    raise
                failures += 1
                stopping.wait(backoff.delay(failures, 0.5, longest, jitter=False))
                continue
            self.succeeded()
            return True
        return False


def _short(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__
