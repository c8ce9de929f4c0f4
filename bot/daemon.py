"""The always-on daemon: one APScheduler that polls each account, runs the pipeline and sends the outbox."""
from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime, timedelta
from typing import Callable

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from bot.service import Service

log = logging.getLogger(__name__)
PIPELINE_INTERVAL_SECONDS = 5.0


class Daemon:
    """Schedules the service's work until asked to stop; stopping waits for the step in progress."""

    def __init__(self, service: Service):
        self.service = service
        self.stopping = threading.Event()
        self.scheduler = BackgroundScheduler(executors={"default": ThreadPoolExecutor(4)},
                                             job_defaults={"coalesce": True, "max_instances": 1,
                                                           "misfire_grace_time": None},
                                             timezone="UTC")
        self.on_start: list[Callable[[], None]] = []
        self.on_stop: list[Callable[[], None]] = []

    def _guarded(self, name: str, step: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            if self.stopping.is_set():
                return
            try:
                step()
            except Exception:
                log.exception("%s failed; the daemon keeps running", name)
        return run

    def schedule(self) -> None:
        """Add a job per account, one for the pipeline and one for the outbox."""
        config = self.service.config
        start = datetime.now() + timedelta(seconds=0.1)
        for name in self.service.pollers:
            account = config.account(name)
            self.scheduler.add_job(self._guarded(f"poll {name}", lambda n=name: self.service.poll_account(n)),
                                   "interval", seconds=account.poll_interval_seconds,
                                   jitter=config.daemon.jitter_seconds or None, id=f"poll:{name}", next_run_time=start)
        self.scheduler.add_job(self._guarded("pipeline", self.service.pipeline.run), "interval",
                               seconds=PIPELINE_INTERVAL_SECONDS, id="pipeline", next_run_time=start)
        self.scheduler.add_job(self._guarded("outbox", self.service.outbox.run), "interval",
                               seconds=config.daemon.outbox_interval_seconds, id="outbox", next_run_time=start)
        self._schedule_service_levels()

    def _schedule_service_levels(self) -> None:
        """SLA checks and alerts, case assignment, follow-ups and kept promises, each on its own interval."""
        from bot import assignment, eta, sla

        config = self.service.config
        self.add_job("sla", lambda: sla.run(self.service), config.sla.check_interval_seconds)
        if config.assignment.enabled:
            self.add_job("assignment", lambda: assignment.run(self.service), config.assignment.rebalance_interval_seconds)
        self.add_job("eta_promises", lambda: eta.run(self.service), config.sla.check_interval_seconds)

    def add_job(self, name: str, step: Callable[[], object], seconds: float) -> None:
        """Schedule another periodic step (SLA checks, follow-ups) under the same guard."""
        self.scheduler.add_job(self._guarded(name, step), "interval", seconds=seconds, id=name,
                               next_run_time=datetime.now() + timedelta(seconds=0.1))

    def start(self) -> None:
        """Check the schema, create account rows, and start the scheduler."""
        self.service.check_schema()
        self.service.sync_accounts()
        self.schedule()
        self.scheduler.start()
        for hook in self.on_start:
            hook()
        log.info("daemon started: %d account(s), outbox every %.1f s", len(self.service.pollers),
                 self.service.config.daemon.outbox_interval_seconds)

    def stop(self) -> None:
        """Stop after the step in progress."""
        if self.stopping.is_set() and not self.scheduler.running:
            return
        self.stopping.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        for hook in self.on_stop:
            hook()
        log.info("daemon stopped cleanly")

    def run_forever(self) -> None:
        """Run until SIGTERM or SIGINT."""
        def handle(signum, _frame):
            log.info("received %s, stopping after the step in progress", signal.Signals(signum).name)
            self.stopping.set()
        previous = {s: signal.signal(s, handle) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start()
            while not self.stopping.wait(0.5):
                pass
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
