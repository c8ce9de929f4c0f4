"""Real receivers on 127.0.0.1 for notifications: an SMTP server (aiosmtpd) and a JSON webhook."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from aiosmtpd.controller import Controller


@dataclass
class Mailbox:
    """What the SMTP server received: one e-mail per message, with its envelope recipients."""

    messages: list[tuple[list[str], Message]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's handler API
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"

    @staticmethod
    def text(message: Message) -> str:
        """The text of an e-mail, every part of it."""
        parts = message.walk() if message.is_multipart() else [message]
        return "".join(p.get_payload(decode=True).decode() for p in parts if not p.is_multipart())

    def subjects(self) -> list[str]:
        """The subjects received, in order."""
        return [message["Subject"] for _to, message in self.messages]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    """A plain SMTP server on 127.0.0.1; yields (mailbox, port) and stops afterwards."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield mailbox, controller.port
    controller.stop()


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict]
    statuses: list[int]

    def do_POST(self):  # noqa: N802 - the http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        status = type(self).statuses.pop(0) if type(self).statuses else 200
        type(self).received.append({"path": self.path, "status": status, **body})
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook_receiver():
    """A webhook on 127.0.0.1 that records every JSON post; statuses lists the answers to give first (then 200).

    Yields (handler class with .received and .statuses, host:port)."""
    handler = type("Receiver", (_Receiver,), {"received": [], "statuses": []})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler, f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
