"""Facebook responder: comment replies, private replies to comments, Messenger messages, hiding comments."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.errors import PermanentError, UnknownOutcome
from bot.platforms.graph import GraphClient
from bot.storage.models import Case, Draft, Mention
from responders.base import OutgoingMessage, PolicyVerdict, other_attempts, public_target

if TYPE_CHECKING:
    from bot.config import AccountConfig

log = logging.getLogger(__name__)

# Meta: a Page may answer a comment with one private message within 7 days, and write on Messenger within
# 24 hours of the person's last message (the standard messaging window).
PRIVATE_REPLY_WINDOW = timedelta(days=7)
MESSAGING_WINDOW = timedelta(hours=24)

# Graph's limit for a Messenger text; comments allow far more, but an answer that long is not an answer.
MESSENGER_MAX_CHARS = 2000
COMMENT_MAX_CHARS = 8000


def is_messenger_thread(message: OutgoingMessage) -> bool:
    """True when the message answers a Messenger conversation rather than a comment (the outbox says which)."""
    if message.extra.get("mention_stream") == "messenger" or message.extra.get("mention_channel") == "private":
        return True
    return bool((message.thread_key or "").startswith("t_") or (message.in_reply_to_id or "").startswith("m_"))


def is_visitor_post(message: OutgoingMessage) -> bool:
    """True when a private message answers a visitor's post rather than a comment."""
    return message.extra.get("mention_stream") == "visitor_posts"


def check_policy(session: Session, draft: Draft, case: Case, mention: Mention | None, now: datetime) -> PolicyVerdict:
    """Meta's rules: Messenger within 24 hours of the person's last message; one private reply per comment,
    within 7 days."""
    if draft.channel != "private":
        return PolicyVerdict(True)
    messenger = mention is not None and mention.channel == "private"
    if messenger:
        last = session.scalar(
            select(Mention.created_at)
            .where(Mention.case_id == case.id, Mention.channel == "private")
            .order_by(Mention.created_at.desc())
            .limit(1)
        )
        if last is None or now - last > MESSAGING_WINDOW:
            hours = (now - last).total_seconds() / 3600 if last else None
            since = f" (their last message was {hours:.0f} hours ago)" if hours is not None else ""
            return PolicyVerdict(
                False,
                "Messenger allows messages only within 24 hours of the person's last "
                f"message{since}; wait for them to write again",
                None,
            )
        return PolicyVerdict(True)
    comment = public_target(session, case, mention)
    if comment is None:
        return PolicyVerdict(False, "no comment to answer in private")
    age = now - comment.created_at
    if age > PRIVATE_REPLY_WINDOW:
        return PolicyVerdict(
            False,
            f"Meta allows a private reply to a comment only within 7 days; this comment is "
            f"{age.days} days old: answer in public or ask them to write on Messenger",
            comment.url,
        )
    if other_attempts(session, draft, case, comment.platform_id, ("send_private",)):
        return PolicyVerdict(
            False,
            "Meta allows one private reply per comment and this comment already has one; "
            "continue on Messenger once they answer",
            comment.url,
        )
    return PolicyVerdict(True)


