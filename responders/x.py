"""X responder: replies in the thread, direct messages, finding what an earlier attempt already posted, what X
lets an automated account post, and post length the way X counts it."""

from __future__ import annotations

import logging
import re
import unicodedata
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.errors import NotSupported, PermanentError, UnknownOutcome
from bot.platforms.x import XClient
from bot.storage.models import Case, Draft, Identity, Mention
from responders.base import OutgoingMessage, PolicyVerdict, other_attempts, public_target

if TYPE_CHECKING:
    from bot.config import AccountConfig

log = logging.getLogger(__name__)

# -- length (twitter-text v3): 280 weighted characters, every link counts 23 --------------------------------------
X_MAX_LENGTH = 280
X_URL_LENGTH = 23
# Code points in these ranges weigh 1; everything else (CJK, most symbols) weighs 2, and so does an emoji sequence.
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))

_TLDS = "com|net|org|io|co|es|de|fr|uk|it|nl|eu|info|biz|me|app|dev|ly|gl|tv|us|ca|mx|ar|br|example"
_URL = re.compile(
    r"(?:https?://[^\s<>\"]+"
    r"|(?<![@\w.-])(?:www\.)?[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.(?:"
    + _TLDS
    + r")\b(?:/[^\s<>\"]*)?)",
    re.IGNORECASE,
)
_TRAILING_PUNCTUATION = ".,;:!?'\")]}"
_EMOJI_BASE = (
    "\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2190-\u21ff\u2300-\u23ff"
    "\u00a9\u00ae\u203c\u2049\u2122\u2139\u3030\u303d\u3297\u3299"
)
_EMOJI = re.compile(
    "(?:[\U0001f1e6-\U0001f1ff]{2}"  # flags: a pair of regional indicators
    "|[0-9#*]\ufe0f?\u20e3"  # keycaps
    "|["
    + _EMOJI_BASE
    + "][\ufe0f\U0001f3fb-\U0001f3ff]*(?:\u200d["
    + _EMOJI_BASE
    + "][\ufe0f\U0001f3fb-\U0001f3ff]*)*)"
)


def _url_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _URL.finditer(text):
        start, end = match.span()
        while end > start and text[end - 1] in _TRAILING_PUNCTUATION:
            end -= 1
        spans.append((start, end))
    return spans


def _weight(char: str) -> int:
    code = ord(char)
    return 1 if any(low <= code <= high for low, high in _LIGHT_RANGES) else 2


def x_length(text: str) -> int:
    """The weighted length X checks against 280."""
    text = unicodedata.normalize("NFC", text)
    length = 0
    position = 0
    for start, end in _url_spans(text):
        length += _plain_length(text[position:start]) + X_URL_LENGTH
        position = end
    return length + _plain_length(text[position:])


def _plain_length(text: str) -> int:
    length = 0
    position = 0
    for match in _EMOJI.finditer(text):
        start, end = match.span()
        if end - start == 1 and ord(text[start]) < 0x2000:  # a bare (c) or (r) is text, not emoji
            continue
        length += sum(_weight(ch) for ch in text[position:start]) + 2
        position = end
    return length + sum(_weight(ch) for ch in text[position:])


def fits_on_x(text: str) -> bool:
    """True when X would accept this text as one post."""
    return 0 < x_length(text) <= X_MAX_LENGTH


# -- what X allows ------------------------------------------------------------------------------------------------
def intent_url(in_reply_to: str, text: str) -> str:
    """A link that opens X's composer with the reply filled in, for a person to post by hand."""
    return "https://twitter.com/intent/tweet?" + urlencode({"in_reply_to": in_reply_to, "text": text})


def dm_url(recipient_id: str, text: str) -> str:
    """A link that opens X's DM composer to this person with the text filled in."""
    return "https://twitter.com/messages/compose?" + urlencode({"recipient_id": recipient_id, "text": text})


def check_policy(session: Session, draft: Draft, case: Case, mention: Mention | None, now: datetime) -> PolicyVerdict:
    """X's automation rules: DMs only to people who wrote in private, replies only to posts that mention the
    brand, one automated reply per post."""
    if draft.channel == "private":
        person = mention.identity if mention is not None else None
        identities = select(Identity.id).where(Identity.customer_id == case.customer_id, Identity.platform == "x")
        wrote = session.scalar(
            select(Mention.id)
            .where(Mention.platform == "x", Mention.channel == "private", Mention.identity_id.in_(identities))
            .limit(1)
        )
        if wrote is None:
            return PolicyVerdict(
                False,
                "X allows a direct message only after the person wrote to the brand in private; "
                "invite them in public, or send it by hand",
                dm_url(person.platform_user_id, draft.text) if person else None,
            )
        return PolicyVerdict(True)
    target = public_target(session, case, mention)
    if target is None:
        return PolicyVerdict(False, "no post in this thread to reply to")
    if not target.addressed_to_brand:
        return PolicyVerdict(
            False,
            "X allows automated replies only to posts that mention the brand; this post talks "
            "about it without addressing it: post the reply by hand if it adds value",
            intent_url(target.platform_id, draft.text),
        )
    if other_attempts(session, draft, case, target.platform_id, ("reply_public", "close_public")):
        return PolicyVerdict(
            False,
            "X allows one automated reply per post and this post already has one: post this one by hand",
            intent_url(target.platform_id, draft.text),
        )
    return PolicyVerdict(True)


