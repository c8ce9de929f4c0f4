"""Instagram responder: replies under comments, private replies to comments, direct messages, hiding comments,
what Instagram lets a brand send, through the Graph API with the linked Page's token."""

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

# Meta's rules for Instagram: one private reply per comment within 7 days of it; direct messages within 24 hours
# of the person's last message; public replies only under top-level comments (threads are one level deep).
COMMENT_MAX_CHARS = 2200
MESSAGE_MAX_CHARS = 1000


def is_direct_thread(message: OutgoingMessage) -> bool:
    """True when the message answers a direct-message conversation rather than a comment."""
    return message.extra.get("mention_stream") == "direct_messages" or message.extra.get("mention_channel") == "private"


def _hidden(mention: Mention) -> bool:
    return bool((mention.raw or {}).get("hidden"))


def check_policy(session: Session, draft: Draft, case: Case, mention: Mention | None, now: datetime) -> PolicyVerdict:
    """Instagram's rules: no reply under a hidden comment, one private reply per comment within 7 days, direct
    messages within 24 hours of the person's last message."""
    if mention is not None and mention.channel == "private":
        if draft.channel != "private":
            return PolicyVerdict(False, "a direct message has no public thread to answer in")
        return messaging_window(session, case, now, "Instagram allows direct messages")
    comment = public_target(session, case, mention)
    if comment is None:
        return PolicyVerdict(False, "no comment in this thread to answer")
    if comment.stream == "tags":
        if draft.channel == "private":
            return PolicyVerdict(
                False,
                "a post that tags the brand cannot be answered in private; ask them to write a direct message",
                comment.url,
            )
        return PolicyVerdict(
            False,
            "Instagram lets a brand comment on someone else's post only by hand: answer it in the app",
            comment.url,
        )
    if _hidden(comment):
        return PolicyVerdict(False, "the comment is hidden: unhide it before answering it", comment.url)
    if draft.channel != "private":
        return PolicyVerdict(True)
    return private_reply(session, draft, case, comment, now, "Instagram", "in direct messages")


class InstagramResponder:
    """Posts approved replies from one Instagram professional account through the Graph API."""

    posts: ClassVar[bool] = True
    public_limit: ClassVar[int] = COMMENT_MAX_CHARS
    private_limit: ClassVar[int] = MESSAGE_MAX_CHARS

    @staticmethod
    def text_length(text: str) -> int:
        """The length of a text as Instagram counts it: its characters."""
        return len(text)

    @staticmethod
    def policy(session: Session, draft: Draft, case: Case, mention: Mention | None, now: datetime) -> PolicyVerdict:
        """Whether Instagram lets the brand send this draft automatically now (check_policy)."""
        return check_policy(session, draft, case, mention, now)

    @classmethod
    def from_config(cls, account: AccountConfig) -> InstagramResponder:
        """The responder for a configured Instagram account."""
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
        self.ig_user_id = account.ig_user_id or ""
        self.page_id = account.page_id or ""
        self.client = client or GraphClient(account, clock=clock, timeout=timeout)

    def reply_public(self, message: OutgoingMessage) -> str:
        """A reply under the thread's top-level comment (Instagram threads are one level deep)."""
        target = message.thread_key or message.in_reply_to_id
        if not target or is_direct_thread(message):
            raise PermanentError("Instagram reply: no comment to answer in public")
        check_text(message.text, COMMENT_MAX_CHARS, "Instagram")
        body = self.client.post(f"{target}/replies", data={"message": message.text}, bucket="comment_post")
        return answer_field(body, "id", "Instagram reply")

    def close_public(self, message: OutgoingMessage) -> str:
        """The positive public close: a reply in the same thread."""
        return self.reply_public(message)

    def send_private(self, message: OutgoingMessage) -> str:
        """A direct message to the person, or a private reply to their comment (extra["comment_id"])."""
        check_text(message.text, MESSAGE_MAX_CHARS, "Instagram")
        if is_direct_thread(message):
            if not message.recipient_id:
                raise PermanentError("Instagram direct message: no recipient")
            recipient: dict[str, str] = {"id": message.recipient_id}
        else:
            comment_id = message.extra.get("comment_id") or message.in_reply_to_id or message.thread_key
            if not comment_id:
                raise PermanentError("Instagram private reply: no comment to answer")
            recipient = {"comment_id": str(comment_id)}
        body = self.client.post(
            f"{self.page_id}/messages",
            json={"recipient": recipient, "message": {"text": message.text}},
            bucket="messages_post",
        )
        return answer_field(body, "message_id", "Instagram private message")

    def hide_comment(self, comment_id: str, hidden: bool = True) -> None:
        """Hide (or unhide) a comment on the account's media: spam, abuse, personal data posted in public."""
        hide_comment(self.client, comment_id, "hide", hidden, "Instagram")

    def hide(self, platform_id: str, hidden: bool) -> None:
        """Hide or unhide a customer's comment (Graph API: POST /{comment-id} hide); direct messages cannot."""
        if platform_id.startswith("ig_m_"):
            raise NotSupported("Instagram cannot hide a direct message")
        self.hide_comment(platform_id, hidden)

    def find_sent(self, message: OutgoingMessage) -> str | None:
        """The id of this message if an earlier attempt posted it, else None."""
        if message.action != "send_private":
            target = message.thread_key or message.in_reply_to_id
            body = self.client.get(
                f"{target}/replies", {"fields": "id,text,username,from", "limit": 100}, bucket="comments"
            )
            return own_item(body, message.text, self.ig_user_id, "text")
        if is_direct_thread(message):
            return find_in_inbox(
                self.client, self.page_id, "instagram", message.recipient_id, message.text, self.ig_user_id
            )
        comment_id = message.extra.get("comment_id") or message.in_reply_to_id or message.thread_key
        node = self.client.get(str(comment_id), {"fields": "id,can_reply_privately,timestamp"}, bucket="comments")
        # A comment still inside its 7 days that can no longer be answered in private was answered: by us.
        if node.get("can_reply_privately") is False:
            return f"private_reply:{comment_id}"
        return None
