"""API calls per hour the current config makes, per account and stream, for `python -m bot status`."""
from __future__ import annotations

from bot.config import AccountConfig, Config

# Calls one poll makes per stream when nothing is busy (a busy stream reads more pages: see docs/platforms.md).
X_STREAM_CALLS = {"mentions": 1, "direct_messages": 1}
# Facebook comments: one call lists the recent Page posts, then one per watched post (listeners.facebook.WATCHED_POSTS).
FACEBOOK_WATCHED_POSTS = 10
FACEBOOK_STREAM_CALLS = {"comments": 1 + FACEBOOK_WATCHED_POSTS, "visitor_posts": 1, "tagged": 1,
                         # the conversation list, plus one read per conversation with news (one assumed)
                         "messenger": 2}


def calls_per_poll(account: AccountConfig) -> dict[str, int]:
    """Calls one poll of the account makes, by stream."""
    if account.platform == "x":
        streams = list(account.listen) or ["mentions", "search", "direct_messages"]
        calls: dict[str, int] = {}
        if "mentions" in streams:
            calls["mentions"] = X_STREAM_CALLS["mentions"]
        if "search" in streams:
            for query in account.search_queries:
                calls[f"search:{query}"] = 1
        if "direct_messages" in streams and (account.listen or account.access_token_env):
            calls["direct_messages"] = X_STREAM_CALLS["direct_messages"]
        return calls
    if account.platform == "facebook":
        streams = list(account.listen) or list(FACEBOOK_STREAM_CALLS)
        return {s: FACEBOOK_STREAM_CALLS[s] for s in streams if s in FACEBOOK_STREAM_CALLS}
    return {}


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
    return [{"account": a.name, "platform": a.platform, "poll_interval_seconds": a.poll_interval_seconds,
             "calls_per_hour": calls_per_hour(a), "by_stream": breakdown(a)} for a in config.accounts]
