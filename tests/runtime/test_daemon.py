"""The daemon: always on, stops cleanly on SIGTERM/SIGINT, and resumes where it stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.storage.models import Draft, Mention, OutboxMessage
from tests.harness import base_config

ROOT = Path(__file__).resolve().parents[2]


def test_a_restart_between_polls_loses_nothing_and_repeats_nothing(desk):
    desk.mention("@acme the website is down again, nothing loads", id="d-1")
    desk.mention("@acme how do I reset my router?", id="d-2")
    desk.poll()
    first = desk.drafts()
    desk.approve(first[0].id)

    desk.restart()
    desk.mention("@acme the app is broken after the update, not working", id="d-3")
    desk.poll()
    desk.poll()

    with desk.session() as session:
        ids = sorted(session.scalars(select(Mention.platform_id)))
        sent = list(session.scalars(select(OutboxMessage)))
    assert ids == ["d-1", "d-2", "d-3"]
    assert len(sent) == 1 and sent[0].status == "sent"
    assert len(desk.sandbox().posted) == 0  # the new process posted nothing again
    with desk.session() as session:
        waiting = session.scalars(
            select(Mention.platform_id).join(Draft, Draft.mention_id == Mention.id).where(Draft.status == "pending")
        )
        assert set(waiting) == {"d-2", "d-3"}


def test_mentions_stored_before_a_crash_are_processed_after_the_restart(desk):
    desk.mention("@acme my bill is wrong, you charged me twice", id="k-1")
    desk.service.pollers["brand"].poll()  # stored, then the process dies before triage
    with desk.session() as session:
        assert session.scalar(select(Mention.status)) == "new"

    desk.restart()
    desk.poll()

    with desk.session() as session:
        assert session.scalar(select(Mention.status)) == "processed"
        assert len(list(session.scalars(select(Draft)))) == 2


def test_a_mention_that_breaks_triage_is_kept_as_failed_and_the_rest_go_on(tmp_path, database_url):
    from bot.triage.build import build_triager
    from tests.harness import Desk

    class Fragile:
        """The real classifier, except that one text makes it explode."""

        name = "fragile"

        def __init__(self, inner):
            self.inner = inner

        def triage(self, items, now=None):
            if any("boom" in i.text for i in items):
                raise RuntimeError("model exploded")
            return self.inner.triage(items, now)

    from bot.config import parse_config

    desk = Desk(tmp_path, database_url, triager=Fragile(build_triager(parse_config({}))))
    desk.mention("@acme boom", id="f-1")
    desk.mention("@acme how do I pay my bill online?", id="f-2")
    desk.poll()

    with desk.session() as session:
        statuses = dict(session.execute(select(Mention.platform_id, Mention.status)).all())
        error = session.scalar(select(Mention.error).where(Mention.platform_id == "f-1"))
    assert statuses == {"f-1": "failed", "f-2": "processed"}
    assert "model exploded" in error


def _start_daemon(tmp_path: Path, database_url: str) -> tuple[subprocess.Popen, Path]:
    data = base_config(tmp_path, database_url)
    data["logging"] = {"level": "INFO"}
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "db", "upgrade"],
        check=True,
        cwd=ROOT,
        env=env,
        capture_output=True,
    )
    log = tmp_path / "daemon.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "run"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    return process, log


def _wait_for(predicate, seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_the_daemon_polls_on_its_own_and_stops_cleanly_on_a_signal(tmp_path, database_url, signum):
    replay = tmp_path / "mentions.jsonl"
    replay.write_text(
        json.dumps(
            {
                "id": "s-1",
                "platform": "x",
                "text": "@acme my internet is down, not working",
                "author": {"id": "u1", "handle": "@zoe"},
                "addressed_to_brand": True,
            }
        )
        + "\n"
    )
    process, log = _start_daemon(tmp_path, database_url)
    try:
        from bot.storage.db import make_engine

        engine = make_engine(database_url)

        def drafted() -> bool:
            with engine.connect() as connection:
                return bool(connection.execute(select(Draft.id)).first())

        assert _wait_for(drafted), log.read_text()
        process.send_signal(signum)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    text = log.read_text()
    assert "stopping after the step in progress" in text
    assert "daemon stopped cleanly" in text
    assert "Traceback" not in text


def test_the_daemon_refuses_an_outdated_schema_and_names_the_fix(tmp_path):
    data = base_config(tmp_path, f"sqlite:///{tmp_path / 'empty.db'}")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "python -m bot db upgrade" in result.stderr
