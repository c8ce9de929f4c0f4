"""The listener protocol: fetch(cursor) -> (mentions, next_cursor), and the mention it yields."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, Protocol

from bot.clock import to_utc_naive
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
    author_verified: bool | None = None
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


class MalformedItem(ValueError):
    """One item in a page does not have the shape we need."""


def parse_time(value: Any) -> datetime:
    """An ISO 8601 timestamp from a platform's API as naive UTC (Graph writes +0000, X writes Z)."""
    if not isinstance(value, str):
        raise MalformedItem("created time missing")
    text = value.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    try:
        return to_utc_naive(datetime.fromisoformat(text))
    except ValueError:
        raise MalformedItem(f"bad timestamp {value[:40]!r}") from None


def require_str(item: dict[str, Any], key: str) -> str:
    """item[key] as a non-empty string, or MalformedItem naming the key."""
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedItem(f"{key} missing")
    return value


class Listener(Protocol):
    """Polls one platform account; raises TransientError or AuthError from bot.errors on failure."""

    platform: ClassVar[str]

    def fetch(self, cursor: dict[str, Any]) -> tuple[list[IncomingMention], dict[str, Any]]:
        """New mentions since cursor, and the cursor to store once they are saved."""
        ...


StreamJob = Callable[[dict[str, Any]], tuple[list[IncomingMention], dict[str, Any]]]


def fetch_streams(
    account_name: str, jobs: list[tuple[str, StreamJob]], cursor: dict[str, Any]
) -> tuple[list[IncomingMention], dict[str, Any]]:
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


def epoch_time(value: Any, millis: bool = False) -> datetime:
    """A Unix time in seconds (or milliseconds) from a webhook payload as naive UTC."""
    seconds = float(value) / (1000 if millis else 1)
    return datetime.fromtimestamp(seconds, tz=UTC).replace(tzinfo=None)


def listed(value: Any) -> list[Any]:
    """A payload field that should be a list: itself if it is one, else empty (a malformed field holds nothing)."""
    return value if isinstance(value, list) else []


def as_object(value: Any) -> dict[str, Any]:
    """A payload field that should be a JSON object: itself if it is one, else empty (a malformed field holds nothing)."""
    return value if isinstance(value, dict) else {}


def parse_events(
    items: Any, parse: Callable[[Any], IncomingMention | None], logger: logging.Logger, source: str, kind: str
) -> list[IncomingMention]:
    """The mentions in a webhook payload's list of events; a malformed event is skipped with a warning."""
    mentions: list[IncomingMention] = []
    for item in listed(items):
        try:
            mention = parse(item)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            logger.warning("%s: skipping a malformed %s (%s)", source, kind, type(exc).__name__)
            continue
        if mention is not None:
            mentions.append(mention)
    return mentions
