"""The outbox: approved replies are sent once, retried on transient errors, reconciled when the outcome is unknown."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import get_args

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, sessionmaker

from bot import backoff
from bot.clock import Clock
from bot.config import Config
from bot.coordination import claims
from bot.delivery import platform_policy as policy
from bot.errors import AuthError, PermanentError, TransientError, UnknownOutcome
from bot.storage import audit
from bot.storage.db import transaction
from bot.storage.models import Account, Case, Draft, Mention, OutboxMessage
from bot.storage.statuses import DraftStatus, OutboxStatus
from responders.base import Action, OutgoingMessage, Responder, post

log = logging.getLogger(__name__)
ACTIONS = {
    "reply": "reply_public",
    "acknowledgement": "reply_public",
    "invitation": "reply_public",
    "private_message": "send_private",
    "close": "close_public",
}
CLAIM_SECONDS = claims.DEFAULT_CLAIM_SECONDS


# What recording a send needs (the draft and its case), and what posting needs besides (the mention, its author).
_WITH_CASE = joinedload(OutboxMessage.draft, innerjoin=True).joinedload(Draft.case, innerjoin=True)
_WITH_THREAD = (
    _WITH_CASE,
    joinedload(OutboxMessage.draft, innerjoin=True).joinedload(Draft.mention).joinedload(Mention.identity),
)


def action_for(draft: Draft) -> str:
    """The responder call that posts a draft."""
    if draft.kind == "follow_up":
        return "send_private" if draft.channel == "private" else "reply_public"
    return ACTIONS[draft.kind]


def enqueue(session: Session, draft: Draft, now: datetime) -> OutboxMessage:
    """Queue an approved draft for sending (once: the draft id and the idempotency key are unique)."""
    if draft.outbox is not None:
        return draft.outbox
    mention = draft.mention
    case = draft.case
    public_mentions = [m for m in case.mentions if m.channel == "public"]
    target = (
        mention
        if (mention is not None and mention.channel == "public")
        else (public_mentions[-1] if public_mentions else mention)
    )
    message = OutboxMessage(
        draft=draft,
        idempotency_key=f"draft-{draft.id}",
        account_id=case.account_id,
        action=action_for(draft),
        target_id=target.platform_id if target else None,
        recipient_id=mention.identity.platform_user_id if mention else None,
        text=draft.text,
        status=OutboxStatus.QUEUED,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(message)
    return message


def reply_thread(message: OutboxMessage) -> str:
    """The thread a message answers: its mention's (a merged case spans threads), else its target's, else the case's."""
    draft = message.draft
    mention = draft.mention
    if mention is not None and (mention.channel == "public" or message.action == "send_private"):
        return mention.thread_key
    target = next((m for m in draft.case.mentions if m.platform_id == message.target_id), None)
    return target.thread_key if target is not None else draft.case.thread_key


def outgoing(message: OutboxMessage) -> OutgoingMessage:
    """The responder's view of an outbox row."""
    draft = message.draft
    mention = draft.mention
    extra = {"kind": draft.kind, "case_id": draft.case_id}
    if mention is not None:
        extra["mention_channel"] = mention.channel
        extra["mention_stream"] = mention.stream
        if mention.channel == "public":
            extra["comment_id"] = mention.platform_id
    return OutgoingMessage(
        idempotency_key=message.idempotency_key,
        action=_action(message.action),
        text=message.text,
        thread_key=reply_thread(message),
        in_reply_to_id=message.target_id,
        recipient_id=message.recipient_id,
        recipient_handle=mention.identity.handle if mention else None,
        extra=extra,
    )


def _action(name: str) -> Action:
    """The responder call an outbox row names, checked: the column holds any string."""
    for action in get_args(Action):
        if action == name:
            return action
    raise ValueError(f"outbox action {name!r} is not one of {', '.join(get_args(Action))}")


def retry_delay(attempts: int, base: float, ceiling: float, retry_after: float | None = None) -> float:
    """Seconds before the next attempt: the platform's word when it gives one, else the backoff up to ceiling."""
    if retry_after is not None:
        return max(0.0, retry_after)
    return backoff.delay(attempts, base, ceiling)


# What sending a draft of this kind means for its case (bot.casework.cases.after_sending), in the same transaction.
AfterSending = Callable[[Session, Case, str, datetime], None]


