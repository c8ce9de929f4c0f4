"""What the Facebook and Instagram responders share: Meta's messaging and private-reply windows, and reading the
Graph API's answers (an id it returned, our own post among a thread's)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import PermanentError, UnknownOutcome
from bot.platforms.graph import GraphClient
from bot.storage.models import Case, Draft, Mention
from responders.base import PolicyVerdict, other_attempts

# Meta: a brand may answer a comment with one private message within 7 days, and write in an inbox (Messenger,
# Instagram Direct) within 24 hours of the person's last message (the standard messaging window).
PRIVATE_REPLY_WINDOW = timedelta(days=7)
MESSAGING_WINDOW = timedelta(hours=24)


def messaging_window(session: Session, case: Case, now: datetime, rule: str) -> PolicyVerdict:
    """Allowed within 24 hours of the person's last private message in the case; rule names who says so."""
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
            f"{rule} only within 24 hours of the person's last message{since}; wait for them to write again",
            None,
        )
    return PolicyVerdict(True)


def private_reply(
    session: Session, draft: Draft, case: Case, comment: Mention, now: datetime, who: str, inbox: str
) -> PolicyVerdict:
    """One private reply per comment, within 7 days of it; who makes the rule, inbox is where to go on."""
    age = now - comment.created_at
    if age > PRIVATE_REPLY_WINDOW:
        return PolicyVerdict(
            False,
            f"{who} allows a private reply to a comment only within 7 days; this comment is "
            f"{age.days} days old: answer in public or ask them to write {inbox}",
            comment.url,
        )
    if other_attempts(session, draft, case, comment.platform_id, ("send_private",)):
        return PolicyVerdict(
            False,
            f"{who} allows one private reply per comment and this comment already has one; "
            f"continue {inbox} once they answer",
            comment.url,
        )
    return PolicyVerdict(True)


def check_text(text: str, limit: int, platform: str) -> None:
    """Refuse an empty text or one over the limit, before anything is sent."""
    if not text or not text.strip():
        raise PermanentError(f"{platform}: empty text")
    if len(text) > limit:
        raise PermanentError(f"{platform}: {len(text)} characters (at most {limit})")


def answer_field(body: dict[str, Any], key: str, what: str) -> str:
    """The id the Graph API answered with; without one the post may have gone out, so the outcome is unknown."""
    value = body.get(key)
    if not isinstance(value, str):
        raise UnknownOutcome(f"{what}: the answer has no {key}")
    return value


def hide_comment(client: GraphClient, comment_id: str, field: str, hidden: bool, who: str) -> None:
    """Hide or unhide a comment with POST /{comment-id} (field is_hidden on Facebook, hide on Instagram)."""
    body = client.post(comment_id, data={field: "true" if hidden else "false"}, bucket="comment_post")
    if body.get("success") is not True:
        raise PermanentError(f"{who} hide comment: it could not be {'hidden' if hidden else 'unhidden'}")


def own_item(body: dict[str, Any], text: str, author_id: str, key: str = "message") -> str | None:
    """The id of the item in an edge's data that we wrote with this text, if any."""
    for item in body.get("data") or []:
        sender = item.get("from") if isinstance(item, dict) else None
        author = sender if isinstance(sender, dict) else {}
        if author.get("id") == author_id and item.get(key) == text:
            return str(item["id"])
    return None


def find_in_inbox(
    client: GraphClient, page_id: str, platform: str, person: str | None, text: str, author_id: str
) -> str | None:
    """Our message with this text in the person's inbox conversation on platform, if an earlier attempt sent it."""
    conversations = client.get(
        f"{page_id}/conversations", {"platform": platform, "user_id": person, "fields": "id"}, bucket="conversations"
    )
    for conversation in conversations.get("data") or []:
        body = client.get(
            f"{conversation['id']}/messages", {"fields": "id,message,from", "limit": 25}, bucket="messages"
        )
        found = own_item(body, text, author_id)
        if found:
            return found
    return None
