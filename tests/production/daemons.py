"""Real daemons for the production tests: `python -m bot run` subprocesses on one database, against the simulators."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select, text

from bot.casework import approval
from bot.clock import SystemClock
from bot.errors import UserError
from bot.simulators import X_ENV, XSimulator, x_account
from bot.storage.db import make_engine, session_factory, transaction, upgrade
from bot.storage.models import Draft, Mention, OutboxMessage

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("reply", "acknowledgement", "invitation", "private_message", "close", "follow_up")
LEVELS = ["monitor", "self_service", "investigate", "private"]
OPEN_OUTBOX = ("queued", "sending", "unknown")  # outbox statuses that are not final yet


def daemon_config(path: Path, database_url: str, sim: XSimulator, data_dir: Path, **daemon: Any) -> Path:
    """A config.yaml for daemons polling the X simulator every second, with short leases, claims and retries."""
    account = x_account(sim, poll_interval_seconds=1).model_dump(exclude_none=True, exclude_defaults=True)
    account.update({"name": "acme-x", "platform": "x", "user_id": sim.brand_user_id})
    data = {
        "data_dir": str(data_dir),
        "storage": {"url": database_url, "url_env": None},
        "accounts": [account],
        # most replies go out on their own; the test approves the rest, as a person at the console would
        "approval": {"auto_approve": [{"kind": kind, "min_confidence": 0.0, "levels": LEVELS} for kind in KINDS]},
        "daemon": {
            "jitter_seconds": 0,
            "lease_seconds": 2,
            "claim_seconds": 5,
            "outbox_interval_seconds": 0.3,
            **daemon,
        },
        # a send that failed for a passing reason is tried again within seconds, not the production 30 s and more
        "outbox": {"retry_base_seconds": 2},
        "console": {"enabled": False},
        "logging": {"level": "INFO"},
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


class DaemonProcess:
    """One `python -m bot run` process, its log appended across restarts."""

    def __init__(self, config: Path, log: Path):
        self.config = config
        self.log = log
        self.process: subprocess.Popen | None = None
        self.kills = 0
        self.exits: list[int] = []

    def start(self) -> DaemonProcess:
        """Start the daemon (returns at once; it needs a few seconds to load the classifier)."""
        env = {**os.environ, **X_ENV, "PYTHONUNBUFFERED": "1"}
        env.pop("BOT_DATABASE_URL", None)
        with self.log.open("a") as handle:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "--config", str(self.config), "run"],
                cwd=ROOT,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
        return self

    def kill(self) -> None:
        """kill -9: no clean-up of any kind."""
        if self.process is None:
            return
        if self.process.poll() is not None:
            self.exits.append(self.process.returncode)  # it had stopped on its own: the test reports it
            return
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.kills += 1

    def signal(self, signum: int) -> None:
        """Send a signal (SIGHUP, SIGTERM)."""
        assert self.process is not None
        self.process.send_signal(signum)

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM and wait; returns the exit code (None when it had to be killed)."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            return None

    def text(self) -> str:
        """Everything it logged so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def notable(self, lines: int = 40) -> str:
        """The last warnings and errors it logged, APScheduler's skipped runs counted per job, for failure messages."""
        found: list[str] = []
        skipped: dict[str, int] = {}
        for line in self.text().splitlines():
            if "maximum number of running instances" in line:
                job = line.split('Execution of job "', 1)[-1].split('"', 1)[0]
                skipped[job] = skipped.get(job, 0) + 1
            elif " WARNING " in line or " ERROR " in line or "Traceback" in line:
                found.append(line)
        counts = [f"runs skipped while the previous one was still going: {job} x{n}" for job, n in skipped.items()]
        return "\n".join(found[-lines:] + counts)


