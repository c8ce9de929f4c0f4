"""Instagram listener: comments and replies on the account's media, media that tag it, and direct messages
(Instagram Graph API with the linked Page's token), the account's webhooks, and the reads a poll costs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from bot.clock import Clock, SystemClock
from bot.platforms.graph import GraphClient
from listeners.base import (
    IncomingMention,
    MalformedItem,
    as_object,
    epoch_time,
    fetch_streams,
    listed,
    parse_events,
    parse_time,
)
from listeners.meta import GraphListener, MetaSignedWebhook, epoch_seconds

if TYPE_CHECKING:
    from bot.config import AccountConfig, BrandConfig
    from bot.platform import Webhook

log = logging.getLogger(__name__)

PAGE_SIZE = 50
MAX_PAGES = 5
# Comments are read on the account's most recent media; older threads arrive through webhooks.
WATCHED_MEDIA = 10
# Replies are read under top-level comments this recent (the brand can still answer in private for 7 days);
# replies under older comments arrive through webhooks.
REPLY_WATCH = timedelta(days=7)
MEDIA_FIELDS = "id,caption,timestamp,username,permalink,media_type"
COMMENT_FIELDS = "id,text,timestamp,username,from,hidden,parent_id"
MESSAGE_FIELDS = "id,message,created_time,from,to"
STREAMS = ("comments", "tags", "direct_messages")
# Reads one quiet poll makes per stream: the media list, then each watched media's comments (plus one read of
# replies per top-level comment of the last 7 days, not counted here); the tag list; the conversation list,
# then each conversation with news (one assumed).
STREAM_CALLS = {"comments": 1 + WATCHED_MEDIA, "tags": 1, "direct_messages": 2}


# -- webhooks (the app's `instagram` object) ----------------------------------------------------------------------
class InstagramWebhook(MetaSignedWebhook):
    """Events at /webhooks/instagram: Meta's handshake and signature, `comments`, `mentions` and `messages`."""

    path = "instagram"

    def mentions(
        self, payload: dict[str, Any], trusted: list[AccountConfig]
    ) -> list[tuple[AccountConfig, list[IncomingMention]]]:
        """The mentions of each entry, for the Instagram account it is about."""
        if payload.get("object") not in (None, "instagram"):
            return []
        found = []
        for entry in listed(payload.get("entry")):
            account = next(
                (a for a in trusted if isinstance(entry, dict) and str(entry.get("id")) == a.ig_user_id), None
            )
            if account is not None:
                found.append((account, entry_mentions(entry, account)))
        return found


def entry_mentions(entry: dict[str, Any], account: AccountConfig) -> list[IncomingMention]:
    """Comments on the account's media and direct messages in one webhook entry; malformed items are skipped."""
    return parse_events(
        entry.get("changes"), lambda change: _change(change, account), log, "instagram webhook", "change"
    ) + parse_events(
        entry.get("messaging"),
        lambda event: _message_event(event, account),
        log,
        "instagram webhook",
        "messaging event",
    )


def _change(change: dict[str, Any], account: AccountConfig) -> IncomingMention | None:
    field, value = change.get("field"), change["value"]
    if field == "mentions":
        # A caption or comment elsewhere that @mentions the account carries only ids; the tags stream and the
        # comments on our own media carry the text. Nothing to store from this event alone.
        log.info(
            "instagram webhook: an @mention in media %s noted; its text is not in the event", value.get("media_id")
        )
        return None
    if field != "comments" or not value.get("text"):
        return None
    author = value.get("from") or {}
    if str(author.get("id")) == account.ig_user_id or author.get("username") == (account.handle or "").lstrip("@"):
        return None  # our own reply
    comment_id, media_id = str(value["id"]), str(value["media"]["id"])
    parent = str(value["parent_id"]) if value.get("parent_id") else None
    return IncomingMention(
        platform="instagram",
        platform_id=comment_id,
        text=str(value["text"]),
        author_id=str(author.get("id") or "unknown"),
        author_handle=f"@{author['username']}" if author.get("username") else None,
        created_at=datetime.now(UTC).replace(tzinfo=None),
        thread_key=parent or comment_id,
        in_reply_to_id=parent or media_id,
        channel="public",
        addressed_to_brand=True,
        stream="comments",
        raw=change,
    )


def _message_event(event: dict[str, Any], account: AccountConfig) -> IncomingMention | None:
    message = event.get("message")
    sender = str(event["sender"]["id"])
    if (
        not isinstance(message, dict)
        or message.get("is_echo")
        or sender == account.ig_user_id
        or not message.get("text")
    ):
        return None
    return IncomingMention(
        platform="instagram",
        platform_id=str(message["mid"]),
        text=str(message["text"]),
        author_id=sender,
        created_at=epoch_time(event["timestamp"], millis=True),
        thread_key=sender,
        channel="private",
        addressed_to_brand=True,
        stream="direct_messages",
        raw=event,
    )


