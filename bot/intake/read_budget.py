"""API calls per hour the current config makes, per account and stream, for `python -m bot status`."""

from __future__ import annotations

from bot.config import AccountConfig, Config
from bot.platforms.registry import platform_named


def calls_per_poll(account: AccountConfig) -> dict[str, int]:
    """Calls one quiet poll of the account makes, by stream (its listener knows)."""
    return platform_named(account.platform).calls_per_poll(account)


def breakdown(account: AccountConfig) -> dict[str, float]:
    """API calls per hour by stream, at the configured poll interval (0 for a disabled account)."""
    if not account.enabled:
        return {}
    polls_per_hour = 3600.0 / account.poll_interval_seconds
    return {stream: round(calls * polls_per_hour, 1) for stream, calls in calls_per_poll(account).items()}


def calls_per_hour(account: AccountConfig) -> float:
    """API calls per hour the account's polling makes with the current config."""
    return round(sum(breakdown(account).values()), 1)


def report(config: Config) -> list[dict[str, object]]:
    """Per account: calls per hour in total and by stream, and the poll interval behind them."""
    return [
        {
            "account": a.name,
            "platform": a.platform,
            "poll_interval_seconds": a.poll_interval_seconds,
            "calls_per_hour": calls_per_hour(a),
            "by_stream": breakdown(a),
        }
        for a in config.accounts
    ]
