"""Facebook responder: comment replies, private replies to comments, Messenger messages, hiding comments."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.errors import NotSupported, PermanentError
from bot.platforms.graph import GraphClient
from bot.storage.models import Case, Draft, Mention
from responders.base import OutgoingMessage, PolicyVerdict, public_target
from responders.meta import (
    answer_field,
    check_text,
    find_in_inbox,
    hide_comment,
    messaging_window,
    own_item,
    private_reply,
)

if TYPE_CHECKING:
    from bot.config import AccountConfig

log = logging.getLogger(__name__)

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
    if mention is not None and mention.channel == "private":
        return messaging_window(session, case, now, "Messenger allows messages")
    comment = public_target(session, case, mention)
    if comment is None:
        return PolicyVerdict(False, "no comment to answer in private")
    return private_reply(session, draft, case, comment, now, "Meta", "on Messenger")


class FacebookResponder:
    """Posts approved replies from one Facebook Page through the Graph API."""

    posts: ClassVar[bool] = True
    public_limit: ClassVar[int] = COMMENT_MAX_CHARS
    private_limit: ClassVar[int] = MESSENGER_MAX_CHARS

    @staticmethod
    def text_length(text: str) -> int:
        """The length of a text as Facebook counts it: its characters."""
        return len(text)

    @staticmethod
    def policy(session: Session, draft: Draft, case: Case, mention: Mention | None, now: datetime) -> PolicyVerdict:
        """Whether Facebook lets the brand send this draft automatically now (check_policy)."""
        return check_policy(session, draft, case, mention, now)

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
        check_text(message.text, COMMENT_MAX_CHARS, "Facebook")
        body = self.client.post(f"{target}/comments", data={"message": message.text}, bucket="comment_post")
        return answer_field(body, "id", "Facebook comment")

    def close_public(self, message: OutgoingMessage) -> str:
        """The positive public close: a comment in the same thread."""
        return self.reply_public(message)

    def send_private(self, message: OutgoingMessage) -> str:
        """A private reply to the comment or visitor post (extra["comment_id"] or in_reply_to_id), or a Messenger message."""
        check_text(message.text, MESSENGER_MAX_CHARS, "Facebook")
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
        return answer_field(body, "message_id", "Facebook private message")

    def hide_comment(self, comment_id: str, hidden: bool = True) -> None:
        """Hide (or unhide) a comment on the Page: spam, abuse, personal data posted in public."""
        hide_comment(self.client, comment_id, "is_hidden", hidden, "Facebook")

    def hide(self, platform_id: str, hidden: bool) -> None:
        """Hide or unhide a customer's comment (Graph API: POST /{comment-id} is_hidden); posts and Messenger cannot."""
        if platform_id.startswith(("m_", "t_")):
            raise NotSupported("Facebook cannot hide a Messenger message")
        self.hide_comment(platform_id, hidden)

    def find_sent(self, message: OutgoingMessage) -> str | None:
        """The id of this message if an earlier attempt posted it, else None."""
        if message.action != "send_private":
            target = message.thread_key or message.in_reply_to_id
            body = self.client.get(
                f"{target}/comments",
                {"fields": "id,message,from", "limit": 100, "order": "reverse_chronological"},
                bucket="comments",
            )
            return own_item(body, message.text, self.page_id)
        if is_messenger_thread(message):
            psid = message.recipient_id or message.thread_key
            return find_in_inbox(self.client, self.page_id, "messenger", psid, message.text, self.page_id)
        comment_id = message.extra.get("comment_id") or message.in_reply_to_id or message.thread_key
        node = self.client.get(str(comment_id), {"fields": "id,can_reply_privately,created_time"}, bucket="comments")
        # A comment still inside its 7 days that can no longer be answered in private was answered: by us.
        if node.get("can_reply_privately") is False:
            return f"private_reply:{comment_id}"
        return None
