"""Posting SLA alerts to a Slack-compatible webhook: each alert is posted at most once."""

from __future__ import annotations

import logging

import httpx
from sqlalchemy import select, update

from bot.clock import Clock
from bot.config import Config
from bot.storage.db import transaction
from bot.storage.models import SlaAlert
from bot.storage.statuses import AlertDelivery

log = logging.getLogger(__name__)


def payload(alert: SlaAlert) -> dict[str, str]:
    """The JSON body of an incoming-webhook post (Slack, Mattermost and Teams' Slack mode read 'text')."""
    icon = ":warning:" if alert.kind == "warning" else ":rotating_light:"
    return {"text": f"{icon} {alert.message}"}


def deliver(factory, config: Config, clock: Clock, client: httpx.Client | None = None) -> int:
    """Post every pending alert to the configured webhook; returns how many were posted."""
    url = config.sla.resolved_webhook_url()
    if not url:
        return 0
    with transaction(factory) as session:
        ids = list(
            session.scalars(
                select(SlaAlert.id).where(SlaAlert.webhook_status == AlertDelivery.PENDING).order_by(SlaAlert.id)
            )
        )
    if not ids:
        return 0
    own_client = client is None
    client = client or httpx.Client(timeout=config.sla.webhook_timeout_seconds)
    posted = 0
    try:
        for alert_id in ids:
            posted += _deliver_one(factory, config, clock, client, url, alert_id)
    finally:
        if own_client:
            client.close()
    return posted


def _deliver_one(factory, config: Config, clock: Clock, client: httpx.Client, url: str, alert_id: int) -> int:
    # Claim the alert first so that two daemons never post the same one; a crash mid-post leaves it
    # 'sending', which a person can see, rather than risk posting it twice.
    with transaction(factory) as session:
        claimed = session.execute(
            update(SlaAlert)
            .where(SlaAlert.id == alert_id, SlaAlert.webhook_status == AlertDelivery.PENDING)
            .values(webhook_status=AlertDelivery.SENDING)
        ).rowcount
        if not claimed:
            return 0
        body = payload(session.get(SlaAlert, alert_id))
    error = None
    try:
        response = client.post(url, json=body)
        if response.status_code >= 300:
            error = f"HTTP {response.status_code}: {response.text[:200]}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    with transaction(factory) as session:
        alert = session.get(SlaAlert, alert_id)
        alert.webhook_attempts += 1
        if error is None:
            alert.webhook_status = AlertDelivery.SENT
            alert.webhook_sent_at = clock.now()
            alert.webhook_error = None
            return 1
        alert.webhook_error = error
        failed = alert.webhook_attempts >= config.sla.webhook_max_attempts
        alert.webhook_status = AlertDelivery.FAILED if failed else AlertDelivery.PENDING
        log.warning(
            "SLA alert %s could not be posted to the webhook (attempt %d): %s%s",
            alert_id,
            alert.webhook_attempts,
            error,
            "; giving up" if failed else "",
        )
        return 0
