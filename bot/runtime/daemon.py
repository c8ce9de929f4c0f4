"""The always-on daemon: one APScheduler that polls each account, runs the pipeline and sends the outbox."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from bot.casework import followups
from bot.coordination.leases import Leases, job_lease, poll_lease
from bot.early_warning import job as early_warning
from bot.notifications import delivery, silence
from bot.runtime import health
from bot.runtime.reload import Reloader, apply_to_service
from bot.runtime.service import Service
from bot.service_levels import assignment, eta, sla
from bot.stopping import stop_requested
from bot.storage.db_faults import DatabaseWatch

log = logging.getLogger(__name__)
PIPELINE_INTERVAL_SECONDS = 5.0
CONFIG_CHECK_SECONDS = 2.0


class Daemon:
    """Schedules the service's work until asked to stop; stopping waits for the step in progress."""

    def __init__(self, service: Service, config_path: str | os.PathLike[str] | None = None):
        self.service = service
        config = service.config
        self.stopping = threading.Event()
        # Several daemons may share one PostgreSQL: each account is polled, and each singleton job run, only by
        # the daemon holding its lease; the pipeline and the outbox claim their work row by row instead.
        self.leases = Leases(service.factory, service.clock, service.claimant, config.daemon.lease_seconds)
        self.watch = DatabaseWatch(service.engine.url.render_as_string(hide_password=True), probe=self._probe)
        self.reloader: Reloader | None = None
        if config_path is not None:
            self.reloader = Reloader(
                config_path,
                config,
                self._apply_config,
                on_result=lambda result: health.METRICS.inc("config_reloads_total", result=result),
            )
        self.health_server: health.HealthServer | None = None
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(4)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone="UTC",
        )
        self.on_start: list[Callable[[], None]] = []
        self.on_stop: list[Callable[[], None]] = []

    def _guarded(self, name: str, step: Callable[[], object], lease: str | None = None) -> Callable[[], None]:
        def run() -> None:
            if self.stopping.is_set() or (lease is not None and not self.leases.holds(lease)):
                return
            started = time.perf_counter()
            try:
                self.watch.guard(name, step)
            except Exception:
                health.METRICS.inc("job_errors_total", job=name)
                log.exception("%s failed; the daemon keeps running", name)
            else:
                if self.watch.problem:
                    health.METRICS.inc("database_errors_total")
            finally:
                health.STEP_SECONDS.labels(job=name.split(":", 1)[0]).observe(time.perf_counter() - started)

        return run

    def _poll(self, name: str) -> None:
        """Poll one account (this daemon holds its lease) and count what happened."""
        result = self.service.poll_account(name)
        metrics = health.METRICS
        metrics.inc("mentions_fetched_total", result.fetched, account=name)
        metrics.inc("mentions_stored_total", result.stored, account=name)
        outcome = "skipped" if result.skipped else ("error" if result.error else "ok")
        metrics.inc("polls_total", account=name, outcome=outcome)
        if (result.skipped or "").startswith("rate-limited") or "rate limit" in (result.error or "").lower():
            metrics.inc("rate_limit_waits_total", account=name)

    def _pipeline(self) -> None:
        result = self.service.pipeline.run()
        health.METRICS.inc("mentions_triaged_total", result.triaged)
        health.METRICS.inc("mentions_failed_total", result.failed)
        health.METRICS.inc("drafts_created_total", result.drafts)

    def _outbox(self) -> None:
        health.METRICS.inc("messages_sent_total", self.service.outbox.run())

    def _notifications(self) -> None:
        result = delivery.run(self.service)
        health.METRICS.inc("notifications_sent_total", result.sent)
        health.METRICS.inc("notifications_failed_total", result.failed)

    def _probe(self) -> None:
        with self.service.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")

    def _renew_leases(self) -> None:
        self.leases.renew()

    def schedule(self) -> None:
        """Add a job per account, one for the pipeline and one for the outbox."""
        config = self.service.config
        start = datetime.now() + timedelta(seconds=0.1)
        self._schedule_polls()
        self.scheduler.add_job(
            self._guarded("leases", self._renew_leases),
            "interval",
            seconds=self._renew_seconds(),
            id="leases",
            next_run_time=start,
        )
        self.scheduler.add_job(
            self._guarded("pipeline", self._pipeline),
            "interval",
            seconds=PIPELINE_INTERVAL_SECONDS,
            id="pipeline",
            next_run_time=start,
        )
        self.scheduler.add_job(
            self._guarded("outbox", self._outbox),
            "interval",
            seconds=config.daemon.outbox_interval_seconds,
            id="outbox",
            next_run_time=start,
        )
        if self.reloader is not None:
            self.scheduler.add_job(
                self._guarded("config reload", self._check_config),
                "interval",
                seconds=CONFIG_CHECK_SECONDS,
                id="config-reload",
            )
        self._schedule_service_levels()
        self._schedule_notifications()

    def _schedule_service_levels(self) -> None:
        """SLA checks and alerts, case assignment, follow-ups and kept promises, each on its own interval."""

        config = self.service.config
        self.add_job("sla", lambda: sla.run(self.service), config.sla.check_interval_seconds)
        if config.assignment.enabled:
            self.add_job(
                "assignment", lambda: assignment.run(self.service), config.assignment.rebalance_interval_seconds
            )
        self.add_job("eta_promises", lambda: eta.run(self.service), config.sla.check_interval_seconds)
        if config.followups.enabled:
            self.add_job("followups", lambda: followups.run(self.service), config.followups.interval_seconds)
        if config.early_warning.enabled:
            self.add_job(
                "early_warning", lambda: early_warning.run(self.service), config.early_warning.interval_seconds
            )

    def _schedule_notifications(self) -> None:
        """Sending notifications to their channels, and the check for accounts gone silent."""
        config = self.service.config
        self.add_job("notifications", self._notifications, config.notifications.interval_seconds)
        if config.notifications.silent_account_hours:
            self.add_job("silent_accounts", lambda: silence.run(self.service), silence.CHECK_INTERVAL_SECONDS)

    def _renew_seconds(self) -> float:
        # three renewals per lease period: one or two may fail (a database blip) before the lease is lost
        return max(0.2, self.service.config.daemon.lease_seconds / 3)

    def _schedule_polls(self) -> None:
        config = self.service.config
        start = datetime.now() + timedelta(seconds=0.1)
        for name in self.service.pollers:
            account = config.account(name)
            self.leases.want(poll_lease(name))
            self.scheduler.add_job(
                self._guarded(f"poll {name}", partial(self._poll, name), lease=poll_lease(name)),
                "interval",
                seconds=account.poll_interval_seconds,
                jitter=config.daemon.jitter_seconds or None,
                id=f"poll:{name}",
                next_run_time=start,
                replace_existing=True,
            )

    def add_job(self, name: str, step: Callable[[], object], seconds: float, exclusive: bool = True) -> None:
        """Schedule another periodic step (SLA checks, follow-ups) under the same guard.

        exclusive: only the daemon holding the job's lease runs it, so several daemons never run it twice at once.
        """
        lease = job_lease(name) if exclusive else None
        if lease is not None:
            self.leases.want(lease)
        self.scheduler.add_job(
            self._guarded(name, step, lease=lease),
            "interval",
            seconds=seconds,
            id=name,
            next_run_time=datetime.now() + timedelta(seconds=0.1),
            replace_existing=True,
        )

    def _check_config(self) -> None:
        if self.reloader is not None:  # the job is scheduled only when there is a config file to watch
            self.reloader.check(watch_file=self.service.config.daemon.watch_config)

    def reload_config(self) -> bool:
        """Reload the config file now (what SIGHUP does); False when the file is bad and the old config stays."""
        return self.reloader.reload() if self.reloader is not None else False

    def _apply_config(self, new) -> None:
        """Apply a reloaded config: the service's parts, account rows, and the polling schedule."""

        old_polls = {job.id for job in self.scheduler.get_jobs() if job.id.startswith("poll:")}
        apply_to_service(self.service, new)
        self.service.sync_accounts()
        wanted = {f"poll:{name}" for name in self.service.pollers}
        for job_id in old_polls - wanted:
            self.scheduler.remove_job(job_id)
            lease = poll_lease(job_id.split(":", 1)[1])
            if lease in self.leases.wanted:
                self.leases.wanted.remove(lease)
        self._schedule_polls()
        for job_id, seconds in (("outbox", new.daemon.outbox_interval_seconds), ("leases", self._renew_seconds())):
            job = self.scheduler.get_job(job_id)
            if job is not None:
                job.reschedule("interval", seconds=seconds)
        self.leases.seconds = new.daemon.lease_seconds

    def start(self) -> None:
        """Wait for the database, check the schema, create account rows, take leases, and start the scheduler."""
        if not self.watch.wait_until_reachable(self.service.check_schema, self.stopping):
            return
        self.service.sync_accounts()
        self.schedule()
        self.watch.guard("leases", self._renew_leases)
        self.scheduler.start()
        health.attach(self)
        port = self.service.config.daemon.metrics_port
        if port:
            self.health_server = health.HealthServer(self.service, self.service.config.daemon.metrics_host, port)
            self.health_server.start()
        for hook in self.on_start:
            hook()
        log.info(
            "daemon started: %d account(s), outbox every %.1f s",
            len(self.service.pollers),
            self.service.config.daemon.outbox_interval_seconds,
        )

    def stop(self) -> None:
        """Stop after the step in progress."""
        if self.stopping.is_set() and not self.scheduler.running:
            return
        self.stopping.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        for hook in self.on_stop:
            hook()
        if self.health_server is not None:
            self.health_server.stop()
            self.health_server = None
        health.detach(self)
        try:
            self.leases.release_all()  # another daemon takes over at once instead of after the lease expires
        except Exception as error:  # noqa: BLE001 - the leases simply expire
            log.warning("could not give the leases back (%s); they expire in %.0f s", error, self.leases.seconds)
        log.info("daemon stopped cleanly")

    def run_forever(self) -> None:
        """Run until SIGTERM or SIGINT."""

        def handle(signum, _frame):
            log.info("received %s, stopping after the step in progress", signal.Signals(signum).name)
            self.stopping.set()

        def hang_up(_signum, _frame):
            log.info("received SIGHUP, reloading the config")
            if self.reloader is not None:
                self.reloader.request()  # applied by the reload job, outside the signal handler

        previous = {s: signal.signal(s, handle) for s in (signal.SIGTERM, signal.SIGINT)}
        previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, hang_up)
        if stop_requested():
            log.info("received SIGTERM while starting, stopping")
            self.stopping.set()
        try:
            self.start()
            while not self.stopping.wait(0.5):
                pass
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