class FacebookResponder:
    """Posts approved replies from one Facebook Page through the Graph API."""

    posts = True
    public_limit = COMMENT_MAX_CHARS
    private_limit = MESSENGER_MAX_CHARS
    text_length = staticmethod(len)
    policy = staticmethod(check_policy)

    @classmethod
    def from_config(cls, account: AccountConfig) -> FacebookResponder:
        """The responder for a configured Facebook Page."""
        return cls(account)

    def __init__(
        self,
        account: AccountConfig,
        *,
        client: GraphClient | None = None,
        clock: Clock | None = None,
        timeout: float = 10.0,
    ):
        self.account = account
        self.page_id = account.page_id or ""
        self.client = client or GraphClient(account, clock=clock, timeout=timeout)

    def reply_public(self, message: OutgoingMessage) -> str:
        """A comment in the same thread: under the top-level comment, or on the visitor's post."""
        target = message.thread_key or message.in_reply_to_id
        if not target or is_messenger_thread(message):
            raise PermanentError("Facebook reply: no comment or post to answer in public")
        _check(message.text, COMMENT_MAX_CHARS)
        body = self.client.post(f"{target}/comments", data={"message": message.text}, bucket="comment_post")
        return _field(body, "id", "Facebook comment")

    def close_public(self, message: OutgoingMessage) -> str:
        """The positive public close: a comment in the same thread."""
        return self.reply_public(message)

    def send_private(self, message: OutgoingMessage) -> str:
        """A private reply to the comment or visitor post (extra["comment_id"] or in_reply_to_id), or a Messenger message."""
        _check(message.text, MESSENGER_MAX_CHARS)
        if is_messenger_thread(message):
            if not message.recipient_id:
                raise PermanentError("Messenger message: no recipient")
            payload = {
                "recipient": {"id": message.recipient_id},
                "message": {"text": message.text},
                "messaging_type": "RESPONSE",
            }
        else:
            target = message.extra.get("comment_id") or message.in_reply_to_id or message.thread_key
            if not target:
                raise PermanentError("Facebook private reply: no comment or post to answer")
            # A visitor's post on the Page is answered in private by post_id, a comment by comment_id.
            key = "post_id" if is_visitor_post(message) else "comment_id"
            payload = {"recipient": {key: target}, "message": {"text": message.text}}
        body = self.client.post(f"{self.page_id}/messages", json=payload, bucket="messages_post")
        return _field(body, "message_id", "Facebook private message")

    def hide_comment(self, comment_id: str, hidden: bool = True) -> None:
        """Hide (or unhide) a comment on the Page: spam, abuse, personal data posted in public."""
        body = self.client.post(comment_id, data={"is_hidden": "true" if hidden else "false"}, bucket="comment_post")
        if body.get("success") is not True:
            raise PermanentError(f"Facebook hide comment: the Page could not {'hide' if hidden else 'unhide'} it")

    def find_sent(self, message: OutgoingMessage) -> str | None:
        """The id of this message if an earlier attempt posted it, else None."""
        if message.action != "send_private":
            target = message.thread_key or message.in_reply_to_id
            body = self.client.get(
                f"{target}/comments",
                {"fields": "id,message,from", "limit": 100, "order": "reverse_chronological"},
                bucket="comments",
            )
            return _match(body, message.text, self.page_id)
        if is_messenger_thread(message):
            psid = message.recipient_id or message.thread_key
            conversations = self.client.get(
                f"{self.page_id}/conversations",
                {"platform": "messenger", "user_id": psid, "fields": "id"},
                bucket="conversations",
            )
            for conversation in conversations.get("data") or []:
                body = self.client.get(
                    f"{conversation['id']}/messages", {"fields": "id,message,from", "limit": 25}, bucket="messages"
                )
                found = _match(body, message.text, self.page_id)
                if found:
                    return found
            return None
        comment_id = message.extra.get("comment_id") or message.in_reply_to_id or message.thread_key
        node = self.client.get(str(comment_id), {"fields": "id,can_reply_privately,created_time"}, bucket="comments")
        # A comment still inside its 7 days that can no longer be answered in private was answered: by us.
        if node.get("can_reply_privately") is False:
            return f"private_reply:{comment_id}"
        return None


def _check(text: str, limit: int) -> None:
    if not text or not text.strip():
        raise PermanentError("Facebook: empty text")
    if len(text) > limit:
        raise PermanentError(f"Facebook: {len(text)} characters (at most {limit})")


def _field(body: dict[str, Any], key: str, what: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise UnknownOutcome(f"{what}: the answer has no {key}")
    return value


def _match(body: dict[str, Any], text: str, page_id: str) -> str | None:
    for item in body.get("data") or []:
        author = item.get("from") if isinstance(item, dict) and isinstance(item.get("from"), dict) else {}
        if author.get("id") == page_id and item.get("message") == text:
            return str(item["id"])
    return None
