"""The channels notifications go to: those in config, and the SLA webhook of before as one of them."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from bot.config import SLA_WEBHOOK_CHANNEL, Config, NotificationChannelConfig, SlaConfig

# The Slack-compatible payload the SLA webhook always posted: {"text": "…"}. Apprise's JSON notifier renames its
# `message` field to `text` and drops the others (`:field=` with no value), so Slack, Mattermost and Teams' Slack
# mode read the same body as before.
_SLACK_PAYLOAD = {":message": "text", ":title": "", ":version": "", ":attachments": "", ":type": ""}


def legacy_webhook_url(url: str, timeout_seconds: float) -> str:
    """The apprise json:// URL that posts {"text": body} to a Slack-compatible incoming webhook URL."""
    parts = urlsplit(url)
    scheme = "jsons" if parts.scheme == "https" else "json"
    # The webhook's own query parameters travel as apprise's '-name' (sent as GET parameters).
    query = {f"-{name}": value for name, value in parse_qsl(parts.query, keep_blank_values=True)}
    query.update(_SLACK_PAYLOAD)
    query.update({"cto": f"{timeout_seconds:g}", "rto": f"{timeout_seconds:g}"})
    return f"{scheme}://{parts.netloc}{quote(parts.path or '/', safe='/%')}?{urlencode(query)}"


def legacy_webhook_channel(sla: SlaConfig) -> NotificationChannelConfig | None:
    """sla.webhook_url (or the variable named by webhook_url_env) as the sla-webhook channel; None when unset."""
    url = sla.resolved_webhook_url()
    if not url:
        return None
    # Built from the resolved URL (it may hold a secret): never logged, never written back to the config.
    return NotificationChannelConfig(
        name=SLA_WEBHOOK_CHANNEL,
        url=legacy_webhook_url(url, sla.webhook_timeout_seconds),
        events=["sla_warning", "sla_breach"] if sla.webhook_warnings else ["sla_breach"],
        max_per_minute=60,
        max_attempts=sla.webhook_max_attempts,
    )


def configured_channels(config: Config) -> list[NotificationChannelConfig]:
    """Every channel a notification may go to, the configured ones first."""
    channels = list(config.notifications.channels)
    legacy = legacy_webhook_channel(config.sla)
    if legacy is not None:
        channels.append(legacy)
    return channels


def channel_named(config: Config, name: str) -> NotificationChannelConfig | None:
    """The channel with this name, or None when the config no longer has it."""
    return next((c for c in configured_channels(config) if c.name == name), None)
