"""The daemon serves the console while it runs, on 127.0.0.1, and stops it when it stops."""

from __future__ import annotations

import logging
import socket

import httpx

from bot.console.server import free_port, serve_with
from bot.runtime.daemon import Daemon
from tests.harness import Desk


def test_the_daemon_serves_the_console_and_stops_it(tmp_path, database_url, shared_triager):
    port = free_port()
    desk = Desk(tmp_path, database_url, triager=shared_triager, console={"port": port})
    daemon = Daemon(desk.service)
    serve_with(daemon)
    daemon.start()
    try:
        page = httpx.get(f"http://127.0.0.1:{port}/login", timeout=10)
        assert page.status_code == 200 and "Log in" in page.text
    finally:
        daemon.stop()
        desk.service.engine.dispose()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more


def test_a_busy_port_is_logged_and_the_daemon_keeps_working(tmp_path, database_url, shared_triager, caplog):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        desk = Desk(tmp_path, database_url, triager=shared_triager, console={"port": port})
        daemon = Daemon(desk.service)
        serve_with(daemon)
        with caplog.at_level(logging.ERROR, logger="bot.console.server"):
            daemon.start()
        try:
            assert daemon.scheduler.running
            assert "console not started" in caplog.text
        finally:
            daemon.stop()
            desk.service.engine.dispose()
