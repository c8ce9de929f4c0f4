"""The sandbox responder: records what it would post and posts nothing."""

from __future__ import annotations

import hashlib
import logging

from responders.base import OutgoingMessage

log = logging.getLogger(__name__)


class SandboxResponder:
    """Answers with a made-up platform id and logs the message; the outbox row is the record."""

    def __init__(self, account_name: str):
        self.account_name = account_name
        self.posted: list[OutgoingMessage] = []
        self.hidden: dict[str, bool] = {}  # platform id -> hidden now, for what a rule or a person hid

    def _record(self, message: OutgoingMessage) -> str:
        post_id = "sandbox-" + hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:16]
        self.posted.append(message)
        where = (
            f"in thread {message.thread_key}"
            if message.action != "send_private"
            else f"privately to {message.recipient_handle or message.recipient_id}"
        )
        log.info(
            "sandbox %s: would %s %s (reply to %s): %r",
            self.account_name,
            message.action,
            where,
            message.in_reply_to_id,
            message.text,
        )
        return post_id

    def reply_public(self, message: OutgoingMessage) -> str:
        """Record a public reply."""
        return self._record(message)

    def send_private(self, message: OutgoingMessage) -> str:
        """Record a private message."""
        return self._record(message)

    def close_public(self, message: OutgoingMessage) -> str:
        """Record a public close."""
        return self._record(message)

    def hide(self, platform_id: str, hidden: bool) -> None:
        """Record that a message would be hidden (or unhidden)."""
        self.hidden[platform_id] = hidden
        log.info("sandbox %s: would %s %s", self.account_name, "hide" if hidden else "unhide", platform_id)

    def find_sent(self, message: OutgoingMessage) -> str | None:
        """The sandbox never loses an answer: nothing to reconcile."""
        return None