# -- posting ------------------------------------------------------------------------------------------------------


class XResponder:
    """Posts approved replies from one X account through tweepy."""

    posts: ClassVar[bool] = True
    public_limit: ClassVar[int] = X_MAX_LENGTH
    private_limit: ClassVar[int] = 10000  # X's direct message limit

    @staticmethod
    def text_length(text: str) -> int:
        """The length of a text as X counts it (x_length)."""
        return x_length(text)

    @staticmethod
    def policy(session: Session, draft: Draft, case: Case, mention: Mention | None, now: datetime) -> PolicyVerdict:
        """Whether X lets the brand send this draft automatically now (check_policy)."""
        return check_policy(session, draft, case, mention, now)

    @classmethod
    def from_config(cls, account: AccountConfig) -> XResponder:
        """The responder for a configured X account."""
        return cls(account)

    def __init__(
        self,
        account: AccountConfig,
        *,
        client: XClient | None = None,
        clock: Clock | None = None,
        timeout: float = 10.0,
    ):
        self.account = account
        self.client = client or XClient(account, clock=clock, timeout=timeout)

    def reply_public(self, message: OutgoingMessage) -> str:
        """Reply to the post in_reply_to_id (or the thread's first post) in the same conversation."""
        target = message.in_reply_to_id or message.thread_key
        if not target:
            raise PermanentError("X reply: no post to reply to")
        _check_length(message.text)
        body = self.client.call(
            "tweets_post", "create_tweet", sending=True, text=message.text, in_reply_to_tweet_id=target
        )
        return _field(body, "id", "X reply")

    def close_public(self, message: OutgoingMessage) -> str:
        """The positive public close: a reply in the same thread."""
        return self.reply_public(message)

    def send_private(self, message: OutgoingMessage) -> str:
        """A direct message to recipient_id (or into the DM conversation thread_key)."""
        if not message.text:
            raise PermanentError("X direct message: empty text")
        if message.recipient_id:
            body = self.client.call(
                "dm_send", "create_direct_message", sending=True, participant_id=message.recipient_id, text=message.text
            )
        elif message.thread_key and "-" in message.thread_key:
            body = self.client.call(
                "dm_send",
                "create_direct_message",
                sending=True,
                dm_conversation_id=message.thread_key,
                text=message.text,
            )
        else:
            raise PermanentError("X direct message: no recipient")
        return _field(body, "dm_event_id", "X direct message")

    def hide(self, platform_id: str, hidden: bool) -> None:
        """Hide or unhide a reply in a conversation the brand started (PUT /2/tweets/:id/hidden); others cannot be."""
        if "-" in platform_id or not platform_id.isdigit():
            raise NotSupported("X cannot hide a direct message")
        body = self.client.call(
            "tweets_hide", "hide_reply" if hidden else "unhide_reply", sending=True, user_auth=True, id=platform_id
        )
        data = body.get("data")
        if not isinstance(data, dict):
            data = {}
        if data.get("hidden") is not hidden:
            raise UnknownOutcome(f"X {'hide' if hidden else 'unhide'} reply: the answer does not say it is done")

    def find_sent(self, message: OutgoingMessage) -> str | None:
        """The id of this message if an earlier attempt posted it: our post with the same text in the thread."""
        if message.action == "send_private":
            return self._find_dm(message)
        handle = (self.account.handle or "").lstrip("@")
        if message.thread_key and handle:
            query = f"conversation_id:{message.thread_key} from:{handle}"
            body = self.client.call(
                "search",
                "search_recent_tweets",
                query=query,
                max_results=100,
                tweet_fields=["id", "text", "author_id", "conversation_id", "referenced_tweets"],
            )
        else:
            body = self.client.call(
                "tweets",
                "get_users_tweets",
                id=self.account.user_id,
                max_results=100,
                tweet_fields=["id", "text", "author_id", "conversation_id", "referenced_tweets"],
            )
        return _match(body, message.text, self.account.user_id, "author_id")

    def _find_dm(self, message: OutgoingMessage) -> str | None:
        if message.recipient_id:
            kwargs: dict[str, Any] = {"participant_id": message.recipient_id}
        elif message.thread_key:
            kwargs = {"dm_conversation_id": message.thread_key}
        else:
            return None
        body = self.client.call(
            "dm_events",
            "get_direct_message_events",
            user_auth=True,
            max_results=100,
            dm_event_fields=["id", "text", "sender_id", "created_at"],
            **kwargs,
        )
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
