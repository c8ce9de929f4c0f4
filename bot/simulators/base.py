"""What both simulators share: a threaded HTTP server on 127.0.0.1, injectable faults, a log of requests."""

from __future__ import annotations

import json
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

FAULT_KINDS = ("rate_limit", "auth", "server_error", "timeout", "malformed_json", "malformed_item")


@dataclass
class Fault:
    """A failure the next matching request(s) get instead of (or on top of) the normal answer."""

    kind: str
    path: str = ""
    method: str | None = None
    times: int = 1
    delay: float = 1.0
    reset_in: float = 60.0
    status: int = 503


@dataclass
class Request:
    """A request the simulator received: enough for tests to count calls and check parameters."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Reply:
    """What a route answers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class Simulator(ABC):
    """A fake platform API; subclasses implement route(request) -> Reply."""

    name = "simulator"

    def __init__(self, clock: Callable[[], datetime] | None = None):
        self.lock = threading.RLock()
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self.posted: list[dict[str, Any]] = []
        self.clock = clock or (lambda: datetime.now(UTC).replace(tzinfo=None))
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        """Serve on host:port (port 0 picks a free one) in a background thread."""
        simulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
                log.debug("%s %s", simulator.name, format % args)

            def _serve(self) -> None:
                simulator._serve(self)

            do_GET = do_POST = do_DELETE = do_PUT = _serve

        server = ThreadingHTTPServer((host, port), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"{self.name}-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL to put in api_base_url."""
        if self._server is None:
            raise RuntimeError(f"{self.name} is not running")
        host, port = self._server.socket.getsockname()[:2]  # what server_address holds, typed as str or bytes
        return f"http://{host}:{port}"

    # -- faults ----------------------------------------------------------
    def inject(self, kind: str, *, path: str = "", method: str | None = None, times: int = 1, **options: Any) -> Fault:
        """Make the next `times` requests whose path contains `path` fail with `kind` (see FAULT_KINDS)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; choose from {', '.join(FAULT_KINDS)}")
        fault = Fault(kind=kind, path=path, method=method, times=times, **options)
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Forget every injected fault."""
        with self.lock:
            self.faults.clear()

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if (fault.method is None or fault.method == method) and fault.path in path:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def calls(self, method: str | None = None, path: str = "") -> list[Request]:
        """Requests received, filtered by method and a path fragment."""
        with self.lock:
            return [r for r in self.requests if (method is None or r.method == method) and path in r.path]

    # -- serving ---------------------------------------------------------
    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body: Any = None
        content_type = handler.headers.get("Content-Type", "")
        if raw:
            if "json" in content_type:
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
            elif "form" in content_type:
                body = {k: v[-1] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
            else:
                body = raw.decode(errors="replace")
        request = Request(handler.command, parts.path, query, body, {k.lower(): v for k, v in handler.headers.items()})
        with self.lock:
            self.requests.append(request)
        fault = self._take_fault(request.method, request.path)
        if fault is not None and fault.kind in ("rate_limit", "auth", "server_error"):
            reply = self.fault_reply(fault, request)
        else:
            try:
                reply = self.route(request)
            except Exception:  # a bug in the simulator must show as a 500, like a real server
                log.exception("%s crashed on %s %s", self.name, request.method, request.path)
                reply = Reply(500, {"error": "simulator error"})
        payload: bytes
        if (
            fault is not None
            and fault.kind == "malformed_item"
            and isinstance(reply.body, dict)
            and isinstance(reply.body.get("data"), list)
            and reply.body["data"]
        ):
            reply.body["data"][0] = self.break_item(reply.body["data"][0])
        if fault is not None and fault.kind == "malformed_json" and reply.status < 400:
            payload = b'{"data": [{"id": "1", "text": '
        else:
            payload = json.dumps(reply.body).encode()
        if fault is not None and fault.kind == "timeout":
            # The work is done (a post is recorded) but the answer comes too late: the client's timeout fires.
            time.sleep(fault.delay)
        try:
            handler.send_response(reply.status)
            handler.send_header("Content-Type", "application/json; charset=utf-8")
            handler.send_header("Content-Length", str(len(payload)))
            for key, value in reply.headers.items():
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout): nothing to do

    @abstractmethod
    def route(self, request: Request) -> Reply:
        """Answer one request (each platform's simulator)."""

    @abstractmethod
    def fault_reply(self, fault: Fault, request: Request) -> Reply:
        """The answer for an injected rate-limit, auth or server-error fault (each platform's simulator)."""

    def break_item(self, item: Any) -> Any:
        """A damaged copy of one list item, for the malformed_item fault."""
        return {"id": item.get("id") if isinstance(item, dict) else None, "text": None}


def epoch(moment: datetime) -> int:
    """Naive UTC datetime to Unix seconds."""
    return int(moment.replace(tzinfo=UTC).timestamp())
