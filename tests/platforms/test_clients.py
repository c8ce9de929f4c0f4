"""The clients' plumbing: tweepy pointed at api_base_url, rate-limit headers, credential fingerprints."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FrozenClock
from bot.errors import AuthError
from bot.platforms.credentials import credentials_fingerprint
from bot.platforms.graph import GraphClient
from bot.platforms.ratelimit import parse_meta_headers, parse_x_headers
from bot.platforms.x import XClient
from bot.simulators import facebook_account, x_account

NOW = datetime(2026, 1, 5, 9, 0)


def test_tweepy_talks_to_the_configured_base_url_with_its_own_auth_and_parameters(x_sim):
    client = XClient(x_account(x_sim), timeout=5.0)
    body = client.call("users_me", "get_me", user_auth=True)
    assert body["data"]["username"] == "acme"
    [request] = x_sim.calls("GET", "/2/users/me")
    assert request.headers["authorization"].startswith("OAuth ") and "Tweepy" in request.headers["user-agent"]
    assert client.api_calls == 1


def test_x_rate_limit_headers_are_read_and_spread_polls_when_little_is_left():
    state = parse_x_headers(
        {
            "x-rate-limit-limit": "180",
            "x-rate-limit-remaining": "3",
            "x-rate-limit-reset": str(int((NOW + timedelta(minutes=6)).replace(tzinfo=UTC).timestamp())),
        },
        NOW,
    )
    assert (state.limit, state.remaining, state.reset_at) == (180, 3, NOW + timedelta(minutes=6))
    assert state.wait_seconds(NOW) is None
    assert state.suggested_interval(NOW) == 120.0  # 3 calls left for 6 minutes
    assert parse_x_headers({"content-type": "application/json"}, NOW) is None


def test_meta_usage_headers_take_the_worst_figure_and_the_time_to_regain_access():
    headers = {
        "X-App-Usage": json.dumps({"call_count": 40, "total_cputime": 12, "total_time": 30}),
        "X-Business-Use-Case-Usage": json.dumps(
            {
                "100": [
                    {
                        "type": "pages",
                        "call_count": 97,
                        "total_cputime": 20,
                        "total_time": 35,
                        "estimated_time_to_regain_access": 7,
                    }
                ]
            }
        ),
    }
    state = parse_meta_headers(headers, NOW)
    assert state.usage_percent == 97 and state.regain_seconds == 420
    assert state.wait_seconds(NOW + timedelta(seconds=20)) == 400
    quiet = parse_meta_headers({"X-App-Usage": '{"call_count": 10, "total_cputime": 1, "total_time": 2}'}, NOW)
    assert quiet.wait_seconds(NOW) is None and quiet.suggested_interval(NOW) is None


def test_the_credentials_fingerprint_changes_when_a_token_changes_and_hides_the_token(x_sim, monkeypatch):
    account = x_account(x_sim)
    before = credentials_fingerprint(account)
    assert before == credentials_fingerprint(account) and "sim-" not in before
    monkeypatch.setenv("SIM_X_ACCESS_TOKEN", "a-new-token")
    assert credentials_fingerprint(account) != before


def test_graph_sends_the_token_as_a_header_and_an_appsecret_proof(graph_sim):
    client = GraphClient(facebook_account(graph_sim), clock=FrozenClock(NOW))
    client.get(graph_sim.page_id)
    [request] = graph_sim.calls("GET", f"/v21.0/{graph_sim.page_id}")
    assert request.headers["authorization"] == "Bearer sim-page-token"
    assert len(request.query["appsecret_proof"]) == 64 and "access_token" not in request.query


def test_a_page_without_its_token_in_the_environment_is_an_auth_error(graph_sim, monkeypatch):
    monkeypatch.delenv("SIM_FB_PAGE_TOKEN")
    client = GraphClient(facebook_account(graph_sim))  # building it works: the daemon starts, the poll fails
    with pytest.raises(AuthError) as caught:
        client.get(graph_sim.page_id)
    assert "SIM_FB_PAGE_TOKEN" in str(caught.value)
