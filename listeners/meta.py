"""What the Facebook and Instagram listeners share: Meta's webhook handshake and signature, the Page inbox's
conversations, and the {since, ids} cursor of Graph's edges."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.clock import Clock
from bot.platform import SecretReader, WebhookRefused
from bot.platforms.graph import GraphClient
from listeners.base import IncomingMention, MalformedItem, PlatformListener, parse_time

if TYPE_CHECKING:
    from bot.config import AccountConfig

log = logging.getLogger(__name__)

MAX_PAGES = 5
# The first poll looks back this far instead of reading the account's whole history.
FIRST_POLL_LOOKBACK = timedelta(days=1)
# (created second, mention or None for our own items) per well-formed message of one conversation.
MessagesOf = Callable[[list[Any], str], list[tuple[int, IncomingMention | None]]]


def epoch_seconds(moment: datetime) -> int:
    """A naive UTC time as Unix seconds (Graph's since and until)."""
    return int(moment.replace(tzinfo=UTC).timestamp())


def signature(app_secret: str, body: bytes) -> str:
    """The X-Hub-Signature-256 value Meta sends with a payload."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


class MetaSignedWebhook:
    """Meta's subscription handshake and payload signature; each platform adds its path and its payloads."""

    def challenge(self, query: Mapping[str, str], accounts: list[AccountConfig], secret: SecretReader) -> str:
        """Meta's subscription handshake: echo hub.challenge when hub.verify_token is ours."""
        token = query.get("hub.verify_token") or ""
        expected = [secret(a, "webhook_verify_token_env") for a in accounts]
        if query.get("hub.mode") != "subscribe" or not any(e and hmac.compare_digest(e, token) for e in expected):
            raise WebhookRefused(403, "verify token mismatch")
        return query.get("hub.challenge") or ""

    def trusted(
        self, headers: Mapping[str, str], body: bytes, accounts: list[AccountConfig], secret: SecretReader
    ) -> list[AccountConfig]:
        """The accounts whose app secret signed this body."""
        header = headers.get("x-hub-signature-256", "")
        return [
            a
            for a in accounts
            if (s := secret(a, "app_secret_env")) and hmac.compare_digest(signature(s, body), header)
        ]


class GraphListener(PlatformListener):
    """A listener on the Graph API: its cursor per stream, and the conversations of the linked Page's inbox."""

    account: AccountConfig
    client: GraphClient
    clock: Clock
    page_id: str

    def _since(self, state: dict[str, Any]) -> int:
        since = state.get("since")
        return int(since) if isinstance(since, (int, float)) else epoch_seconds(self.clock.now() - FIRST_POLL_LOOKBACK)

    @staticmethod
    def _advance(
        since: int, seen: set[str], found: list[tuple[int, IncomingMention]], capped_at: int | None = None
    ) -> dict[str, Any]:
        """The next {since, ids}: the newest second returned, with the ids already read in that second."""
        newest = max([stamp for stamp, _ in found], default=since)
        if capped_at is not None:
            newest = min(newest, capped_at)
        ids = {m.platform_id for stamp, m in found if stamp == newest}
        if newest == since:
            ids |= seen
        return {"since": newest, "ids": sorted(ids)}

    def _inbox(
        self, state: dict[str, Any], platform: str, fields: str, message_fields: str, messages_of: MessagesOf
    ) -> tuple[list[IncomingMention], dict[str, Any]]:
        """Messages of the Page inbox's conversations on platform updated since the last message seen."""
        since, seen = self._since(state), set(state.get("ids") or [])
        found: list[tuple[int, IncomingMention]] = []
        params = {"platform": platform, "fields": fields, "limit": 25}
        for page in self.client.iter_pages(
            f"{self.page_id}/conversations", params, max_pages=MAX_PAGES, bucket="conversations"
        ):
            fresh = True
            for conversation in page.items:
                try:
                    conversation_id = conversation["id"]
                    updated = epoch_seconds(parse_time(conversation.get("updated_time")))
                except (KeyError, TypeError, MalformedItem):
                    log.warning("account %s: skipping malformed conversation", self.account.name)
                    continue
                if updated < since:
                    fresh = False  # conversations come most recently updated first
                    break
                for message_page in self.client.iter_pages(
                    f"{conversation_id}/messages",
                    {"fields": message_fields, "limit": 25},
                    max_pages=2,
                    bucket="messages",
                ):
                    older = False
                    for stamp, mention in messages_of(message_page.items, conversation_id):
                        if stamp < since:
                            older = True
                            continue
                        if mention is not None and not (stamp == since and mention.platform_id in seen):
                            found.append((stamp, mention))
                    if older:
                        break
            if not fresh:
                break
        return [m for _, m in sorted(found, key=lambda pair: pair[0])], self._advance(since, seen, found)
