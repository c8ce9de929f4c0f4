"""The platform policy guard in front of every send: what a platform allows an automated account to post."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot.models import Case, Draft, Mention


@dataclass
class PolicyVerdict:
    """Whether a draft may be sent automatically, and if not, why and what a person can do by hand."""

    allowed: bool
    reason: str | None = None
    manual_url: str | None = None

    def as_dict(self) -> dict[str, object]:
        """For storage on the draft."""
        return {"allowed": self.allowed, "reason": self.reason, "manual_url": self.manual_url}


def check(session: Session, draft: Draft, case: Case, mention: Mention | None, now: datetime) -> PolicyVerdict:
    """The verdict for sending this draft now."""
    return PolicyVerdict(True)
