"""X responder: replies in the thread, direct messages, and finding what an earlier attempt already posted."""
from __future__ import annotations

import logging
from typing import Any

from bot.clock import Clock
from bot.config import AccountConfig
from bot.errors import PermanentError, UnknownOutcome
from bot.platforms.x_client import XClient
from bot.platforms.x_text import X_MAX_LENGTH, x_length
from responders.base import OutgoingMessage

log = logging.getLogger(__name__)


class XResponder:
    """Posts approved replies from one X account through tweepy."""

    platform = "x"

    def __init__(self, account: AccountConfig, *, client: XClient | None = None, clock: Clock | None = None,
                 timeout: float = 10.0):
        self.account = account
        self.client = client or XClient(account, clock=clock, timeout=timeout)

    def reply_public(self, message: OutgoingMessage) -> str:
        """Reply to the post in_reply_to_id (or the thread's first post) in the same conversation."""
        target = message.in_reply_to_id or message.thread_key
        if not target:
            raise PermanentError("X reply: no post to reply to")
        _check_length(message.text)
        body = self.client.call("tweets_post", "create_tweet", sending=True, text=message.text,
                                in_reply_to_tweet_id=target)
        return _field(body, "id", "X reply")

    def close_public(self, message: OutgoingMessage) -> str:
        """The positive public close: a reply in the same thread."""
        return self.reply_public(message)

    def send_private(self, message: OutgoingMessage) -> str:
        """A direct message to recipient_id (or into the DM conversation thread_key)."""
        if not message.text:
            raise PermanentError("X direct message: empty text")
        if message.recipient_id:
            body = self.client.call("dm_send", "create_direct_message", sending=True,
                                    participant_id=message.recipient_id, text=message.text)
        elif message.thread_key and "-" in message.thread_key:
            body = self.client.call("dm_send", "create_direct_message", sending=True,
                                    dm_conversation_id=message.thread_key, text=message.text)
        else:
            raise PermanentError("X direct message: no recipient")
        return _field(body, "dm_event_id", "X direct message")

    def find_sent(self, message: OutgoingMessage) -> str | None:
        """The id of this message if an earlier attempt posted it: our post with the same text in the thread."""
        if message.action == "send_private":
            return self._find_dm(message)
        handle = (self.account.handle or "").lstrip("@")
        if message.thread_key and handle:
            query = f"conversation_id:{message.thread_key} from:{handle}"
            body = self.client.call("search", "search_recent_tweets", query=query, max_results=100,
                                    tweet_fields=["id", "text", "author_id", "conversation_id", "referenced_tweets"])
        else:
            body = self.client.call("tweets", "get_users_tweets", id=self.account.user_id, max_results=100,
                                    tweet_fields=["id", "text", "author_id", "conversation_id", "referenced_tweets"])
        return _match(body, message.text, self.account.user_id, "author_id")

    def _find_dm(self, message: OutgoingMessage) -> str | None:
        if message.recipient_id:
            kwargs: dict[str, Any] = {"participant_id": message.recipient_id}
        elif message.thread_key:
            kwargs = {"dm_conversation_id": message.thread_key}
        else:
            return None
        body = self.client.call("dm_events", "get_direct_message_events", user_auth=True, max_results=100,
                                dm_event_fields=["id", "text", "sender_id", "created_at"], **kwargs)
        return _match(body, message.text, self.account.user_id, "sender_id")


def _check_length(text: str) -> None:
    length = x_length(text)
    if not text.strip() or length > X_MAX_LENGTH:
        raise PermanentError(f"X reply: {length} weighted characters (X allows 1 to {X_MAX_LENGTH})")


def _field(body: dict[str, Any], key: str, what: str) -> str:
    data = body.get("data")
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, str):
        # 2xx but no id: it was probably posted; the outbox must reconcile, not resend.
        raise UnknownOutcome(f"{what}: the answer has no {key}")
    return value


def _match(body: dict[str, Any], text: str, user_id: str | None, author_key: str) -> str | None:
    for item in body.get("data") or []:
        if isinstance(item, dict) and item.get(author_key) == user_id and item.get("text") == text:
            return str(item.get("id") or "") or None
    return None
