"""Webhooks beside polling: signatures checked, handshakes answered, events stored once with what polling finds."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.clock import FrozenClock
from bot.config import parse_config
from bot.intake import accounts
from bot.intake.ingest import store_mentions
from bot.intake.webhooks import build_webhook_router
from bot.simulators import facebook_account, x_account
from bot.storage.models import Mention
from listeners.meta import signature as meta_signature
from listeners.x import crc_response as x_crc_response
from listeners.x import signature as x_signature
from tests.harness import Desk

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ENV = {"SIM_FB_APP_SECRET": "sim-app-secret", "FB_VERIFY": "let-me-in", "SIM_X_CONSUMER_SECRET": "sim-consumer-secret"}


def fixture(platform: str, name: str) -> dict:
    return json.loads((FIXTURES / platform / name).read_text(encoding="utf-8"))


class Recorder:
    """An ingest callable that remembers what it was handed."""

    def __init__(self):
        self.calls: list[tuple[str, list]] = []

    def __call__(self, account_name, mentions):
        self.calls.append((account_name, mentions))


def client_for(config, ingest) -> TestClient:
    app = FastAPI()
    app.include_router(build_webhook_router(config, ingest, environ=ENV))
    return TestClient(app)


@pytest.fixture
def config(graph_sim, x_sim):  # noqa: F811
    fb = facebook_account(graph_sim, webhook_verify_token_env="FB_VERIFY").model_dump()
    x = x_account(x_sim).model_dump()
    return parse_config({"accounts": [fb, x]})


def comment_event(page_id: str, comment_id: str, post_id: str, message: str, parent_id: str | None = None) -> dict:
    return {
        "object": "page",
        "entry": [
            {
                "id": page_id,
                "time": int(time.time()),
                "changes": [
                    {
                        "field": "feed",
                        "value": {
                            "from": {"id": "10150000000000", "name": "Carlos Ruiz"},
                            "item": "comment",
                            "verb": "add",
                            "comment_id": comment_id,
                            "post_id": post_id,
                            "parent_id": parent_id or post_id,
                            "message": message,
                            "created_time": int(time.time()),
                            "post": {"id": post_id, "status_type": "added_photos"},
                        },
                    }
                ],
            }
        ],
    }


def test_meta_subscription_handshake_echoes_the_challenge_only_for_our_verify_token(config):
    client = client_for(config, Recorder())
    ok = client.get(
        "/webhooks/meta",
        params={"hub.mode": "subscribe", "hub.verify_token": "let-me-in", "hub.challenge": "1158201444"},
    )
    assert (ok.status_code, ok.text) == (200, "1158201444")
    wrong = client.get(
        "/webhooks/meta", params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1158201444"}
    )
    assert wrong.status_code == 403


def test_a_meta_webhook_with_a_bad_signature_is_rejected_and_nothing_is_stored(config, graph_sim):
    ingest = Recorder()
    body = json.dumps(comment_event(graph_sim.page_id, "1_2", f"{graph_sim.page_id}_1", "hi")).encode()
    forged = client_for(config, ingest).post(
        "/webhooks/meta",
        content=body,
        headers={"X-Hub-Signature-256": meta_signature("not-the-app-secret", body), "Content-Type": "application/json"},
    )
    unsigned = client_for(config, ingest).post("/webhooks/meta", content=body)
    assert forged.status_code == 403 and unsigned.status_code == 403
    assert ingest.calls == []


def test_a_comment_and_a_messenger_message_arrive_as_mentions(config, graph_sim):
    ingest = Recorder()
    event = fixture("facebook", "webhook_feed_comment.json")
    event["entry"][0]["id"] = graph_sim.page_id
    body = json.dumps(event).encode()
    response = client_for(config, ingest).post(
        "/webhooks/meta", content=body, headers={"X-Hub-Signature-256": meta_signature("sim-app-secret", body)}
    )
    assert response.json() == {"received": 2}
    [(account, mentions)] = ingest.calls
    comment, message = mentions
    assert account == "acme-fb"
    assert (comment.platform_id, comment.thread_key, comment.in_reply_to_id, comment.stream, comment.author_name) == (
        "870123456789012_1130098765432102",
        "870123456789012_1130098765432101",
        "870123456789012_1130098765432101",
        "comments",
        "Ana Torres",
    )
    assert (message.platform_id, message.channel, message.thread_key, message.stream) == (
        "m_1457764197618:41d102a3e1ae206a38",
        "private",
        "2400000000000001",
        "messenger",
    )


def test_x_crc_check_answers_with_the_hmac_of_the_token(config):
    response = client_for(config, Recorder()).get("/webhooks/x", params={"crc_token": "challenge-123"})
    assert response.json() == {"response_token": x_crc_response("sim-consumer-secret", "challenge-123")}
    # base64 of HMAC-SHA256, checked against RFC 4231 test case 2 (key "Jefe") rather than our own code.
    assert (
        x_crc_response("Jefe", "what do ya want for nothing?") == "sha256=W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="
    )


def test_x_account_activity_events_become_mentions_and_dms(tmp_path, x_sim):
    ingest = Recorder()
    payload = fixture("x", "account_activity.json")
    config = parse_config({"accounts": [x_account(x_sim, user_id=payload["for_user_id"]).model_dump()]})
    body = json.dumps(payload).encode()
    client = client_for(config, ingest)
    assert (
        client.post("/webhooks/x", content=body, headers={"x-twitter-webhooks-signature": "sha256=AAAA"}).status_code
        == 403
    )
    response = client.post(
        "/webhooks/x", content=body, headers={"x-twitter-webhooks-signature": x_signature("sim-consumer-secret", body)}
    )
    assert response.json() == {"received": 2}
    tweet, dm = ingest.calls[0][1]
    assert (
        tweet.platform_id,
        tweet.author_handle,
        tweet.addressed_to_brand,
        tweet.channel,
        tweet.author_followers,
    ) == ("1790012345678901234", "@maria_g", True, "public", 340)
    assert (dm.platform_id, dm.channel, dm.author_handle, dm.thread_key) == (
        "1790012345678909999",
        "private",
        "@maria_g",
        "2244994945-1500000000000000001",
    )


def test_a_comment_seen_by_webhook_and_then_by_polling_is_stored_once(tmp_path: Path, database_url: str, graph_sim):
    post = graph_sim.page_post("Spring collection")
    comment = graph_sim.comment(post, "Carlos Ruiz", "My package never arrived")
    account = facebook_account(graph_sim, poll_interval_seconds=1, listen=["comments"]).model_dump()
    desk = Desk(tmp_path, database_url, clock=FrozenClock(graph_sim.clock()), accounts=[account])

    def ingest(account_name, mentions):
        with desk.session() as session:
            store_mentions(session, accounts.get_account(session, account_name), mentions, desk.clock.now())

    body = json.dumps(comment_event(graph_sim.page_id, comment, post, "My package never arrived")).encode()
    client = client_for(desk.config, ingest)
    response = client.post(
        "/webhooks/meta", content=body, headers={"X-Hub-Signature-256": meta_signature("sim-app-secret", body)}
    )
    assert response.json() == {"received": 1}
    desk.poll()  # polling finds the same comment
    assert desk.count(Mention) == 1
    desk.service.engine.dispose()
