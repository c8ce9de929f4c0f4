"""Delivering notifications: each one routed to the channels that take it, claimed, sent once through apprise,
retried with backoff, kept under each channel's rate, and written to the audit log.

A delivery is claimed (pending → sending, a compare-and-set on the row) before anything is sent, so two daemons
never send it twice. A daemon that dies mid-send leaves it 'sending': `python -m bot status` shows it, and it is not
sent again, since it may have arrived already.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot import backoff
from bot.clock import Clock
from bot.config import Config, NotificationChannelConfig, env_placeholders, fill_from_environment
from bot.notifications.channels import channel_named, configured_channels
from bot.storage import audit
from bot.storage.db import transaction
from bot.storage.models import Notification, NotificationDelivery
from bot.storage.statuses import NotificationStatus

log = logging.getLogger(__name__)

ROUTE_BATCH = 500
RATE_WINDOW = timedelta(minutes=1)
ACTOR = "system"
_ERROR_CHARS = 500


@dataclass
class RoundResult:
    """What one round of delivery did."""

    routed: int = 0
    sent: int = 0
    failed: int = 0
    waiting: int = 0  # due but held back by a channel's rate limit


@dataclass(frozen=True)
class Claimed:
    """A delivery this daemon may send now, with what to send and where (the URL still has its ${…} placeholders)."""

    delivery_id: int
    notification_id: int
    attempts: int
    event: str
    recipient: str | None
    subject: str
    body: str
    target: str | None


def route(session: Session, config: Config, now: datetime, limit: int = ROUTE_BATCH) -> int:
    """Give each notification not yet routed a delivery per channel that takes it; returns the deliveries made."""
    notifications = list(
        session.scalars(
            select(Notification)
            .where(Notification.routed_at.is_(None))
            .order_by(Notification.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not notifications:
        return 0
    channels = configured_channels(config)
    existing = set(
        session.execute(
            select(NotificationDelivery.notification_id, NotificationDelivery.channel).where(
                NotificationDelivery.notification_id.in_([n.id for n in notifications])
            )
        ).all()
    )
    made = 0
    for notification in notifications:
        for channel in channels:
            if (notification.id, channel.name) in existing or not _takes(channel, notification):
                continue
            session.add(
                NotificationDelivery(
                    notification_id=notification.id,
                    channel=channel.name,
                    status=NotificationStatus.PENDING,
                    attempts=0,
                    next_attempt_at=now,
                )
            )
            made += 1
        notification.routed_at = now
    session.flush()
    return made


def _takes(channel: NotificationChannelConfig, notification: Notification) -> bool:
    return channel.accepts(notification.event) and channel.target(notification.recipient) is not None


def room(session: Session, channel: NotificationChannelConfig, now: datetime) -> int:
    """How many more notifications the channel may be sent now: its rate less those sent or in flight this minute."""
    used = session.scalar(
        select(func.count(NotificationDelivery.id)).where(
            NotificationDelivery.channel == channel.name,
            (
                (NotificationDelivery.status == NotificationStatus.SENT)
                & (NotificationDelivery.sent_at > now - RATE_WINDOW)
            )
            | (
                (NotificationDelivery.status == NotificationStatus.SENDING) & (NotificationDelivery.claimed_until > now)
            ),
        )
    )
    return max(0, channel.max_per_minute - (used or 0))


def claim(
    session: Session, channel: NotificationChannelConfig, worker: str, now: datetime, seconds: float, limit: int
) -> list[Claimed]:
    """Claim up to limit due deliveries of a channel, oldest first; each claim is a compare-and-set on the row."""
    due = (NotificationDelivery.channel == channel.name) & (NotificationDelivery.status == NotificationStatus.PENDING)
    due &= NotificationDelivery.next_attempt_at <= now
    ids = list(
        session.scalars(
            select(NotificationDelivery.id)
            .where(due)
            .order_by(NotificationDelivery.next_attempt_at, NotificationDelivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        return []
    # The condition is repeated so that on SQLite, where nothing was locked, a row claimed meanwhile is left alone.
    taken = set(
        session.scalars(
            update(NotificationDelivery)
            .where(NotificationDelivery.id.in_(ids), due)
            .values(
                status=NotificationStatus.SENDING,
                attempts=NotificationDelivery.attempts + 1,
                claimed_by=worker,
                claimed_until=now + timedelta(seconds=seconds),
            )
            .returning(NotificationDelivery.id)
            .execution_options(synchronize_session=False)
        )
    )
    rows = session.execute(
        select(NotificationDelivery.id, NotificationDelivery.attempts, Notification)
        .join(Notification, NotificationDelivery.notification_id == Notification.id)
        .where(NotificationDelivery.id.in_(taken))
        .order_by(NotificationDelivery.next_attempt_at, NotificationDelivery.id)
    ).all()
    return [
        Claimed(
            delivery_id,
            notification.id,
            attempts,
            notification.event,
            notification.recipient,
            notification.subject,
            notification.body,
            channel.target(notification.recipient),
        )
        for delivery_id, attempts, notification in rows
    ]


def send(url: str, title: str, body: str) -> str | None:
    """Send one notification through apprise; returns None when it went out, else the reason it did not."""
    import apprise  # here, not at the top: apprise and its plugins take a second to load; only a sender pays it

    sender = apprise.Apprise()
    if not sender.add(url):
        return "apprise cannot use the channel's URL (check its scheme and fields in docs/notifications.md)"
    result = sender.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT)
    if result:
        return None
    reasons = [entry.message for entry in result.logs() if entry.level in ("WARNING", "ERROR", "CRITICAL")]
    return "; ".join(reasons) or "apprise reported a failure without a reason"


def _secrets(template: str, url: str) -> list[str]:
    """What must never appear in a log or an error: the environment values filled in, and the URL's own parts."""
    values = [os.environ.get(name, "") for name in env_placeholders(template)]
    parts = urlsplit(url)
    values += [parts.password or "", parts.username or ""] + [p for p in parts.path.split("/") if len(p) >= 6]
    return sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return re.sub(r"\s+", " ", text).strip()[:_ERROR_CHARS]


