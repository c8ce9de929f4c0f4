"""What the current config costs in API calls per hour, as `python -m bot status` shows it."""

from __future__ import annotations

from bot.config import AccountConfig, parse_config
from bot.intake.read_budget import breakdown, calls_per_hour, report
from listeners import facebook


def test_an_x_account_polling_every_minute_with_two_searches_makes_240_calls_an_hour():
    account = AccountConfig(
        name="acme-x",
        platform="x",
        user_id="1",
        poll_interval_seconds=60,
        access_token_env="X_ACCESS",
        search_queries=["acme", '"acme app"'],
    )
    assert breakdown(account) == {
        "mentions": 60.0,
        "search:acme": 60.0,
        'search:"acme app"': 60.0,
        "direct_messages": 60.0,
    }
    assert calls_per_hour(account) == 240.0


def test_a_facebook_page_counts_one_call_per_watched_post():
    account = AccountConfig(name="acme-fb", platform="facebook", page_id="1", poll_interval_seconds=300)
    assert breakdown(account)["comments"] == 12 * (1 + facebook.WATCHED_POSTS)
    assert calls_per_hour(account) == 12 * (1 + facebook.WATCHED_POSTS + 1 + 1 + 2)


def test_a_slower_interval_or_fewer_streams_costs_less_and_disabled_costs_nothing():
    config = parse_config(
        {
            "accounts": [
                {"name": "x1", "platform": "x", "user_id": "1", "poll_interval_seconds": 120, "listen": ["mentions"]},
                {"name": "x2", "platform": "x", "user_id": "2", "enabled": False},
            ]
        }
    )
    assert [(r["account"], r["calls_per_hour"]) for r in report(config)] == [("x1", 30.0), ("x2", 0)]
