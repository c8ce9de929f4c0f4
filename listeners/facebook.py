"""Facebook listener: comments on the Page's posts, visitor posts, posts that tag the Page, Messenger (Graph API),
Page webhook events, and the reads a poll costs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
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

PAGE_SIZE = 100
MAX_PAGES = 5
# Comments are read on the Page's most recent posts; older threads arrive through webhooks.
WATCHED_POSTS = 10
POST_FIELDS = "id,message,from,created_time,permalink_url"
COMMENT_FIELDS = "id,message,from,created_time,parent{id},permalink_url"
MESSAGE_FIELDS = "id,message,from,to,created_time"
STREAMS = ("comments", "visitor_posts", "tagged", "messenger")
# Reads one quiet poll makes per stream: comments list the recent posts, then read each watched post; Messenger
# lists the conversations, then reads each one with news (one assumed). A busy stream reads more pages.
STREAM_CALLS = {"comments": 1 + WATCHED_POSTS, "visitor_posts": 1, "tagged": 1, "messenger": 2}


# -- webhooks (Meta Page subscriptions) ---------------------------------------------------------------------------
class MetaWebhook(MetaSignedWebhook):
    """Page events at /webhooks/meta: the subscription handshake, the signature, comments, posts and Messenger."""

    path = "meta"

    def mentions(
        self, payload: dict[str, Any], trusted: list[AccountConfig]
    ) -> list[tuple[AccountConfig, list[IncomingMention]]]:
        """The mentions of each entry, for the Page it is about."""
        found = []
        for entry in listed(payload.get("entry")):
            account = next((a for a in trusted if isinstance(entry, dict) and str(entry.get("id")) == a.page_id), None)
            if account is not None:
                found.append((account, entry_mentions(entry, account.page_id or "")))
        return found


def entry_mentions(entry: dict[str, Any], page_id: str) -> list[IncomingMention]:
    """The mentions in one webhook entry: feed comments and visitor posts, Page mentions, Messenger messages."""
    return parse_events(
        entry.get("changes"), lambda change: _change(change, page_id), log, "meta webhook", "change"
    ) + parse_events(
        entry.get("messaging"), lambda event: _message(event, page_id), log, "meta webhook", "messaging event"
    )


def _change(change: dict[str, Any], page_id: str) -> IncomingMention | None:
    field, value = change.get("field"), change["value"]
    if value.get("verb") != "add" or not value.get("message"):
        return None  # edits, removals, likes, photo-only posts
    author = value.get("from") or {}
    if str(author.get("id")) == page_id:
        return None
    created = (
        epoch_time(value["created_time"])
        if isinstance(value.get("created_time"), (int, float))
        else datetime.now(UTC).replace(tzinfo=None)
    )
    common: dict[str, Any] = {
        "platform": "facebook",
        "text": str(value["message"]),
        "author_id": str(author.get("id") or "unknown"),
        "author_name": author.get("name"),
        "created_at": created,
        "channel": "public",
        "addressed_to_brand": True,
        "raw": change,
    }
    if field == "feed" and value.get("item") == "comment":
        comment_id, post_id = str(value["comment_id"]), str(value["post_id"])
        parent = str(value.get("parent_id") or post_id)
        top = comment_id if parent == post_id else parent
        return IncomingMention(
            platform_id=comment_id, thread_key=top, in_reply_to_id=parent, stream="comments", **common
        )
    if field == "feed" and value.get("item") in ("post", "status", "photo", "video"):
        post_id = str(value["post_id"])
        return IncomingMention(platform_id=post_id, thread_key=post_id, stream="visitor_posts", **common)
    if field == "mention" and value.get("item") == "post":
        post_id = str(value["post_id"])
        return IncomingMention(platform_id=post_id, thread_key=post_id, stream="tagged", **common)
    return None


def _message(event: dict[str, Any], page_id: str) -> IncomingMention | None:
    message = event.get("message")
    sender = str(event["sender"]["id"])
    if not isinstance(message, dict) or message.get("is_echo") or sender == page_id or not message.get("text"):
        return None
    return IncomingMention(
        platform="facebook",
        platform_id=str(message["mid"]),
        text=str(message["text"]),
        author_id=sender,
        created_at=epoch_time(event["timestamp"], millis=True),
        thread_key=sender,
        channel="private",
        addressed_to_brand=True,
        stream="messenger",
        raw=event,
    )


class FacebookListener(GraphListener):
    """Polls one Facebook Page: fetch(cursor) -> (mentions, next_cursor)."""

    platform: ClassVar[str] = "facebook"
    offered_streams: ClassVar[tuple[str, ...]] = STREAMS
    required: ClassVar[tuple[str, ...]] = ("page_id",)
    webhook: ClassVar[Webhook | None] = MetaWebhook()

    @classmethod
    def from_config(cls, account: AccountConfig, brand: BrandConfig, clock: Clock) -> FacebookListener:
        """The listener for a configured Facebook Page."""
        return cls(account, brand, clock=clock)

    @staticmethod
    def calls_per_poll(account: AccountConfig) -> dict[str, int]:
        """Reads one quiet poll of the Page makes, by stream."""
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
        self.page_id = account.page_id or ""
        self.streams = [s for s in (account.listen or STREAMS) if s in STREAMS]

    def fetch(self, cursor: dict[str, Any]) -> tuple[list[IncomingMention], dict[str, Any]]:
        """New comments, visitor posts, tags and Messenger messages since cursor, and the cursor to store after."""
        jobs: dict[str, Callable[[dict[str, Any]], tuple[list[IncomingMention], dict[str, Any]]]] = {
            "comments": self._fetch_comments,
            "visitor_posts": lambda state: self._fetch_posts("visitor_posts", state),
            "tagged": lambda state: self._fetch_posts("tagged", state),
            "messenger": self._fetch_messenger,
        }
        return fetch_streams(self.account.name, [(stream, jobs[stream]) for stream in self.streams], cursor)

    def suggested_interval(self) -> float | None:
        """A longer poll interval while Meta's usage is high, else None."""
        return self.client.rate_limits.suggested_interval(self.clock.now())

    # -- streams ---------------------------------------------------------
    def _fetch_comments(self, state: dict[str, Any]) -> tuple[list[IncomingMention], dict[str, Any]]:
        """Comments and replies on recent Page posts, oldest first, since the last one seen."""
        since, seen = self._since(state), set(state.get("ids") or [])
        posts = self.client.get_page(
            f"{self.page_id}/posts", {"fields": "id,created_time", "limit": WATCHED_POSTS}, bucket="posts"
        ).items
        found: list[tuple[int, IncomingMention]] = []
        capped_at: list[int] = []
        for post in posts:
            post_id = post.get("id") if isinstance(post, dict) else None
            if not isinstance(post_id, str):
                log.warning("account %s: skipping a post without id", self.account.name)
                continue
            params = {
                "filter": "stream",
                "order": "chronological",
                "since": since,
                "limit": PAGE_SIZE,
                "fields": COMMENT_FIELDS,
            }
            last_stamp = since
            pages = list(self.client.iter_pages(f"{post_id}/comments", params, max_pages=MAX_PAGES, bucket="comments"))
            for page in pages:
                for stamp, mention in self._convert(page.items, "comments", partial(self._comment, post_id=post_id)):
                    last_stamp = max(last_stamp, stamp)
                    if mention is not None and not (stamp == since and mention.platform_id in seen):
                        found.append((stamp, mention))
            if pages and pages[-1].next_after:
                capped_at.append(last_stamp)  # the rest of this post's comments wait for the next poll
        return [m for _, m in found], self._advance(since, seen, found, min(capped_at) if capped_at else None)

    def _fetch_posts(self, stream: str, state: dict[str, Any]) -> tuple[list[IncomingMention], dict[str, Any]]:
        """Visitor posts or posts that tag the Page since the last one seen, newest first.

        When more arrived than one poll reads, the cursor keeps `until` (the oldest read) and the newest
        position as `pending`; the next polls read the gap below `until` before moving on to `pending`.
        """
        since, seen = self._since(state), set(state.get("ids") or [])
        until, pending, read_at_until = state.get("until"), state.get("pending"), set(state.get("until_ids") or [])
        params: dict[str, Any] = {"since": since, "limit": PAGE_SIZE, "fields": POST_FIELDS}
        if isinstance(until, int):
            params["until"] = until
        found: list[tuple[int, IncomingMention]] = []
        oldest: int | None = None
        pages = list(self.client.iter_pages(f"{self.page_id}/{stream}", params, max_pages=MAX_PAGES, bucket=stream))
        for page in pages:
            for stamp, mention in self._convert(page.items, stream, lambda item: self._post(item, stream)):
                oldest = stamp if oldest is None else min(oldest, stamp)
                if (
                    mention is None
                    or (stamp == since and mention.platform_id in seen)
                    or (stamp == until and mention.platform_id in read_at_until)
                ):
                    continue
                found.append((stamp, mention))
        mentions = [m for _, m in found]
        if pages and pages[-1].next_after and oldest is not None:
            newest = pending if isinstance(pending, dict) else self._advance(since, seen, found, None)
            at_oldest = {m.platform_id for stamp, m in found if stamp == oldest}
            if oldest == until:
                at_oldest |= read_at_until
            return mentions, {
                "since": since,
                "ids": sorted(seen),
                "until": oldest,
                "until_ids": sorted(at_oldest),
                "pending": newest,
            }
        if isinstance(pending, dict):
            return mentions, pending
        return mentions, self._advance(since, seen, found, None)

    def _fetch_messenger(self, state: dict[str, Any]) -> tuple[list[IncomingMention], dict[str, Any]]:
        """Messages in Messenger conversations updated since the last message seen."""
        return self._inbox(
            state,
            "messenger",
            "id,updated_time,participants",
            MESSAGE_FIELDS,
            lambda items, conversation_id: self._convert(
                items, "messenger", lambda item: self._message(item, conversation_id)
            ),
        )

    # -- payloads --------------------------------------------------------
    def _convert(
        self, items: list[Any], stream: str, convert: Callable[[dict[str, Any]], IncomingMention | None]
    ) -> list[tuple[int, IncomingMention | None]]:
        """(created second, mention or None for our own items) per well-formed item; malformed ones are logged."""
        out: list[tuple[int, IncomingMention | None]] = []
        for item in items:
            try:
                if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                    raise MalformedItem("id missing")
                stamp = epoch_seconds(parse_time(item.get("created_time")))
                if "message" in item and not isinstance(item["message"], str):
                    raise MalformedItem("message is not text")
                mention = convert(item)
            except MalformedItem as exc:
                item_id = item.get("id") if isinstance(item, dict) else None
                log.warning(
                    "account %s: skipping malformed %s item %s: %s", self.account.name, stream, str(item_id)[:40], exc
                )
                continue
            out.append((stamp, mention))
        return out

    def _author(self, item: dict[str, Any]) -> tuple[str, str | None]:
        author = as_object(item.get("from"))
        author_id, name = author.get("id"), author.get("name")
        return (author_id if isinstance(author_id, str) else "unknown"), (name if isinstance(name, str) else None)

    def _comment(self, item: dict[str, Any], post_id: str) -> IncomingMention | None:
        author_id, name = self._author(item)
        if author_id == self.page_id or not item.get("message"):
            return None  # our own reply, or a sticker/photo without text
        parent = as_object(item.get("parent"))
        parent_id = parent.get("id") if isinstance(parent.get("id"), str) else None
        return IncomingMention(
            platform="facebook",
            platform_id=item["id"],
            text=item["message"],
            author_id=author_id,
            created_at=parse_time(item["created_time"]),
            author_name=name,
            thread_key=parent_id or item["id"],
            in_reply_to_id=parent_id or post_id,
            channel="public",
            addressed_to_brand=True,
            url=item.get("permalink_url") if isinstance(item.get("permalink_url"), str) else None,
            stream="comments",
            raw=item,
        )

    def _post(self, item: dict[str, Any], stream: str) -> IncomingMention | None:
        author_id, name = self._author(item)
        if author_id == self.page_id or not item.get("message"):
            return None
        return IncomingMention(
            platform="facebook",
            platform_id=item["id"],
            text=item["message"],
            author_id=author_id,
            created_at=parse_time(item["created_time"]),
            author_name=name,
            thread_key=item["id"],
            channel="public",
            addressed_to_brand=True,
            url=item.get("permalink_url") if isinstance(item.get("permalink_url"), str) else None,
            stream=stream,
            raw=item,
        )

    def _message(self, item: dict[str, Any], conversation_id: str) -> IncomingMention | None:
        author_id, name = self._author(item)
        if author_id == self.page_id or not item.get("message"):
            return None
        return IncomingMention(
            platform="facebook",
            platform_id=item["id"],
            text=item["message"],
            author_id=author_id,
            created_at=parse_time(item["created_time"]),
            author_name=name,
            thread_key=author_id,  # the person's page-scoped id: what webhooks carry too, so both make one case
            channel="private",
            addressed_to_brand=True,
            stream="messenger",
            raw=dict(item, conversation_id=conversation_id),
        )
