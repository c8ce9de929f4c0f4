"""Replay responder: a replayed file has no platform to post to, so its answers go to the sandbox."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from bot.storage.models import Case, Draft, Mention
from responders.base import PolicyVerdict
from responders.sandbox import SandboxResponder
from responders.x import X_MAX_LENGTH, x_length

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bot.config import AccountConfig


def check_policy(session: Session, draft: Draft, case: Case, mention: Mention | None, now: datetime) -> PolicyVerdict:
    """Nothing is posted, so every draft may go (to the sandbox)."""
    return PolicyVerdict(True)


class ReplayResponder(SandboxResponder):
    """Records what it would post; replayed mentions are posts in X's format (the demo's), so length counts as on X."""

    posts: ClassVar[bool] = False
    public_limit: ClassVar[int] = X_MAX_LENGTH
    private_limit: ClassVar[int] = 10000

    @staticmethod
    def text_length(text: str) -> int:
        """The length of a text as X counts it (x_length): replayed mentions are X posts."""
        return x_length(text)

    @staticmethod
    def policy(session: Session, draft: Draft, case: Case, mention: Mention | None, now: datetime) -> PolicyVerdict:
        """Whether the replay platform lets the brand send this draft automatically now (check_policy)."""
        return check_policy(session, draft, case, mention, now)

    @classmethod
    def from_config(cls, account: AccountConfig) -> ReplayResponder:
        """The responder for a configured replay account."""
        return cls(account.name)
