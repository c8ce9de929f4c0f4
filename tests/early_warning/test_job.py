"""The daemon runs detection as a singleton job: every interval, only in the daemon that holds its lease."""

from __future__ import annotations

from bot.coordination.leases import job_lease
from bot.runtime.daemon import Daemon
from bot.runtime.service import Service
from tests.harness import Desk


def test_detection_is_a_job_under_a_lease_held_by_one_daemon_at_a_time(desk):
    first = Daemon(desk.service)
    other = Service(desk.config, clock=desk.clock, worker="second")
    second = Daemon(other)
    for daemon in (first, second):
        daemon.schedule()
        assert job_lease("early_warning") in daemon.leases.wanted
        job = daemon.scheduler.get_job("early_warning")
        assert job.trigger.interval.total_seconds() == desk.config.early_warning.interval_seconds
    held = [first.leases.renew()[job_lease("early_warning")], second.leases.renew()[job_lease("early_warning")]]
    assert held == [True, False]
    assert first.leases.holds(job_lease("early_warning")) and not second.leases.holds(job_lease("early_warning"))
    other.engine.dispose()


def test_switched_off_there_is_no_detection_job(tmp_path, database_url):
    desk = Desk(tmp_path, database_url, early_warning={"enabled": False})
    daemon = Daemon(desk.service)
    daemon.schedule()
    assert daemon.scheduler.get_job("early_warning") is None
    desk.service.engine.dispose()
