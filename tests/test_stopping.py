"""SIGTERM at any moment of a start: the daemon stops as cleanly as it does once running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot import stopping
from bot.runtime.daemon import Daemon
from bot.stopping import command_of, stop_requested, stop_while_starting
from bot.storage.db import make_engine, upgrade

ROOT = Path(__file__).resolve().parent.parent


def test_the_command_is_found_past_the_config_option():
    assert command_of(["--config", "run", "demo", "--once"]) == "demo"
    assert command_of(["--config=x.yaml", "run"]) == "run"
    assert command_of([]) is None


def test_a_daemon_asked_to_stop_while_starting_exits_0_and_a_batch_command_says_it_did_not_finish():
    with pytest.raises(SystemExit) as daemon:
        stop_while_starting(["run"])(signal.SIGTERM, None)
    assert daemon.value.code == 0
    with pytest.raises(SystemExit) as batch:
        stop_while_starting(["triage", "--input", "a.jsonl"])(signal.SIGTERM, None)
    assert batch.value.code == 128 + signal.SIGTERM


def test_a_sigterm_swallowed_while_starting_still_stops_the_daemon_before_it_takes_any_work(desk, monkeypatch):
    monkeypatch.setattr(stopping, "_requested", threading.Event())
    try:  # where the signal lands in a finaliser, Python prints "Exception ignored" and goes on loading
        stop_while_starting(["run"])(signal.SIGTERM, None)
    except SystemExit:
        pass
    assert stop_requested()
    daemon = Daemon(desk.service)
    safety = threading.Timer(20.0, daemon.stopping.set)  # the test must end even if the daemon would run on
    safety.start()
    started = time.monotonic()
    try:
        daemon.run_forever()
    finally:
        safety.cancel()
    assert time.monotonic() - started < 10.0
    assert not daemon.scheduler.running
    assert all(owner is None for owner in daemon.leases.holders().values())  # no work taken from another daemon


@pytest.mark.parametrize("delay", [0.3, 1.5, 3.0])  # importing, building the service, starting
def test_sigterm_while_the_modules_still_load_stops_the_daemon_with_exit_0(tmp_path, delay):
    config = tmp_path / "config.yaml"
    config.write_text(
        f"data_dir: {tmp_path}\nstorage:\n  url: sqlite:///{tmp_path}/m.db\n  url_env: null\n"
        "accounts: []\nconsole:\n  enabled: false\n",
        encoding="utf-8",
    )
    engine = make_engine(f"sqlite:///{tmp_path}/m.db")
    upgrade(engine)
    engine.dispose()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "run"],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    time.sleep(delay)
    process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail("still running 60 s after SIGTERM:\n" + output.decode(errors="replace")[-3000:])
    assert process.returncode == 0, output.decode(errors="replace")[-2000:]
    assert b"Traceback" not in output and b"error" not in output.lower()
