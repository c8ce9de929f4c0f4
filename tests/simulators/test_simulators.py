"""The simulators answer in the shapes the real APIs use (recorded in tests/fixtures), and fail on demand."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest

from bot.simulators import GraphSimulator, XSimulator

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def shape(value):
    """The structure of a JSON value: keys and types, not contents."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def fixture(platform: str, name: str):
    return json.loads((FIXTURES / platform / name).read_text(encoding="utf-8"))


def x_get(sim: XSimulator, path: str, **params) -> httpx.Response:
    return httpx.get(sim.url + path, params=params, headers={"Authorization": "Bearer sim-bearer"})


def test_x_mentions_have_the_recorded_shape_and_rate_limit_headers(x_sim):
    x_sim.post("maria_g", "@acme one")
    x_sim.post("maria_g", "@acme two")
    response = x_get(x_sim, f"/2/users/{x_sim.brand_user_id}/mentions", max_results=1, expansions="author_id")
    assert shape(response.json()) == shape(fixture("x", "users_mentions.json"))
    assert int(response.headers["x-rate-limit-remaining"]) == int(response.headers["x-rate-limit-limit"]) - 1
    assert int(response.headers["x-rate-limit-reset"]) > 0


def test_x_dm_events_and_posting_have_the_recorded_shapes(x_sim):
    x_sim.direct_message("maria_g", "hello")
    x_sim.direct_message("maria_g", "again")
    sim_dms = httpx.get(
        x_sim.url + "/2/dm_events",
        params={"max_results": 1, "expansions": "sender_id"},
        headers={"Authorization": 'OAuth oauth_token="sim-access"'},
    ).json()
    assert shape(sim_dms) == shape(fixture("x", "dm_events.json"))
    created = httpx.post(
        x_sim.url + "/2/tweets",
        json={"text": "hello world"},
        headers={"Authorization": 'OAuth oauth_token="sim-access"'},
    )
    assert created.status_code == 201 and shape(created.json()) == shape(fixture("x", "create_tweet.json"))


def test_x_injected_429_says_when_the_window_resets(x_sim):
    x_sim.inject("rate_limit", path="/mentions", reset_in=30)
    response = x_get(x_sim, f"/2/users/{x_sim.brand_user_id}/mentions")
    assert response.status_code == 429 and response.json() == fixture("x", "too_many_requests.json")
    assert response.headers["x-rate-limit-remaining"] == "0"
    assert x_get(x_sim, f"/2/users/{x_sim.brand_user_id}/mentions").status_code == 200  # one-shot


def test_graph_comments_have_the_recorded_shape_with_paging_and_usage_headers(graph_sim):
    post = graph_sim.page_post("hello")
    top = graph_sim.comment(post, "Carlos Ruiz", "never arrived")
    graph_sim.comment(top, "Ana Torres", "same")
    graph_sim.comment(post, "Priya Nair", "canada?")
    response = httpx.get(
        f"{graph_sim.url}/v21.0/{post}/comments",
        params={"filter": "stream", "limit": 2},
        headers={"Authorization": "Bearer sim-page-token"},
    )
    body = response.json()
    assert shape(body) == shape(fixture("facebook", "post_comments.json")) | {"data": shape(body["data"])}
    assert shape(body["data"][1]) == shape(fixture("facebook", "post_comments.json")["data"][1])
    assert json.loads(response.headers["x-app-usage"])["call_count"] >= 0
    after = httpx.get(
        f"{graph_sim.url}/v21.0/{post}/comments",
        headers={"Authorization": "Bearer sim-page-token"},
        params={"filter": "stream", "limit": 2, "after": body["paging"]["cursors"]["after"]},
    ).json()
    assert [c["message"] for c in after["data"]] == ["canada?"] and "next" not in after["paging"]


def test_graph_revoked_token_answers_error_190(graph_sim):
    graph_sim.revoke()
    response = httpx.get(f"{graph_sim.url}/v21.0/{graph_sim.page_id}/posts", params={"access_token": "sim-page-token"})
    assert response.json() == fixture("facebook", "error_190.json")


def test_simulators_bind_to_localhost_on_a_free_port_and_free_it_when_stopped():
    sim = GraphSimulator().start()
    url = sim.url
    assert url.startswith("http://127.0.0.1:")
    sim.stop()
    port = int(url.rsplit(":", 1)[1])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # free again


def test_unknown_faults_are_refused():
    with pytest.raises(ValueError):
        XSimulator().inject("gremlins")


def test_graph_private_reply_answers_in_the_recorded_shape(graph_sim):
    post = graph_sim.page_post("hello")
    comment = graph_sim.comment(post, "Carlos Ruiz", "charged twice")
    response = httpx.post(
        f"{graph_sim.url}/v21.0/{graph_sim.page_id}/messages",
        json={"recipient": {"comment_id": comment}, "message": {"text": "Hi Carlos"}},
        headers={"Authorization": "Bearer sim-page-token"},
    )
    assert shape(response.json()) == shape(fixture("facebook", "send_message.json"))