class Desk:
    """The database seen from the test: approves what waits for a person, and reports progress."""

    def __init__(self, database_url: str, config_path: Path):
        from bot.config import load_config

        self.engine = make_engine(database_url)
        self.factory = session_factory(self.engine)
        self.config = load_config(config_path)
        self.clock = SystemClock()

    def upgrade(self) -> None:
        """Create the schema."""
        upgrade(self.engine)

    def approve_pending(self) -> int:
        """Approve every pending draft, like a person at the console (with an override where a check fails)."""
        approved = 0
        with transaction(self.factory) as session:
            ids = list(session.scalars(select(Draft.id).where(Draft.status == "pending")))
        for draft_id in ids:
            try:
                with transaction(self.factory) as session:
                    approval.approve(
                        session,
                        self.config,
                        draft_id,
                        "maria",
                        self.clock.now(),
                        override_reason="checked by hand in the crash test",
                    )
                approved += 1
            except approval.PolicyRefused:  # the platform's rules say a person posts it by hand: set it aside
                with transaction(self.factory) as session:
                    approval.reject(session, draft_id, "maria", "posted by hand", self.clock.now())
            except UserError:
                pass  # decided meanwhile (auto-approved by a daemon)
        return approved

    def counts(self) -> dict[str, int]:
        """Mentions by status, drafts waiting, and outbox messages not final yet."""
        with transaction(self.factory) as session:
            result = {
                f"mentions_{status}": count
                for status, count in session.execute(
                    select(Mention.status, func.count()).group_by(Mention.status)
                ).all()
            }
            result["drafts_pending"] = session.scalar(
                select(func.count()).select_from(Draft).where(Draft.status == "pending")
            )
            result["outbox_open"] = session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status.in_(OPEN_OUTBOX))
            )
            result["mentions"] = session.scalar(select(func.count()).select_from(Mention))
        return result

    def open_messages(self) -> list[dict[str, object]]:
        """The outbox messages not final yet, with what a person would look at to see why (for failure messages)."""
        columns = (
            OutboxMessage.id,
            OutboxMessage.draft_id,
            OutboxMessage.action,
            OutboxMessage.status,
            OutboxMessage.attempts,
            OutboxMessage.next_attempt_at,
            OutboxMessage.claimed_by,
            OutboxMessage.claimed_until,
            OutboxMessage.last_error,
        )
        with transaction(self.factory) as session:
            rows = session.execute(
                select(*columns).where(OutboxMessage.status.in_(OPEN_OUTBOX)).order_by(OutboxMessage.id)
            ).all()
        return [{"now": self.clock.now(), **row._asdict()} for row in rows]

    def database_sessions(self) -> list[dict[str, object]]:
        """PostgreSQL's other sessions on this database, with the locks they hold or wait for (for failure messages)."""
        if self.engine.dialect.name != "postgresql":
            return []
        query = text(
            "SELECT a.pid, a.state, a.xact_start, a.wait_event_type, a.wait_event, left(a.query, 160) AS query,"
            " (SELECT string_agg(l.relation::regclass::text || ':' || l.mode || CASE WHEN l.granted THEN '' ELSE"
            " ' (waiting)' END, ', ') FROM pg_locks l WHERE l.pid = a.pid AND l.relation IS NOT NULL) AS locks"
            " FROM pg_stat_activity a WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()"
        )
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def explain(self, *daemons: DaemonProcess) -> str:
        """Where things stand, for a failure message: counts, open outbox messages, database sessions, logs."""
        parts = [f"counts: {self.counts()}", "open outbox messages:"]
        parts += [f"  {row}" for row in self.open_messages()]
        sessions = self.database_sessions()
        if sessions:
            parts += ["database sessions:", *(f"  {row}" for row in sessions)]
        for daemon in daemons:
            parts += [
                f"warnings and errors of {daemon.log.name}:",
                daemon.notable(),
                "its last lines:",
                daemon.text()[-1500:],
            ]
        return "\n".join(parts)

    def dispose(self) -> None:
        """Close the connections."""
        self.engine.dispose()


def wait_for(predicate: Callable[[], bool], seconds: float, step: Callable[[], object] | None = None) -> bool:
    """Poll a condition (running step between looks) until it holds or the time is up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if step is not None:
            step()
        if predicate():
            return True
        time.sleep(0.25)
    return False
