"""The responder protocol: reply_public, send_private, close_public, and finding what was already sent."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Action = Literal["reply_public", "send_private", "close_public"]


@dataclass
class OutgoingMessage:
    """An approved reply as the outbox hands it to a responder."""

    idempotency_key: str
    action: Action
    text: str
    thread_key: str
    in_reply_to_id: str | None = None
    recipient_id: str | None = None
    recipient_handle: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Responder(Protocol):
    """Posts approved replies to one platform account; returns the platform's id of what it posted."""

    def reply_public(self, message: OutgoingMessage) -> str:
        """Post a public reply in the same thread."""
        ...

    def send_private(self, message: OutgoingMessage) -> str:
        """Send a private message (direct message, Messenger, private reply to a comment)."""
        ...

    def close_public(self, message: OutgoingMessage) -> str:
        """Post the positive public close in the same thread."""
        ...

    def find_sent(self, message: OutgoingMessage) -> str | None:
        """The platform id of this message if an earlier attempt already posted it, else None."""
        ...
