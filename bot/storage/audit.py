"""The audit log: who did what, when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.storage.models import AuditEntry


def record(
    session: Session, now: datetime, actor: str, action: str, object_type: str, object_id: int | None, **detail: Any
) -> AuditEntry:
    """Append one entry to the audit log."""
    entry = AuditEntry(at=now, actor=actor, action=action, object_type=object_type, object_id=object_id, detail=detail)
    session.add(entry)
    return entry
