"""Raising a notification: once per key, whoever raises it and however often; delivery happens later."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.storage.models import Notification

# The events notifications are raised for (config.NotificationEvent lists the same names for the channels' `events`).
SLA_WARNING = "sla_warning"
SLA_BREACH = "sla_breach"
INCIDENT_OPENED = "incident_opened"
INCIDENT_ENDED = "incident_ended"
CASE_ASSIGNED = "case_assigned"
NOTE_MENTION = "note_mention"
ACCOUNT_REAUTH = "account_reauth"
ACCOUNT_SILENT = "account_silent"


def notify(
    session: Session,
    now: datetime,
    event: str,
    key: str,
    subject: str,
    body: str,
    recipient: str | None = None,
    **detail: Any,
) -> Notification | None:
    """Record that `event` happened (identified by `key`); a key raised before is ignored and None returned."""
    if session.scalar(select(Notification.id).where(Notification.key == key)) is not None:
        return None
    notification = Notification(
        key=key, event=event, recipient=recipient, subject=subject, body=body, detail=detail, created_at=now
    )
    try:
        with session.begin_nested():
            session.add(notification)
    except IntegrityError:
        # Another daemon raised the same key between our look and our insert: it is raised once all the same.
        return None
    return notification


def case_assigned(
    session: Session, now: datetime, case_id: int, username: str, actor: str, reason: str = ""
) -> Notification | None:
    """Tell a person a case is theirs now (nothing when they took it themselves)."""
    if actor == username:
        return None
    why = f" ({reason})" if reason else ""
    return notify(
        session,
        now,
        CASE_ASSIGNED,
        f"case_assigned:{case_id}:{username}:{now.isoformat()}",
        f"Case #{case_id} is assigned to you",
        f"Case #{case_id} was assigned to {username} by {actor}{why}.",
        recipient=username,
        case_id=case_id,
        actor=actor,
    )
