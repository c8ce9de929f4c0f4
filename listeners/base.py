"""The listener protocol: fetch(cursor) -> (mentions, next_cursor), and the mention it yields."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol


@dataclass
class IncomingMention:
    """A message as a listener hands it over, before it is stored."""

    platform: str
    platform_id: str
    text: str
    author_id: str
    created_at: datetime
    author_handle: str | None = None
    author_name: str | None = None
    author_followers: int | None = None
    thread_key: str | None = None
    in_reply_to_id: str | None = None
    channel: Literal["public", "private"] = "public"
    addressed_to_brand: bool = False
    lang: str | None = None
    url: str | None = None
    stream: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def thread(self) -> str:
        """The key that groups this message with the rest of its conversation."""
        return self.thread_key or self.platform_id


class Listener(Protocol):
    """Polls one platform account; raises TransientError or AuthError from bot.errors on failure."""

    platform: str

    def fetch(self, cursor: dict[str, Any]) -> tuple[list[IncomingMention], dict[str, Any]]:
        """New mentions since cursor, and the cursor to store once they are saved."""
        ...
