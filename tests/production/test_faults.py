"""Faults the daemon rides out without losing or repeating anything: a full disk under SQLite, a bad config reload,
and what /healthz and /metrics say meanwhile."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
import yaml
from sqlalchemy import event, func, select, text

from bot.runtime import health
from bot.runtime.daemon import Daemon
from bot.storage.db_faults import DISK_FULL, DatabaseWatch
from bot.storage.models import Account, Mention
from tests.harness import base_config


def sqlite_only(database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("a full disk is a SQLite matter (PostgreSQL reports it the same way, as an error it waits out)")


def test_a_full_disk_under_sqlite_is_a_clear_error_and_nothing_is_half_written(desk, database_url, caplog):
    sqlite_only(database_url)
    desk.mention("@acme first message", id="disk-0")
    desk.poll()
    engine = desk.service.engine
    with engine.connect() as connection:
        pages = connection.execute(text("PRAGMA page_count")).scalar()

    def cap(dbapi_connection, _record):  # the disk has room for one more page only
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages + 1}")

    event.listen(engine, "connect", cap)
    engine.dispose()
    for number in range(40):
        desk.mention(
            "@acme " + "my order is late and nobody answers " * 60, author=f"@d{number}", id=f"disk-{number + 1}"
        )
    watch = DatabaseWatch("test.db")
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            assert watch.guard("poll", lambda: desk.service.poll_account("brand")) is None
    assert watch.problem == DISK_FULL
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "disk is full" in errors[0] and "Nothing was written" in errors[0]

    event.remove(engine, "connect", cap)
    engine.dispose()
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    with desk.session() as session:  # the failed polls stored nothing and did not move the cursor
        assert session.scalar(select(func.count(Mention.id))) == 1
        assert session.scalar(select(Account.cursor)) == {"line": 1}

    with caplog.at_level(logging.INFO):  # space is back: the next poll stores everything, once
        watch.guard("poll", lambda: desk.service.poll_account("brand"))
    assert watch.healthy
    assert any("is back" in r.getMessage() for r in caplog.records)
    with desk.session() as session:
        assert session.scalar(select(func.count(Mention.id))) == 41
        assert set(session.scalars(select(Mention.status))) == {"processed"}


def write_config(path, database_url, tmp_path, **overrides):
    data = base_config(tmp_path, database_url, **overrides)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")


def test_a_bad_config_reload_keeps_the_running_config_and_reports_why(desk, database_url, tmp_path, caplog):
    path = tmp_path / "config.yaml"
    write_config(path, database_url, tmp_path)
    daemon = Daemon(desk.service, config_path=path)
    before = desk.service.config
    errors_before = health.METRICS.value("config_reloads_total", result="error")

    path.write_text("outbox:\n  max_attempts: many\n", encoding="utf-8")
    with caplog.at_level(logging.ERROR):
        assert daemon.reloader.check() is False  # the file changed: reloaded, refused
    assert desk.service.config is before
    report = daemon.reloader.report()
    assert "outbox.max_attempts" in report["error"]
    assert any("still running with the previous config" in r.getMessage() for r in caplog.records)
    assert health.METRICS.value("config_reloads_total", result="error") == errors_before + 1
    health.attach(daemon)
    try:
        status, body = health.health_report(desk.service)
        assert status == 200 and "outbox.max_attempts" in body["config"]["error"]
    finally:
        health.detach(daemon)

    path.write_text("{not yaml", encoding="utf-8")
    assert daemon.reload_config() is False
    assert "not valid YAML" in daemon.reloader.report()["error"]

    # a good file is applied: new settings, a new account polled on its own schedule
    second = tmp_path / "second.jsonl"
    second.write_text(
        json.dumps(
            {
                "id": "r-1",
                "platform": "x",
                "text": "@acme hello from the new account",
                "author": {"id": "u9", "handle": "@new"},
                "addressed_to_brand": True,
            }
        )
        + "\n"
    )
    data = base_config(tmp_path, database_url, outbox={"max_attempts": 9})
    data["accounts"].append(
        {"name": "second", "platform": "replay", "path": str(second), "poll_interval_seconds": 2, "handle": "@acme"}
    )
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert daemon.reload_config() is True
    assert desk.service.config.outbox.max_attempts == 9
    assert desk.service.outbox.config.outbox.max_attempts == 9
    assert set(desk.service.pollers) == {"brand", "second"}
    assert "poll:second" in daemon.leases.wanted
    assert daemon.reloader.report()["error"] is None
    desk.poll()
    assert desk.case_of("r-1") is not None


def test_health_and_metrics_are_served_for_prometheus(desk):
    desk.mention("@acme the website is down again, nothing loads", id="m-1")
    desk.poll()
    daemon = Daemon(desk.service)
    daemon.leases.want("poll:brand")
    daemon.leases.renew()
    health.METRICS.inc("mentions_fetched_total", 1, account="brand")
    server = health.HealthServer(desk.service, "127.0.0.1", 0)
    server.start()
    health.attach(daemon)
    try:
        metrics = httpx.get(f"{server.url}/metrics", timeout=5)
        status = httpx.get(f"{server.url}/healthz", timeout=5)
    finally:
        health.detach(daemon)
        server.stop()
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    body = metrics.text
    for name in (
        "mentions_fetched",
        "mentions_triaged",
        "messages_sent",
        "api_calls",
        "rate_limit_waits",
        "sla_alerts",
    ):
        assert f"# TYPE mention_desk_{name}_total counter" in body and f"mention_desk_{name}_total{{" in body, name
    for name in ("drafts_pending", "outbox_messages", "queue_oldest_age_seconds", "database_up", "leases_held"):
        assert f"# TYPE mention_desk_{name} gauge" in body, name
    assert "# TYPE mention_desk_step_duration_seconds histogram" in body
    assert "mention_desk_process_resident_memory_bytes" in body  # the process collector
    assert "mention_desk_drafts_pending 1.0" in body
    assert 'mention_desk_mentions_fetched_total{account="brand",worker="' in body
    assert 'mention_desk_leases_held{lease="poll:brand",worker="' in body
    assert status.status_code == 200
    assert status.json()["database"] == "ok" and status.json()["leases"] == {"poll:brand": True}
