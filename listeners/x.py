"""X listener: mentions of the brand, recent-search queries and direct messages through tweepy (API v2),
Account Activity webhook events, and the reads a poll costs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from bot.clock import Clock
from bot.errors import TransientError
from bot.platform import SecretReader, Webhook, WebhookRefused
from bot.platforms.x import XClient
from listeners.base import (
    IncomingMention,
    MalformedItem,
    PlatformListener,
    as_object,
    epoch_time,
    fetch_streams,
    parse_events,
    parse_time,
    require_str,
)

if TYPE_CHECKING:
    from bot.config import AccountConfig, BrandConfig

log = logging.getLogger(__name__)

PAGE_SIZE = 100
# Pages per stream per poll; past this the cursor remembers the gap and the next poll drains it.
MAX_PAGES = 5
STREAMS = ("mentions", "search", "direct_messages")
TWEET_FIELDS = [
    "id",
    "text",
    "author_id",
    "created_at",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
    "lang",
    "entities",
]
USER_FIELDS = ["id", "name", "username", "public_metrics", "verified"]
DM_FIELDS = ["id", "text", "event_type", "created_at", "sender_id", "dm_conversation_id", "participant_ids"]
_AT = re.compile(r"(?<![\w@])@(\w{1,15})")


# -- webhooks (Account Activity API) ------------------------------------------------------------------------------
def crc_response(consumer_secret: str, crc_token: str) -> str:
    """The response_token X expects for a CRC check: base64 of the HMAC-SHA256 of crc_token."""
    digest = hmac.new(consumer_secret.encode(), crc_token.encode(), hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def signature(consumer_secret: str, body: bytes) -> str:
    """The x-twitter-webhooks-signature value X sends with an event."""
    return "sha256=" + base64.b64encode(hmac.new(consumer_secret.encode(), body, hashlib.sha256).digest()).decode()


class XWebhook:
    """Account Activity events at /webhooks/x: the CRC check, the signature, tweets and DMs for our accounts."""

    path = "x"

    def challenge(
        self, query: Mapping[str, str], accounts: list[AccountConfig], secret: SecretReader
    ) -> dict[str, str]:
        """X's challenge-response check: the HMAC of crc_token with the app's consumer secret."""
        crc_token = query.get("crc_token")
        if crc_token is None:
            raise WebhookRefused(422, "crc_token is missing")
        consumer_secret = next((s for a in accounts if (s := secret(a, "consumer_secret_env"))), None)
        if consumer_secret is None:
            raise WebhookRefused(404, "no x account with a consumer secret")
        return {"response_token": crc_response(consumer_secret, crc_token)}

    def trusted(
        self, headers: Mapping[str, str], body: bytes, accounts: list[AccountConfig], secret: SecretReader
    ) -> list[AccountConfig]:
        """The accounts whose consumer secret signed this body."""
        header = headers.get("x-twitter-webhooks-signature", "")
        return [
            a
            for a in accounts
            if (s := secret(a, "consumer_secret_env")) and hmac.compare_digest(signature(s, body), header)
        ]

    def mentions(
        self, payload: dict[str, Any], trusted: list[AccountConfig]
    ) -> list[tuple[AccountConfig, list[IncomingMention]]]:
        """The tweets and DMs of one event, for the account it is for."""
        account = next((a for a in trusted if str(payload.get("for_user_id")) == a.user_id), None)
        return [(account, activity_mentions(payload, account))] if account is not None else []


def activity_mentions(payload: dict[str, Any], account: AccountConfig) -> list[IncomingMention]:
    """Tweets that involve the account and DMs it received, from one Account Activity event."""
    users = as_object(payload.get("users"))
    handle = (account.handle or "").lstrip("@").lower()
    return parse_events(
        payload.get("tweet_create_events"),
        lambda tweet: _event_tweet(tweet, account, handle),
        log,
        "x webhook",
        "tweet event",
    ) + parse_events(
        payload.get("direct_message_events"),
        lambda event: _event_dm(event, account, users),
        log,
        "x webhook",
        "DM event",
    )


def _event_tweet(tweet: dict[str, Any], account: AccountConfig, handle: str) -> IncomingMention | None:
    user = tweet["user"]
    if str(user["id_str"]) == account.user_id or "retweeted_status" in tweet:
        return None
    text = (tweet.get("extended_tweet") or {}).get("full_text") or tweet["text"]
    mentioned = {str(m.get("id_str")) for m in (tweet.get("entities") or {}).get("user_mentions") or []}
    names = {str(m.get("screen_name", "")).lower() for m in (tweet.get("entities") or {}).get("user_mentions") or []}
    tweet_id = str(tweet["id_str"])
    in_reply_to = tweet.get("in_reply_to_status_id_str")
    # v1.1 payloads carry no conversation_id: a reply joins the thread of the post it answers.
    thread = str(tweet.get("conversation_id_str") or tweet.get("conversation_id") or in_reply_to or tweet_id)
    lang = tweet.get("lang") if tweet.get("lang") not in (None, "und") else None
    return IncomingMention(
        platform="x",
        platform_id=tweet_id,
        text=text,
        author_id=str(user["id_str"]),
        created_at=parsedate_to_datetime(tweet["created_at"]).astimezone(UTC).replace(tzinfo=None),
        author_handle=f"@{user['screen_name']}",
        author_name=user.get("name"),
        author_followers=user.get("followers_count"),
        thread_key=thread,
        in_reply_to_id=in_reply_to,
        channel="public",
        addressed_to_brand=account.user_id in mentioned
        or handle in names
        or tweet.get("in_reply_to_user_id_str") == account.user_id,
        lang=lang,
        url=f"https://x.com/{user['screen_name']}/status/{tweet_id}",
        stream="mentions",
        raw=tweet,
    )


def _event_dm(event: dict[str, Any], account: AccountConfig, users: dict[str, Any]) -> IncomingMention | None:
    if event.get("type") != "message_create":
        return None
    create = event["message_create"]
    sender = str(create["sender_id"])
    if sender == account.user_id:
        return None
    recipient = str(create["target"]["recipient_id"])
    user = as_object(users.get(sender))
    low, high = sorted((sender, recipient), key=lambda v: int(v) if v.isdigit() else 0)
    return IncomingMention(
        platform="x",
        platform_id=str(event["id"]),
        text=str(create["message_data"]["text"]),
        author_id=sender,
        created_at=epoch_time(event["created_timestamp"], millis=True),
        author_handle=f"@{user['screen_name']}" if user.get("screen_name") else None,
        author_name=user.get("name"),
        author_followers=user.get("followers_count"),
        thread_key=f"{low}-{high}",
        channel="private",
        addressed_to_brand=True,
        stream="direct_messages",
        raw=event,
    )


class XListener(PlatformListener):
    """Polls one X account: fetch(cursor) -> (mentions, next_cursor)."""

    platform: ClassVar[str] = "x"
    offered_streams: ClassVar[tuple[str, ...]] = STREAMS
    required: ClassVar[tuple[str, ...]] = ("user_id",)
    webhook: ClassVar[Webhook | None] = XWebhook()

    @classmethod
    def from_config(cls, account: AccountConfig, brand: BrandConfig, clock: Clock) -> XListener:
        """The listener for a configured X account."""
        return cls(account, brand, clock=clock)

    @staticmethod
    def calls_per_poll(account: AccountConfig) -> dict[str, int]:
        """Reads one quiet poll makes, by stream: one page each (a busy stream reads more: docs/platforms.md)."""
        streams = list(account.listen) or list(STREAMS)
        calls: dict[str, int] = {}
        if "mentions" in streams:
            calls["mentions"] = 1
        if "search" in streams:
            for query in account.search_queries:
                calls[f"search:{query}"] = 1
        if "direct_messages" in streams and (account.listen or account.access_token_env):
            calls["direct_messages"] = 1
        return calls

    def __init__(
        self,
        account: AccountConfig,
        brand: BrandConfig | None = None,
        *,
        client: XClient | None = None,
        clock: Clock | None = None,
        timeout: float = 10.0,
    ):
        self.account = account
        self._calls_reported = 0
        self.client = client or XClient(account, clock=clock, timeout=timeout)
        handles = list(brand.handles if brand else []) + ([account.handle] if account.handle else [])
        self.brand_handles = {h.lstrip("@").lower() for h in handles}
        self.streams = self._streams()

    def _streams(self) -> list[str]:
        wanted = list(self.account.listen) or list(STREAMS)
        streams = [s for s in wanted if s in STREAMS]
        if not self.account.search_queries and "search" in streams:
            streams.remove("search")
        if "direct_messages" in streams and not self.account.listen and not self.client.has_user_context:
            log.warning("account %s: no user credentials, direct messages are not polled", self.account.name)
            streams.remove("direct_messages")
        return streams

    # -- the protocol ----------------------------------------------------
    def fetch(self, cursor: dict[str, Any]) -> tuple[list[IncomingMention], dict[str, Any]]:
        """New mentions, search results and DMs since cursor, and the cursor to store once they are saved."""
        jobs: list[tuple[str, Callable[[dict[str, Any]], tuple[list[IncomingMention], dict[str, Any]]]]] = []
        if "mentions" in self.streams:
            jobs.append(("mentions", self._fetch_mentions))
        if "search" in self.streams:
            for query in self.account.search_queries:
                jobs.append((f"search:{query}", partial(self._fetch_search, query)))
        if "direct_messages" in self.streams:
            jobs.append(("dm", self._fetch_dms))
        return fetch_streams(self.account.name, jobs, cursor)

    def suggested_interval(self) -> float | None:
        """A longer poll interval while a rate-limit window is nearly spent, else None."""
        return self.client.suggested_interval()

    # -- streams ---------------------------------------------------------
    def _fetch_mentions(self, state: dict[str, Any]) -> tuple[list[IncomingMention], dict[str, Any]]:
        def page(params: dict[str, Any]) -> dict[str, Any]:
            return self.client.call("mentions", "get_users_mentions", id=self.account.user_id, **params)

        return self._timeline(page, state, "mentions")

    def _fetch_search(self, query: str, state: dict[str, Any]) -> tuple[list[IncomingMention], dict[str, Any]]:
        def page(params: dict[str, Any]) -> dict[str, Any]:
            return self.client.call("search", "search_recent_tweets", query=query, **params)

        return self._timeline(page, state, "search", token_param="next_token")

    def _timeline(
        self,
        call: Callable[[dict[str, Any]], dict[str, Any]],
        state: dict[str, Any],
        stream: str,
        token_param: str = "pagination_token",
    ) -> tuple[list[IncomingMention], dict[str, Any]]:
        """Newest-first pages since since_id; a poll that stops early keeps (until_id, newest_id) to drain the gap."""
        since, until, pending_newest = state.get("since_id"), state.get("until_id"), state.get("newest_id")
        params: dict[str, Any] = {
            "max_results": PAGE_SIZE,
            "tweet_fields": TWEET_FIELDS,
            "user_fields": USER_FIELDS,
            "expansions": ["author_id", "referenced_tweets.id", "in_reply_to_user_id"],
        }
        if since:
            params["since_id"] = since
        if until:
            params["until_id"] = until
        mentions: list[IncomingMention] = []
        newest, oldest, next_token = None, None, None
        for _ in range(MAX_PAGES if since else 1):  # the first poll takes one page: no backfill of old history
            body = call(params)
            items, users, meta = self._page_parts(body)
            newest = newest or meta.get("newest_id")
            oldest = meta.get("oldest_id") or oldest
            mentions.extend(self._convert(items, users, stream, self._tweet))
            next_token = meta.get("next_token")
            if not next_token:
                break
            params[token_param] = next_token
        if next_token and since:
            gap = {"since_id": since, "until_id": oldest or until, "newest_id": pending_newest or newest}
            return mentions, gap
        best = max((i for i in (pending_newest, newest, since) if i), key=int, default=None)
        return mentions, ({"since_id": best} if best else {})

    def _fetch_dms(self, state: dict[str, Any]) -> tuple[list[IncomingMention], dict[str, Any]]:
        """DM events have no since_id: walk pages newest first until the last seen id."""
        seen, resume, pending_newest = state.get("newest_id"), state.get("resume_token"), state.get("pending_newest")
        params: dict[str, Any] = {
            "max_results": PAGE_SIZE,
            "event_types": "MessageCreate",
            "dm_event_fields": DM_FIELDS,
            "expansions": ["sender_id"],
            "user_fields": USER_FIELDS,
        }
        if resume:
            params["pagination_token"] = resume
        mentions: list[IncomingMention] = []
        newest, next_token, reached = None, None, False
        for _ in range(MAX_PAGES if seen else 1):
            body = self.client.call("dm_events", "get_direct_message_events", user_auth=True, **params)
            items, users, meta = self._page_parts(body)
            fresh = []
            for item in items:
                item_id = item.get("id") if isinstance(item, dict) else None
                if seen and isinstance(item_id, str) and item_id.isdigit() and int(item_id) <= int(seen):
                    reached = True
                    break
                if isinstance(item_id, str) and item_id.isdigit():
                    newest = max(newest or item_id, item_id, key=int)
                fresh.append(item)
            mentions.extend(self._convert(fresh, users, "direct_messages", self._dm))
            next_token = meta.get("next_token")
            if reached or not next_token:
                break
            params["pagination_token"] = next_token
        best = max((i for i in (pending_newest, newest, seen) if i), key=int, default=None)
        if next_token and seen and not reached:
            return mentions, {"newest_id": seen, "resume_token": next_token, "pending_newest": best}
        return mentions, ({"newest_id": best} if best else {})

    # -- payloads --------------------------------------------------------
    def _page_parts(self, body: dict[str, Any]) -> tuple[list[Any], dict[str, dict[str, Any]], dict[str, Any]]:
        data = body.get("data", [])
        meta = body.get("meta", {})
        includes = body.get("includes", {})
        if not isinstance(data, list) or not isinstance(meta, dict) or not isinstance(includes, dict):
            raise TransientError("X: response is not a page of results (data/meta have the wrong shape)")
        users = {
            u["id"]: u for u in includes.get("users") or [] if isinstance(u, dict) and isinstance(u.get("id"), str)
        }
        for key in ("newest_id", "oldest_id", "next_token"):
            if key in meta and not isinstance(meta[key], str):
                raise TransientError(f"X: meta.{key} has the wrong type")
        return data, users, meta

    def _convert(
        self,
        items: list[Any],
        users: dict[str, dict[str, Any]],
        stream: str,
        convert: Callable[[dict[str, Any], dict[str, dict[str, Any]], str], IncomingMention | None],
    ) -> list[IncomingMention]:
        mentions = []
        for item in items:
            try:
                if not isinstance(item, dict):
                    raise MalformedItem("not an object")
                mention = convert(item, users, stream)
            except MalformedItem as exc:
                item_id = item.get("id") if isinstance(item, dict) else None
                log.warning(
                    "account %s: skipping malformed %s item %s: %s", self.account.name, stream, str(item_id)[:30], exc
                )
                continue
            if mention is not None:
                mentions.append(mention)
        return mentions

    def _author(self, author_id: str, users: dict[str, dict[str, Any]]) -> tuple[str | None, str | None, int | None]:
        user = users.get(author_id) or {}
        username = user.get("username")
        metrics = as_object(user.get("public_metrics"))
        followers = metrics.get("followers_count")
        return (
            f"@{username}" if isinstance(username, str) else None,
            user.get("name"),
            followers if isinstance(followers, int) else None,
        )

    def _tweet(self, item: dict[str, Any], users: dict[str, dict[str, Any]], stream: str) -> IncomingMention | None:
        tweet_id = require_str(item, "id")
        text = require_str(item, "text")
        author_id = require_str(item, "author_id")
        created_at = parse_time(item.get("created_at"))
        if author_id == self.account.user_id:
            return None  # our own post
        handle, name, followers = self._author(author_id, users)
        in_reply_to = next(
            (
                r.get("id")
                for r in item.get("referenced_tweets") or []
                if isinstance(r, dict) and r.get("type") == "replied_to"
            ),
            None,
        )
        mentioned = {
            m.get("username", "").lower()
            for m in (item.get("entities") or {}).get("mentions") or []
            if isinstance(m, dict)
        } | {m.lower() for m in _AT.findall(text)}
        addressed = stream == "mentions" or bool(mentioned & self.brand_handles)
        lang = item.get("lang") if isinstance(item.get("lang"), str) and item.get("lang") != "und" else None
        return IncomingMention(
            platform="x",
            platform_id=tweet_id,
            text=text,
            author_id=author_id,
            created_at=created_at,
            author_handle=handle,
            author_name=name,
            author_followers=followers,
            author_verified=_verified(users.get(author_id)),
            thread_key=item.get("conversation_id") if isinstance(item.get("conversation_id"), str) else tweet_id,
            in_reply_to_id=in_reply_to,
            channel="public",
            addressed_to_brand=addressed,
            lang=lang,
            url=f"https://x.com/{(handle or '@i').lstrip('@')}/status/{tweet_id}"
            if handle
            else f"https://x.com/i/web/status/{tweet_id}",
            stream=stream,
            raw=item,
        )

    def _dm(self, item: dict[str, Any], users: dict[str, dict[str, Any]], stream: str) -> IncomingMention | None:
        event_id = require_str(item, "id")
        if item.get("event_type", "MessageCreate") != "MessageCreate":
            return None
        text = require_str(item, "text")
        sender = require_str(item, "sender_id")
        created_at = parse_time(item.get("created_at"))
        if sender == self.account.user_id:
            return None  # what we sent
        handle, name, followers = self._author(sender, users)
        return IncomingMention(
            platform="x",
            platform_id=event_id,
            text=text,
            author_id=sender,
            created_at=created_at,
            author_handle=handle,
            author_name=name,
            author_followers=followers,
            author_verified=_verified(users.get(sender)),
            thread_key=item.get("dm_conversation_id") if isinstance(item.get("dm_conversation_id"), str) else None,
            channel="private",
            addressed_to_brand=True,
            url=None,
            stream=stream,
            raw=item,
        )


def _verified(user: dict[str, Any] | None) -> bool | None:
    """The author's verified badge as X reports it (user.fields=verified), None when it does not say."""
    value = (user or {}).get("verified")
    return value if isinstance(value, bool) else None
