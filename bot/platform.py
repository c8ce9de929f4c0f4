"""What the core asks of a platform: one description per platform, built from its listener and responder classes.

A platform is its listener class (reading: polling, webhook payloads and their signatures, the read budget) and
its responder class (writing: replies, private messages, what its rules allow, how it counts length). The
registry (`bot.platforms.registry`) holds one `Platform` per platform; nothing in the core names a platform.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bot.clock import Clock
    from bot.config import AccountConfig, BrandConfig
    from bot.storage.models import Case, Draft, Mention
    from listeners.base import IncomingMention, Listener
    from responders.base import PolicyVerdict, Responder

# secret(account, field) -> the secret named by the account's *_env field, or None where it is not set.
SecretReader = Callable[["AccountConfig", str], "str | None"]


class WebhookRefused(Exception):
    """A webhook request that must be answered with an HTTP error (status code and a short reason)."""

    def __init__(self, status_code: int, detail: str):
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


class Webhook(Protocol):
    """How one platform pushes events: its handshake, its signature and its payloads (served at /webhooks/<path>)."""

    path: str

    def challenge(
        self, query: Mapping[str, str], accounts: list[AccountConfig], secret: SecretReader
    ) -> str | dict[str, str]:
        """The answer to the platform's subscription check (text or JSON); raises WebhookRefused."""
        ...

    def trusted(
        self, headers: Mapping[str, str], body: bytes, accounts: list[AccountConfig], secret: SecretReader
    ) -> list[AccountConfig]:
        """The accounts whose secret signed this body (none: the request is refused)."""
        ...

    def mentions(
        self, payload: dict[str, Any], trusted: list[AccountConfig]
    ) -> list[tuple[AccountConfig, list[IncomingMention]]]:
        """The mentions in a verified payload, by account; malformed items are skipped with a warning."""
        ...


class ListenerClass(Protocol):
    """A listener class as the registry sees it."""

    platform: ClassVar[str]
    offered_streams: ClassVar[tuple[str, ...]]
    required: ClassVar[tuple[str, ...]]
    webhook: ClassVar[Webhook | None]

    @classmethod
    def from_config(cls, account: AccountConfig, brand: BrandConfig, clock: Clock) -> Listener:
        """The listener for a configured account."""
        ...

    @staticmethod
    def calls_per_poll(account: AccountConfig) -> dict[str, int]:
        """API calls one quiet poll of the account makes, by stream."""
        ...


class ResponderClass(Protocol):
    """A responder class as the registry sees it."""

    posts: ClassVar[bool]
    public_limit: ClassVar[int]  # the longest public reply, in the platform's own count (checks.platform_limits)
    private_limit: ClassVar[int]

    @classmethod
    def from_config(cls, account: AccountConfig) -> Responder:
        """The responder for a configured account."""
        ...

    @staticmethod
    def text_length(text: str) -> int:
        """The length of a text as the platform counts it."""
        ...

    @staticmethod
    def policy(session: Session, draft: Draft, case: Case, mention: Mention | None, now: datetime) -> PolicyVerdict:
        """Whether the platform lets the brand send this draft automatically now."""
        ...


@dataclass(frozen=True)
class Platform:
    """One platform: named by its listener, read by it, written by its responder."""

    listener: type[ListenerClass]
    responder: type[ResponderClass]

    @property
    def name(self) -> str:
        """The platform's name in config.yaml and in the database."""
        return self.listener.platform

    @property
    def posts(self) -> bool:
        """False for a platform that posts nowhere (replay): its answers always go to the sandbox."""
        return self.responder.posts

    @property
    def webhook(self) -> Webhook | None:
        """How the platform pushes events, if it does."""
        return self.listener.webhook

    def build_listener(self, account: AccountConfig, brand: BrandConfig, clock: Clock) -> Listener:
        """The listener for a configured account of this platform."""
        return self.listener.from_config(account, brand, clock)

    def build_responder(self, account: AccountConfig) -> Responder:
        """The responder that posts for a configured account of this platform."""
        return self.responder.from_config(account)

    def calls_per_poll(self, account: AccountConfig) -> dict[str, int]:
        """API calls one quiet poll of the account makes, by stream."""
        return self.listener.calls_per_poll(account)

    def text_length(self, text: str) -> int:
        """The length of a text as this platform counts it."""
        return self.responder.text_length(text)

    def policy(
        self, session: Session, draft: Draft, case: Case, mention: Mention | None, now: datetime
    ) -> PolicyVerdict:
        """Whether this platform lets the brand send the draft automatically now."""
        return self.responder.policy(session, draft, case, mention, now)
