"""The listener protocol: fetch(cursor) -> (mentions, next_cursor), and the mention it yields."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
import logging
from typing import Any, Callable, Literal, Protocol

from bot.errors import AuthError, PermanentError, TransientError

log = logging.getLogger(__name__)


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


StreamJob = Callable[[dict[str, Any]], tuple[list[IncomingMention], dict[str, Any]]]


def fetch_streams(account_name: str, jobs: list[tuple[str, StreamJob]],
                  cursor: dict[str, Any]) -> tuple[list[IncomingMention], dict[str, Any]]:
    """Poll each stream from its own part of the cursor; one stream's trouble holds back neither the others nor their cursors."""
    cursor = dict(cursor or {})
    mentions: list[IncomingMention] = []
    seen: set[str] = set()
    errors: list[TransientError] = []
    for key, job in jobs:
        try:
            found, state = job(dict(cursor.get(key) or {}))
        except AuthError:
            raise
        except (TransientError, PermanentError) as exc:
            log.warning("account %s: %s", account_name, exc)  # this stream's cursor stays where it was
            errors.append(exc if isinstance(exc, TransientError) else TransientError(str(exc)))
            continue
        for mention in found:  # a mention can come through two streams (mentions and search)
            if mention.platform_id not in seen:
                seen.add(mention.platform_id)
                mentions.append(mention)
        cursor[key] = state
    if jobs and len(errors) == len(jobs):
        waits = [e.retry_after for e in errors if e.retry_after]
        raise TransientError(str(errors[0]), retry_after=min(waits) if waits else None)
    return mentions, cursor


class PlatformListener:
    """What the X and Facebook listeners share about their API client: call counts and rate-limit state."""

    client: Any
    _calls_reported: int = 0

    def calls_made(self) -> int:
        """API calls made since the last time this was asked (the poller adds them to the account's count)."""
        calls, self._calls_reported = self.client.api_calls - self._calls_reported, self.client.api_calls
        return calls

    def rate_limit_status(self) -> dict[str, dict[str, Any]]:
        """The platform's last rate-limit or usage headers, for status displays."""
        return self.client.rate_limits.snapshot()