def _send_claimed(item: Claimed) -> str | None:
    if item.target is None:
        return "the channel no longer has an address for this notification"
    try:
        url = fill_from_environment(item.target)
    except ValueError as exc:
        return str(exc)
    try:
        error = send(url, item.subject, item.body)
    except Exception as exc:  # noqa: BLE001 - a notifier's bug must not stop the round; the reason is kept
        error = f"{type(exc).__name__}: {exc}"
    return None if error is None else _scrub(error, _secrets(item.target, url))


def finish(
    session: Session,
    channel: NotificationChannelConfig,
    item: Claimed,
    worker: str,
    now: datetime,
    error: str | None,
    retry_base: float,
    retry_max: float,
) -> str | None:
    """Record how a claimed send went (sent, pending again, or failed) and audit it; None when the claim was lost."""
    row = session.scalar(
        select(NotificationDelivery)
        .where(
            NotificationDelivery.id == item.delivery_id,
            NotificationDelivery.status == NotificationStatus.SENDING,
            NotificationDelivery.claimed_by == worker,
        )
        .with_for_update()
    )
    if row is None:
        log.warning("notification %s to %s: another daemon took the delivery over", item.notification_id, channel.name)
        return None
    row.claimed_by = row.claimed_until = None
    detail = {"channel": channel.name, "event": item.event, "recipient": item.recipient, "attempts": row.attempts}
    if error is None:
        row.status, row.sent_at, row.last_error = NotificationStatus.SENT, now, None
        audit.record(session, now, ACTOR, "notification_sent", "notification", item.notification_id, **detail)
        return row.status
    row.last_error = error
    if row.attempts >= channel.max_attempts:
        row.status = NotificationStatus.FAILED
        action = "notification_failed"
        log.error("notification %s to %s failed %d times; giving up: %s", *_ids(item, channel), row.attempts, error)
    else:
        row.status = NotificationStatus.PENDING
        row.next_attempt_at = now + timedelta(seconds=backoff.delay(row.attempts, retry_base, retry_max))
        action = "notification_retry"
        log.warning(
            "notification %s to %s failed (attempt %d), retried later: %s", *_ids(item, channel), row.attempts, error
        )
    audit.record(session, now, ACTOR, action, "notification", item.notification_id, error=error, **detail)
    return row.status


