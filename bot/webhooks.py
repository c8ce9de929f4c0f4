"""Webhooks beside polling: Meta page webhooks and X Account Activity events, fed to the same ingest as polling."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Mapping

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from bot.config import AccountConfig, Config
from bot.platforms.credentials import read_secret
from listeners.base import IncomingMention

log = logging.getLogger(__name__)

Ingest = Callable[[str, list[IncomingMention]], Any]


def meta_signature(app_secret: str, body: bytes) -> str:
    """The X-Hub-Signature-256 value Meta sends with a payload."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def x_crc_response(consumer_secret: str, crc_token: str) -> str:
    """The response_token X expects for a CRC check: base64 of the HMAC-SHA256 of crc_token."""
    digest = hmac.new(consumer_secret.encode(), crc_token.encode(), hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def x_signature(consumer_secret: str, body: bytes) -> str:
    """The x-twitter-webhooks-signature value X sends with an event."""
    return "sha256=" + base64.b64encode(hmac.new(consumer_secret.encode(), body, hashlib.sha256).digest()).decode()


def build_webhook_router(config: Config, ingest: Ingest, *, environ: Mapping[str, str] | None = None,
                         prefix: str = "/webhooks") -> APIRouter:
    """An APIRouter with GET/POST {prefix}/meta and {prefix}/x; mentions go to ingest(account_name, mentions)."""
    router = APIRouter(prefix=prefix, tags=["webhooks"])
    pages = [a for a in config.accounts if a.platform == "facebook" and a.enabled]
    xs = [a for a in config.accounts if a.platform == "x" and a.enabled]

    def secret(account: AccountConfig, field: str) -> str | None:
        return read_secret(account, field, environ, required=False)

    @router.get("/meta", response_class=PlainTextResponse)
    def meta_verify(request: Request) -> str:
        """Meta's subscription handshake: echo hub.challenge when hub.verify_token is ours."""
        query = request.query_params
        token = query.get("hub.verify_token") or ""
        expected = [secret(a, "webhook_verify_token_env") for a in pages]
        if query.get("hub.mode") != "subscribe" or not any(e and hmac.compare_digest(e, token) for e in expected):
            raise HTTPException(status_code=403, detail="verify token mismatch")
        return query.get("hub.challenge") or ""

    @router.post("/meta")
    async def meta_events(request: Request) -> JSONResponse:
        """Page events (comments, posts, mentions, Messenger), accepted only with a valid X-Hub-Signature-256."""
        body = await request.body()
        header = request.headers.get("x-hub-signature-256", "")
        trusted = [a for a in pages if (s := secret(a, "app_secret_env")) and hmac.compare_digest(meta_signature(s, body), header)]
        if not trusted:
            log.warning("meta webhook: rejected a payload with a missing or wrong signature")
            raise HTTPException(status_code=403, detail="bad signature")
        payload = _json(body)
        received = 0
        for entry in payload.get("entry") or []:
            account = next((a for a in trusted if isinstance(entry, dict) and str(entry.get("id")) == a.page_id), None)
            if account is None:
                continue
            mentions = meta_entry_mentions(entry, account.page_id or "")
            if mentions:
                await run_in_threadpool(ingest, account.name, mentions)
                received += len(mentions)
        return JSONResponse({"received": received})

    @router.get("/x")
    def x_crc(crc_token: str) -> dict[str, str]:
        """X's challenge-response check: the HMAC of crc_token with the app's consumer secret."""
        consumer_secret = next((s for a in xs if (s := secret(a, "consumer_secret_env"))), None)
        if consumer_secret is None:
            raise HTTPException(status_code=404, detail="no x account with a consumer secret")
        return {"response_token": x_crc_response(consumer_secret, crc_token)}

    @router.post("/x")
    async def x_events(request: Request) -> JSONResponse:
        """Account Activity events (tweet_create_events, direct_message_events) for one of our accounts."""
        body = await request.body()
        header = request.headers.get("x-twitter-webhooks-signature", "")
        trusted = [a for a in xs if (s := secret(a, "consumer_secret_env")) and hmac.compare_digest(x_signature(s, body), header)]
        if not trusted:
            log.warning("x webhook: rejected a payload with a missing or wrong signature")
            raise HTTPException(status_code=403, detail="bad signature")
        payload = _json(body)
        account = next((a for a in trusted if str(payload.get("for_user_id")) == a.user_id), None)
        if account is None:
            return JSONResponse({"received": 0})
        mentions = x_activity_mentions(payload, account)
        if mentions:
            await run_in_threadpool(ingest, account.name, mentions)
        return JSONResponse({"received": len(mentions)})

    return router


def _json(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError:
        raise HTTPException(status_code=400, detail="body is not JSON") from None
    if not isinstance(payload, dict):
        raise HTTPException(status_code=400, detail="body is not a JSON object")
    return payload


def _from_epoch(value: Any, millis: bool = False) -> datetime:
    seconds = float(value) / (1000 if millis else 1)
    return datetime.fromtimestamp(seconds, tz=timezone.utc).replace(tzinfo=None)


def meta_entry_mentions(entry: dict[str, Any], page_id: str) -> list[IncomingMention]:
    """The mentions in one webhook entry: feed comments and visitor posts, Page mentions, Messenger messages."""
    mentions: list[IncomingMention] = []
    for change in entry.get("changes") or []:
        try:
            mention = _meta_change(change, page_id)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("meta webhook: skipping a malformed change (%s)", type(exc).__name__)
            continue
        if mention is not None:
            mentions.append(mention)
    for event in entry.get("messaging") or []:
        try:
            mention = _meta_message(event, page_id)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("meta webhook: skipping a malformed messaging event (%s)", type(exc).__name__)
            continue
        if mention is not None:
            mentions.append(mention)
    return mentions


def _meta_change(change: dict[str, Any], page_id: str) -> IncomingMention | None:
    field, value = change.get("field"), change["value"]
    if value.get("verb") != "add" or not value.get("message"):
        return None  # edits, removals, likes, photo-only posts
    author = value.get("from") or {}
    if str(author.get("id")) == page_id:
        return None
    created = _from_epoch(value["created_time"]) if isinstance(value.get("created_time"), (int, float)) else \
        datetime.now(timezone.utc).replace(tzinfo=None)
    common = {"platform": "facebook", "text": str(value["message"]), "author_id": str(author.get("id") or "unknown"),
              "author_name": author.get("name"), "created_at": created, "channel": "public",
              "addressed_to_brand": True, "raw": change}
    if field == "feed" and value.get("item") == "comment":
        comment_id, post_id = str(value["comment_id"]), str(value["post_id"])
        parent = str(value.get("parent_id") or post_id)
        top = comment_id if parent == post_id else parent
        return IncomingMention(platform_id=comment_id, thread_key=top, in_reply_to_id=parent, stream="comments", **common)
    if field == "feed" and value.get("item") in ("post", "status", "photo", "video"):
        post_id = str(value["post_id"])
        return IncomingMention(platform_id=post_id, thread_key=post_id, stream="visitor_posts", **common)
    if field == "mention" and value.get("item") == "post":
        post_id = str(value["post_id"])
        return IncomingMention(platform_id=post_id, thread_key=post_id, stream="tagged", **common)
    return None


def _meta_message(event: dict[str, Any], page_id: str) -> IncomingMention | None:
    message = event.get("message")
    sender = str(event["sender"]["id"])
    if not isinstance(message, dict) or message.get("is_echo") or sender == page_id or not message.get("text"):
        return None
    return IncomingMention(platform="facebook", platform_id=str(message["mid"]), text=str(message["text"]),
                           author_id=sender, created_at=_from_epoch(event["timestamp"], millis=True),
                           thread_key=sender, channel="private", addressed_to_brand=True, stream="messenger",
                           raw=event)


def x_activity_mentions(payload: dict[str, Any], account: AccountConfig) -> list[IncomingMention]:
    """Tweets that involve the account and DMs it received, from one Account Activity event."""
    mentions: list[IncomingMention] = []
    users = payload.get("users") if isinstance(payload.get("users"), dict) else {}
    handle = (account.handle or "").lstrip("@").lower()
    for tweet in payload.get("tweet_create_events") or []:
        try:
            mention = _x_tweet(tweet, account, handle)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("x webhook: skipping a malformed tweet event (%s)", type(exc).__name__)
            continue
        if mention is not None:
            mentions.append(mention)
    for event in payload.get("direct_message_events") or []:
        try:
            mention = _x_dm(event, account, users)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("x webhook: skipping a malformed DM event (%s)", type(exc).__name__)
            continue
        if mention is not None:
            mentions.append(mention)
    return mentions


def _x_tweet(tweet: dict[str, Any], account: AccountConfig, handle: str) -> IncomingMention | None:
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
        platform="x", platform_id=tweet_id, text=text, author_id=str(user["id_str"]),
        created_at=parsedate_to_datetime(tweet["created_at"]).astimezone(timezone.utc).replace(tzinfo=None),
        author_handle=f"@{user['screen_name']}", author_name=user.get("name"), author_followers=user.get("followers_count"),
        thread_key=thread, in_reply_to_id=in_reply_to, channel="public",
        addressed_to_brand=account.user_id in mentioned or handle in names or
        tweet.get("in_reply_to_user_id_str") == account.user_id,
        lang=lang, url=f"https://x.com/{user['screen_name']}/status/{tweet_id}", stream="mentions", raw=tweet)


def _x_dm(event: dict[str, Any], account: AccountConfig, users: dict[str, Any]) -> IncomingMention | None:
    if event.get("type") != "message_create":
        return None
    create = event["message_create"]
    sender = str(create["sender_id"])
    if sender == account.user_id:
        return None
    recipient = str(create["target"]["recipient_id"])
    user = users.get(sender) if isinstance(users.get(sender), dict) else {}
    low, high = sorted((sender, recipient), key=lambda v: int(v) if v.isdigit() else 0)
    return IncomingMention(
        platform="x", platform_id=str(event["id"]), text=str(create["message_data"]["text"]), author_id=sender,
        created_at=_from_epoch(event["created_timestamp"], millis=True),
        author_handle=f"@{user['screen_name']}" if user.get("screen_name") else None, author_name=user.get("name"),
        author_followers=user.get("followers_count"), thread_key=f"{low}-{high}", channel="private",
        addressed_to_brand=True, stream="direct_messages", raw=event)