class InstagramListener(GraphListener):
    """Polls one Instagram professional account: fetch(cursor) -> (mentions, next_cursor)."""

    platform: ClassVar[str] = "instagram"
    offered_streams: ClassVar[tuple[str, ...]] = STREAMS
    required: ClassVar[tuple[str, ...]] = ("ig_user_id", "page_id")
    webhook: ClassVar[Webhook | None] = InstagramWebhook()

    @classmethod
    def from_config(cls, account: AccountConfig, brand: BrandConfig, clock: Clock) -> InstagramListener:
        """The listener for a configured Instagram account."""
        return cls(account, brand, clock=clock)

    @staticmethod
    def calls_per_poll(account: AccountConfig) -> dict[str, int]:
        """Reads one quiet poll of the account makes, by stream."""
        return {stream: STREAM_CALLS[stream] for stream in (account.listen or STREAMS) if stream in STREAM_CALLS}

    def __init__(
        self,
        account: AccountConfig,
        brand: BrandConfig | None = None,
        *,
        client: GraphClient | None = None,
        clock: Clock | None = None,
        timeout: float = 10.0,
    ):
        self.account = account
        self._calls_reported = 0
        self.clock = clock or SystemClock()
        self.client = client or GraphClient(account, clock=self.clock, timeout=timeout)
        self.ig_user_id = account.ig_user_id or ""
        self.page_id = account.page_id or ""
        self.username = (account.handle or "").lstrip("@").lower()
        self.streams = [s for s in (account.listen or STREAMS) if s in STREAMS]

    def fetch(self, cursor: dict[str, Any]) -> tuple[list[IncomingMention], dict[str, Any]]:
        """New comments, tags and direct messages since cursor, and the cursor to store once they are saved."""
        jobs: dict[str, Callable[[dict[str, Any]], tuple[list[IncomingMention], dict[str, Any]]]] = {
            "comments": self._fetch_comments,
            "tags": self._fetch_tags,
            "direct_messages": self._fetch_messages,
        }
        return fetch_streams(self.account.name, [(stream, jobs[stream]) for stream in self.streams], cursor)

    def suggested_interval(self) -> float | None:
        """A longer poll interval while Meta's usage is high, else None."""
        return self.client.rate_limits.suggested_interval(self.clock.now())

    # -- streams ---------------------------------------------------------
    def _fetch_comments(self, state: dict[str, Any]) -> tuple[list[IncomingMention], dict[str, Any]]:
        """Comments and their replies on the account's recent media, since the last one seen."""
        since, seen = self._since(state), set(state.get("ids") or [])
        media = self.client.get_page(
            f"{self.ig_user_id}/media", {"fields": "id,timestamp", "limit": WATCHED_MEDIA}, bucket="media"
        ).items
        found: list[tuple[int, IncomingMention]] = []
        for item in media:
            media_id = item.get("id") if isinstance(item, dict) else None
            if not isinstance(media_id, str):
                log.warning("account %s: skipping a media item without id", self.account.name)
                continue
            watch_from = epoch_seconds(self.clock.now() - REPLY_WATCH)
            params = {"fields": COMMENT_FIELDS, "limit": PAGE_SIZE, "since": min(since, watch_from)}
            for page in self.client.iter_pages(f"{media_id}/comments", params, max_pages=MAX_PAGES, bucket="comments"):
                for stamp, mention, raw in self._convert(
                    page.items, "comments", partial(self._comment, media_id=media_id, parent_id=None)
                ):
                    if mention is not None and stamp >= since and not (stamp == since and mention.platform_id in seen):
                        found.append((stamp, mention))
                    found.extend(self._replies(raw, media_id, since, seen))
        return [m for _, m in sorted(found, key=lambda pair: pair[0])], self._advance(since, seen, found)

    def _replies(
        self, comment: dict[str, Any], media_id: str, since: int, seen: set[str]
    ) -> list[tuple[int, IncomingMention]]:
        """Replies under one top-level comment since the last one seen."""
        found = []
        params = {"fields": COMMENT_FIELDS, "limit": PAGE_SIZE, "since": since}
        for page in self.client.iter_pages(f"{comment['id']}/replies", params, max_pages=2, bucket="comments"):
            for stamp, mention, _ in self._convert(
                page.items, "comments", lambda c: self._comment(c, media_id, comment["id"])
            ):
                if stamp >= since and mention is not None and not (stamp == since and mention.platform_id in seen):
                    found.append((stamp, mention))
        return found

    def _fetch_tags(self, state: dict[str, Any]) -> tuple[list[IncomingMention], dict[str, Any]]:
        """Media by other people that tag the account, newest first, since the last one seen."""
        since, seen = self._since(state), set(state.get("ids") or [])
        found: list[tuple[int, IncomingMention]] = []
        params = {"fields": MEDIA_FIELDS, "limit": PAGE_SIZE}
        for page in self.client.iter_pages(f"{self.ig_user_id}/tags", params, max_pages=MAX_PAGES, bucket="tags"):
            older = False
            for stamp, mention, _ in self._convert(page.items, "tags", self._tagged):
                if stamp < since:
                    older = True
                    continue
                if mention is not None and not (stamp == since and mention.platform_id in seen):
                    found.append((stamp, mention))
            if older:
                break
        return [m for _, m in sorted(found, key=lambda pair: pair[0])], self._advance(since, seen, found)

    def _fetch_messages(self, state: dict[str, Any]) -> tuple[list[IncomingMention], dict[str, Any]]:
        """Direct messages in conversations updated since the last message seen."""
        return self._inbox(
            state,
            "instagram",
            "id,updated_time",
            MESSAGE_FIELDS,
            lambda items, _conversation_id: [
                (stamp, mention) for stamp, mention, _ in self._convert(items, "direct_messages", self._message)
            ],
        )

    # -- payloads --------------------------------------------------------
    def _convert(
        self, items: list[Any], stream: str, convert: Callable[[dict[str, Any]], IncomingMention | None]
    ) -> list[tuple[int, IncomingMention | None, dict[str, Any]]]:
        """(created second, mention or None for our own items, the item) per well-formed item; the rest are logged."""
        out = []
        for item in items:
            try:
                if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                    raise MalformedItem("id missing")
                stamp = epoch_seconds(parse_time(item.get("timestamp") or item.get("created_time")))
                for key in ("text", "caption", "message"):
                    if key in item and not isinstance(item[key], str):
                        raise MalformedItem(f"{key} is not text")
                mention = convert(item)
            except MalformedItem as exc:
                item_id = item.get("id") if isinstance(item, dict) else None
                log.warning(
                    "account %s: skipping malformed %s item %s: %s", self.account.name, stream, str(item_id)[:40], exc
                )
                continue
            out.append((stamp, mention, item))
        return out

    def _ours(self, author_id: str | None, username: str | None) -> bool:
        return author_id == self.ig_user_id or (bool(username) and str(username).lower() == self.username)

    def _comment(self, item: dict[str, Any], media_id: str, parent_id: str | None) -> IncomingMention | None:
        author = as_object(item.get("from"))
        username = item.get("username") or author.get("username")
        author_id = str(author.get("id") or username or "unknown")
        if self._ours(author.get("id"), username) or not item.get("text"):
            return None  # our own reply, or a comment without text
        parent_id = parent_id or (item["parent_id"] if isinstance(item.get("parent_id"), str) else None)
        return IncomingMention(
            platform="instagram",
            platform_id=item["id"],
            text=item["text"],
            author_id=author_id,
            author_handle=f"@{username}" if isinstance(username, str) else None,
            created_at=parse_time(item["timestamp"]),
            thread_key=parent_id or item["id"],
            in_reply_to_id=parent_id or media_id,
            channel="public",
            addressed_to_brand=True,
            stream="comments",
            raw=dict(item, media_id=media_id),
        )

    def _tagged(self, item: dict[str, Any]) -> IncomingMention | None:
        username = item.get("username")
        if self._ours(None, username) or not item.get("caption"):
            return None
        return IncomingMention(
            platform="instagram",
            platform_id=item["id"],
            text=item["caption"],
            author_id=str(username or "unknown"),
            author_handle=f"@{username}" if isinstance(username, str) else None,
            created_at=parse_time(item["timestamp"]),
            thread_key=item["id"],
            channel="public",
            addressed_to_brand=True,
            url=item.get("permalink") if isinstance(item.get("permalink"), str) else None,
            stream="tags",
            raw=item,
        )

    def _message(self, item: dict[str, Any]) -> IncomingMention | None:
        sender = as_object(item.get("from"))
        sender_id = sender.get("id")
        if not isinstance(sender_id, str) or self._ours(sender_id, sender.get("username")) or not item.get("message"):
            return None
        username = sender.get("username")
        return IncomingMention(
            platform="instagram",
            platform_id=item["id"],
            text=item["message"],
            author_id=sender_id,
            author_handle=f"@{username}" if isinstance(username, str) else None,
            created_at=parse_time(item["created_time"]),
            thread_key=sender_id,
            channel="private",
            addressed_to_brand=True,
            stream="direct_messages",
            raw=item,
        )
