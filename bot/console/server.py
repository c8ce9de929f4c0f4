"""Serving the console with uvicorn in a background thread (the daemon, the tests and the bench use it)."""

from __future__ import annotations

import logging
import socket
import threading
import time

import uvicorn

from bot.console import create_app

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class ConsoleServer:
    """uvicorn serving an app from a thread; start() waits until it accepts connections, stop() until it is gone."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 8765):
        self.host = host
        self.port = port
        # proxy_headers: behind a TLS-terminating proxy on this host, X-Forwarded-Proto makes cookies Secure.
        self.server = uvicorn.Server(
            uvicorn.Config(
                app, host=host, port=port, log_level="warning", access_log=False, proxy_headers=True, lifespan="off"
            )
        )
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where the console answers."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        """Start serving; raises RuntimeError when the port cannot be used."""
        # Bind here, in the caller's thread, so a busy port is a clear error rather than a dying thread.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.host, self.port))
        except OSError as exc:
            listener.close()
            raise RuntimeError(f"the console cannot listen on {self.host}:{self.port}: {exc.strerror}") from None
        listener.listen(128)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [listener]}, name="console", daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError(f"the console could not listen on {self.host}:{self.port} (is the port in use?)")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the console did not start on {self.host}:{self.port} within {timeout:.0f} s")
            time.sleep(0.02)
        log.info("console at %s", self.url)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait for the thread."""
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout)
            self.thread = None


def serve_with(daemon) -> dict[str, ConsoleServer]:
    """Serve the console while the daemon runs: started by its on_start hooks, stopped by its on_stop hooks."""
    config = daemon.service.config.console
    holder: dict[str, ConsoleServer] = {}

    def start() -> None:

        server = ConsoleServer(create_app(daemon.service), config.host, config.port)
        try:
            server.start()
        except RuntimeError as exc:
            # Listening, triage and sending go on without the console; the log says what to fix.
            log.error("console not started: %s; change console.port or stop what uses it, then restart", exc)
            server.stop()
            return
        holder["server"] = server
        log.info("console: open %s in a browser", server.url)

    def stop() -> None:
        server = holder.pop("server", None)
        if server is not None:
            server.stop()

    daemon.on_start.append(start)
    daemon.on_stop.append(stop)
    return holder