class Outbox:
    """Sends due messages through each account's responder."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        config: Config,
        responder_for: Callable[[str], Responder],
        clock: Clock,
        worker: str = "daemon",
        claimant: str | None = None,
        claim_seconds: float = CLAIM_SECONDS,
        *,
        after_sending: AfterSending,
    ):
        self.factory = factory
        self.config = config
        self.responder_for = responder_for
        self.after_sending = after_sending
        self.clock = clock
        self.worker = worker
        self.claimant = claimant or claims.default_claimant(worker)
        self.claim_seconds = claim_seconds

    def due_ids(self, limit: int | None = None) -> list[int]:
        """Ids of messages ready to be sent now (a look only: sending claims each one first)."""
        now = self.clock.now()
        with transaction(self.factory) as session:
            query = (
                select(OutboxMessage.id)
                .where(claims.outbox_claimable(now))
                .order_by(OutboxMessage.id)
                .limit(limit or self.config.outbox.batch_size)
            )
            return list(session.scalars(query))

    def run(self) -> int:
        """Claim a batch of due messages and send them; returns how many were posted."""
        with transaction(self.factory) as session:
            batch = claims.claim_outbox(
                session, self.claimant, self.clock.now(), self.claim_seconds, self.config.outbox.batch_size
            )
        return sum(1 for claim in batch if self._deliver(claim) == "sent")

    def send(self, message_id: int) -> str:
        """Send one message now if it is due and nobody else is sending it; returns its new status."""
        with transaction(self.factory) as session:
            batch = claims.claim_outbox(
                session, self.claimant, self.clock.now(), self.claim_seconds, 1, message_id=message_id
            )
        return self._deliver(batch[0]) if batch else "skipped"

    def _deliver(self, claim: claims.OutboxClaim) -> str:
        message_id = claim.message_id
        with transaction(self.factory) as session:
            message = session.scalars(
                select(OutboxMessage).where(OutboxMessage.id == message_id).options(*_WITH_THREAD)
            ).one()
            account_name = session.get_one(Account, message.account_id).name
            out = outgoing(message)
            draft = message.draft
            verdict = policy.check(session, draft, draft.case, draft.mention, self.clock.now())
            if not verdict.allowed:
                return self._block(session, message, verdict.as_dict())
        responder = self.responder_for(account_name)
        try:
            if claim.uncertain:
                found = responder.find_sent(out)
                if found:
                    log.info("outbox %s: already posted as %s, not sending again", out.idempotency_key, found)
                    return self._sent(message_id, found, reconciled=True)
            if not self._still_claimed(claim):
                log.warning(
                    "outbox message %s: the claim expired before posting; another daemon takes it over", message_id
                )
                return "skipped"
            post_id = post(responder, out)
        except UnknownOutcome as exc:
            return self._retry(message_id, "unknown", f"outcome unknown: {exc}", retry_after=None)
        except TransientError as exc:
            return self._retry(message_id, "queued", str(exc), retry_after=exc.retry_after)
        except AuthError as exc:
            return self._retry(
                message_id, "queued", f"authorisation failed: {exc}", retry_after=self.config.daemon.max_backoff_seconds
            )
        except PermanentError as exc:
            return self._fail(message_id, str(exc))
        return self._sent(message_id, post_id)

    def _still_claimed(self, claim: claims.OutboxClaim) -> bool:
        """True while the claim holds: surely so well before it expires (others take only expired claims), else asked."""
        now = self.clock.now()
        margin = timedelta(seconds=self.claim_seconds * claims.CLAIM_SAFETY_SHARE)
        if now < claim.claimed_until - margin:
            return True
        with transaction(self.factory) as session:
            return claims.outbox_claim_holds(session, claim.message_id, self.claimant, now)

    def _sent(self, message_id: int, post_id: str, reconciled: bool = False) -> str:
        now = self.clock.now()
        with transaction(self.factory) as session:
            message = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .options(_WITH_CASE)
                .with_for_update(of=OutboxMessage)
            ).one()
            if message.status == OutboxStatus.SENT:  # another daemon reconciled it meanwhile: record it once
                return "sent"
            message.status = OutboxStatus.SENT
            message.platform_post_id = post_id
            message.sent_at = now
            message.last_error = None
            draft = message.draft
            draft.status = DraftStatus.SENT
            self.after_sending(session, draft.case, draft.kind, now)
            audit.record(
                session,
                now,
                self.worker,
                "send",
                "draft",
                draft.id,
                platform_post_id=post_id,
                send_action=message.action,
                reconciled=reconciled,
            )
        log.info("sent draft %s (%s) as %s", draft.id, message.action, post_id)
        return "sent"

    def _retry(self, message_id: int, status: str, error: str, retry_after: float | None) -> str:
        now = self.clock.now()
        with transaction(self.factory) as session:
            message = session.get_one(OutboxMessage, message_id, with_for_update=True)
            if not self._ours(message):
                return message.status
            if message.attempts >= self.config.outbox.max_attempts and status != "unknown":
                return self._fail_in(session, message, f"gave up after {message.attempts} attempts: {error}")
            delay = retry_delay(
                message.attempts,
                self.config.outbox.retry_base_seconds,
                self.config.daemon.max_backoff_seconds,
                retry_after,
            )
            message.status = status
            message.last_error = error
            message.claimed_until = None
            message.next_attempt_at = now + timedelta(seconds=delay)
        log.warning("outbox message %s will be retried in %.0f s: %s", message_id, delay, error)
        return status

    def _fail(self, message_id: int, error: str) -> str:
        with transaction(self.factory) as session:
            message = session.get_one(OutboxMessage, message_id, with_for_update=True)
            if not self._ours(message):
                return message.status
            return self._fail_in(session, message, error)

    def _ours(self, message: OutboxMessage) -> bool:
        """True while the message is still being sent under this process's claim (not taken over meanwhile)."""
        return message.status == OutboxStatus.SENDING and message.claimed_by == self.claimant

    def _fail_in(self, session: Session, message: OutboxMessage, error: str) -> str:
        message.status = OutboxStatus.FAILED
        message.last_error = error
        message.draft.status = DraftStatus.FAILED
        audit.record(session, self.clock.now(), self.worker, "send_failed", "draft", message.draft_id, error=error)
        log.error("outbox message %s failed: %s", message.id, error)
        return "failed"

    def _block(self, session: Session, message: OutboxMessage, verdict: dict[str, object]) -> str:
        message.status = OutboxStatus.BLOCKED
        message.last_error = str(verdict.get("reason"))
        message.draft.status = DraftStatus.BLOCKED
        message.draft.policy = verdict
        audit.record(session, self.clock.now(), self.worker, "policy_blocked", "draft", message.draft_id, **verdict)
        log.warning("outbox message %s blocked by platform policy: %s", message.id, verdict.get("reason"))
        return "blocked"
