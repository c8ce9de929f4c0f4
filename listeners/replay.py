"""Replays mentions from a JSONL file: the demo, backfills and tests."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from bot.clock import Clock, SystemClock, to_utc_naive
from bot.errors import PermanentError
from listeners.base import IncomingMention

if TYPE_CHECKING:
    from bot.config import AccountConfig, BrandConfig
    from bot.platform import Webhook

log = logging.getLogger(__name__)


class MalformedLine(ValueError):
    """A replay line that cannot become a mention."""


def parse_line(data: Any, default_platform: str, now: datetime) -> IncomingMention:
    """One replay line as a mention; raises MalformedLine naming what is wrong."""
    if not isinstance(data, dict):
        raise MalformedLine("expected a JSON object")
    for key in ("id", "text"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise MalformedLine(f"'{key}' must be a non-empty string")
    author = data.get("author") or {}
    if isinstance(author, str):
        author = {"id": author, "handle": author}
    if not isinstance(author, dict):
        raise MalformedLine("'author' must be an object or a string")
    if "age_minutes" in data:
        if not isinstance(data["age_minutes"], (int, float)):
            raise MalformedLine("'age_minutes' must be a number")
        created_at = now - timedelta(minutes=float(data["age_minutes"]))
    elif data.get("created_at"):
        try:
            created_at = to_utc_naive(datetime.fromisoformat(str(data["created_at"]).replace("Z", "+00:00")))
        except ValueError:
            raise MalformedLine("'created_at' must be an ISO 8601 time") from None
    else:
        created_at = now
    followers = author.get("followers")
    if followers is not None and not isinstance(followers, int):
        raise MalformedLine("'author.followers' must be an integer")
    channel = data.get("channel", "public")
    if channel not in ("public", "private"):
        raise MalformedLine("'channel' must be 'public' or 'private'")
    handle = author.get("handle")
    return IncomingMention(
        platform=str(data.get("platform") or default_platform),
        platform_id=data["id"],
        text=data["text"],
        author_id=str(author.get("id") or handle or "anonymous"),
        author_handle=handle,
        author_name=author.get("name"),
        author_followers=followers,
        author_verified=author.get("verified") if isinstance(author.get("verified"), bool) else None,
        created_at=created_at,
        thread_key=data.get("thread") or data["id"],
        in_reply_to_id=data.get("in_reply_to"),
        channel=channel,
        addressed_to_brand=bool(data.get("addressed_to_brand", False)),
        lang=data.get("lang"),
        url=data.get("url"),
        stream="replay",
        raw=data,
    )


class ReplayListener:
    """Reads a JSONL file from the line after the cursor; malformed lines are logged and skipped."""

    platform: ClassVar[str] = "replay"
    offered_streams: ClassVar[tuple[str, ...]] = ()
    required: ClassVar[tuple[str, ...]] = ("path",)
    webhook: ClassVar[Webhook | None] = None

    @classmethod
    def from_config(cls, account: AccountConfig, brand: BrandConfig, clock: Clock) -> ReplayListener:
        """The listener for a configured replay account."""
        return cls(account.path or "", account.batch_size, clock)

    @staticmethod
    def calls_per_poll(account: AccountConfig) -> dict[str, int]:
        """A file costs no API calls."""
        return {}

    def __init__(self, path: str, batch_size: int = 50, clock: Clock | None = None, default_platform: str = "replay"):
        self.path = Path(path)
        self.batch_size = batch_size
        self.clock = clock or SystemClock()
        self.default_platform = default_platform

    def fetch(self, cursor: dict[str, Any]) -> tuple[list[IncomingMention], dict[str, Any]]:
        """Up to batch_size mentions after the cursor's line number."""
        start = int(cursor.get("line", 0))
        try:
            handle = self.path.open(encoding="utf-8")
        except OSError as exc:
            raise PermanentError(f"cannot read replay file {self.path}: {exc.strerror}") from None
        mentions: list[IncomingMention] = []
        line_number = start
        now = self.clock.now()
        with handle:
            for number, line in enumerate(handle, start=1):
                if number <= start:
                    continue
                line_number = number
                if line.strip():
                    try:
                        mentions.append(parse_line(json.loads(line), self.default_platform, now))
                    except (json.JSONDecodeError, MalformedLine) as exc:
                        log.warning("replay %s line %d skipped: %s", self.path.name, number, exc)
                if len(mentions) >= self.batch_size:
                    break
        return mentions, {"line": line_number}