def _ids(item: Claimed, channel: NotificationChannelConfig) -> tuple[int, str]:
    return item.notification_id, channel.name


def deliver(
    factory: sessionmaker[Session], config: Config, clock: Clock, worker: str, claim_seconds: float
) -> RoundResult:
    """One round: route new notifications, then send each channel's due ones, as many as its rate allows now."""
    result = RoundResult()
    try:
        with transaction(factory) as session:
            result.routed = route(session, config, clock.now())
    except IntegrityError:
        # Another daemon routed the same notifications a moment earlier (SQLite does not lock what it reads).
        log.info("notifications were routed by another worker; sending what is due")
    settings = config.notifications
    for channel in configured_channels(config):
        with transaction(factory) as session:
            now = clock.now()
            allowed = room(session, channel, now)
            items = claim(session, channel, worker, now, claim_seconds, allowed) if allowed else []
            if len(items) == allowed:
                result.waiting += _due(session, channel, now)
        for item in items:
            error = _send_claimed(item)
            with transaction(factory) as session:
                status = finish(
                    session,
                    channel,
                    item,
                    worker,
                    clock.now(),
                    error,
                    settings.retry_base_seconds,
                    settings.retry_max_seconds,
                )
            result.sent += status == NotificationStatus.SENT
            result.failed += status is not None and status != NotificationStatus.SENT
    if result.waiting:
        log.info("%d notification(s) wait for their channel's rate limit", result.waiting)
    return result


def _due(session: Session, channel: NotificationChannelConfig, now: datetime) -> int:
    return (
        session.scalar(
            select(func.count(NotificationDelivery.id)).where(
                NotificationDelivery.channel == channel.name,
                NotificationDelivery.status == NotificationStatus.PENDING,
                NotificationDelivery.next_attempt_at <= now,
            )
        )
        or 0
    )


def run(service) -> RoundResult:
    """The daemon's notification step."""
    return deliver(
        service.factory, service.config, service.clock, service.claimant, service.config.daemon.claim_seconds
    )


def status_lines(session: Session, config: Config, now: datetime) -> list[str]:
    """What `python -m bot status` says of notifications that did not get through."""
    rows = session.execute(
        select(NotificationDelivery.channel, NotificationDelivery.status, func.count(NotificationDelivery.id))
        .where(
            (NotificationDelivery.status == NotificationStatus.FAILED)
            | ((NotificationDelivery.status == NotificationStatus.SENDING) & (NotificationDelivery.claimed_until < now))
            | (NotificationDelivery.status == NotificationStatus.PENDING)
        )
        .group_by(NotificationDelivery.channel, NotificationDelivery.status)
        .order_by(NotificationDelivery.channel)
    ).all()
    lines = []
    for name, status, count in rows:
        if status == NotificationStatus.FAILED:
            lines.append(
                f"{count} notification(s) could not be delivered to {name} "
                f"(see notification_deliveries.last_error and the audit log)"
            )
        elif status == NotificationStatus.SENDING:
            lines.append(
                f"{count} notification(s) to {name} were being sent when a daemon stopped; not retried, "
                f"to avoid sending twice"
            )
        elif channel_named(config, name) is None:
            lines.append(f"{count} notification(s) wait for channel {name}, which is no longer configured")
    return lines
