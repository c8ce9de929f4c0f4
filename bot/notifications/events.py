"""Raising a notification: once per key, whoever raises it and however often; delivery happens later."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.storage.models import Notification


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
