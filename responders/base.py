"""The responder protocol (reply_public, send_private, close_public, find_sent, hide) and what platform policies
share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.storage.models import Case, Draft, Mention, OutboxMessage
from bot.storage.statuses import MAY_BE_POSTED

Action = Literal["reply_public", "send_private", "close_public"]


@dataclass
class OutgoingMessage:
    """An approved reply as the outbox hands it to a responder."""

    idempotency_key: str
    action: Action
    text: str
    thread_key: str
    in_reply_to_id: str | None = None
    recipient_id: str | None = None
    recipient_handle: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Responder(Protocol):
    """Posts approved replies to one platform account; returns the platform's id of what it posted."""

    def reply_public(self, message: OutgoingMessage) -> str:
        """Post a public reply in the same thread."""
        ...

    def send_private(self, message: OutgoingMessage) -> str:
        """Send a private message (direct message, Messenger, private reply to a comment)."""
        ...

    def close_public(self, message: OutgoingMessage) -> str:
        """Post the positive public close in the same thread."""
        ...

    def find_sent(self, message: OutgoingMessage) -> str | None:
        """The platform id of this message if an earlier attempt already posted it, else None."""
        ...

    def hide(self, platform_id: str, hidden: bool) -> None:
        """Hide (or unhide) a customer's public message; NotSupported where the platform cannot."""
        ...


def post(responder: Responder, message: OutgoingMessage) -> str:
    """Post the message with the responder call its action names; the platform's id of what was posted."""
    calls = {
        "reply_public": responder.reply_public,
        "send_private": responder.send_private,
        "close_public": responder.close_public,
    }
    if message.action not in calls:
        raise ValueError(f"outbox action {message.action!r} is not one of {', '.join(calls)}")
    return calls[message.action](message)


@dataclass
class PolicyVerdict:
    """Whether a draft may be sent automatically, and if not, why and what a person can do by hand."""

    allowed: bool
    reason: str | None = None
    manual_url: str | None = None

    def as_dict(self) -> dict[str, object]:
        """For storage on the draft."""
        return {"allowed": self.allowed, "reason": self.reason, "manual_url": self.manual_url}


def public_target(session: Session, case: Case, mention: Mention | None) -> Mention | None:
    """The post a public reply answers: the draft's mention, or the case's latest public one (as the outbox does)."""
    if mention is not None and mention.channel == "public":
        return mention
    return session.scalar(
        select(Mention)
        .where(Mention.case_id == case.id, Mention.channel == "public")
        .order_by(Mention.created_at.desc(), Mention.id.desc())
        .limit(1)
    )


def other_attempts(session: Session, draft: Draft, case: Case, target_id: str, actions: tuple[str, ...]) -> int:
    """How many other drafts of this account already went (or may have gone) to target_id with one of actions."""
    query = (
        select(OutboxMessage.id)
        .join(Draft, OutboxMessage.draft_id == Draft.id)
        .where(
            OutboxMessage.target_id == target_id,
            OutboxMessage.action.in_(actions),
            OutboxMessage.status.in_(MAY_BE_POSTED),
            OutboxMessage.draft_id != draft.id,
            OutboxMessage.account_id == case.account_id,
        )
    )
    return len(list(session.scalars(query)))
