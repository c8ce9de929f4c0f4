"""The database goes away and comes back: the daemon waits, logs it once, and carries on where it was; a bad config
sent with SIGHUP is refused and the daemon keeps working with the one it has."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

import pytest
from sqlalchemy.engine import make_url

from tests.production.daemons import DaemonProcess, Desk, daemon_config, wait_for
from tests.production.test_crash_safety import assert_exactly_once, data_dir, say, sim  # noqa: F401 - fixtures

# 12 s keeps the suite quick; BOT_TEST_OUTAGE_SECONDS=30 runs the full 30-second outage
OUTAGE_SECONDS = float(os.environ.get("BOT_TEST_OUTAGE_SECONDS", "12"))


def _hang_up(sock: socket.socket) -> None:
    """End a connection for both ends: shut down first, since a close alone leaves the other pump blocked in recv
    on the socket and the database session behind it open (holding its row locks) for as long as that lasts."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already shut down or closed by the other pump
    sock.close()


class FlakyLink:
    """A TCP proxy to the database that can be cut: open connections are dropped and new ones refused."""

    def __init__(self, host: str, port: int):
        self.upstream = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cut = threading.Event()
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut.is_set():
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self.lock:
                if self.cut.is_set():  # cut while connecting: this one must not outlive the outage either
                    client.close()
                    server.close()
                    continue
                self.sockets.update((client, server))
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            _hang_up(source)
            _hang_up(target)

    def down(self) -> None:
        """The database becomes unreachable."""
        with self.lock:
            self.cut.set()
            sockets, self.sockets = self.sockets, set()
        for sock in sockets:
            _hang_up(sock)

    def up(self) -> None:
        """It is back."""
        self.cut.clear()

    def close(self) -> None:
        self.down()
        self.listener.close()


def test_a_database_outage_is_waited_out_and_a_bad_reload_refused(tmp_path, database_url, sim, data_dir):  # noqa: F811
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("an unreachable database server is a PostgreSQL matter: set BOT_TEST_DATABASE_URL")
    link = FlakyLink(url.host or "127.0.0.1", url.port or 5432)
    daemon_url = url.set(host="127.0.0.1", port=link.port).render_as_string(hide_password=False)
    config = daemon_config(tmp_path / "config.yaml", daemon_url, sim, data_dir)
    desk = Desk(database_url, config)
    desk.upgrade()
    daemon = DaemonProcess(config, tmp_path / "daemon.log").start()
    try:
        say(sim, 0)
        assert wait_for(lambda: desk.counts().get("mentions_processed", 0) == 1, 90), daemon.text()[-3000:]

        link.down()
        for n in range(1, 6):  # customers keep writing while the database is away
            say(sim, n)
        time.sleep(OUTAGE_SECONDS)
        assert daemon.process.poll() is None, daemon.text()[-3000:]
        link.up()
        assert wait_for(
            lambda: desk.counts().get("mentions_processed", 0) == 6 and desk.counts()["outbox_open"] == 0,
            60,
            step=desk.approve_pending,
        ), desk.explain(daemon)
        log = daemon.text()
        assert log.count("is unreachable") == 1, log[-4000:]  # logged once, however many steps failed
        assert "is back after" in log
        assert "Traceback" not in log

        # a broken config sent with SIGHUP: refused, reported, and the daemon goes on with the old one
        good = config.read_text()
        config.write_text(good.replace("lease_seconds: 2", "lease_seconds: soon"))
        daemon.signal(signal.SIGHUP)
        assert wait_for(lambda: "config reload failed" in daemon.text(), 15), daemon.text()[-2000:]
        assert "daemon.lease_seconds" in daemon.text()
        say(sim, 6)
        assert wait_for(
            lambda: desk.counts().get("mentions_processed", 0) == 7 and desk.counts()["outbox_open"] == 0,
            30,
            step=desk.approve_pending,
        ), desk.explain(daemon)
        assert daemon.stop() == 0
        assert_exactly_once(sim, desk, 7)
    finally:
        daemon.kill()
        link.close()
        desk.dispose()
