"""The Instagram listener against the Instagram simulator, through the real Graph client (httpx)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.config import parse_config
from bot.errors import AuthError, TransientError
from bot.intake.webhooks import build_webhook_router
from bot.simulators import FACEBOOK_ENV, instagram_account
from listeners.instagram import InstagramListener
from listeners.meta import signature


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def listener(sim, timeout: float = 5.0, **overrides) -> InstagramListener:
    return InstagramListener(instagram_account(sim, **overrides), timeout=timeout)


def test_a_comment_and_its_reply_arrive_once_across_polls_and_restarts_with_their_thread(instagram_sim):
    post = instagram_sim.media("New trail runners are in 👟", created_at=now() - timedelta(hours=2))
    top = instagram_sim.comment(
        post, "maria.lopez", "The sole came off after two weeks", created_at=now() - timedelta(minutes=30)
    )
    instagram_sim.comment(top, "joel.runs", "Same with mine!", created_at=now() - timedelta(minutes=20))
    reader = listener(instagram_sim, listen=["comments"])
    mentions, cursor = reader.fetch({})
    assert [(m.author_handle, m.text) for m in mentions] == [
        ("@maria.lopez", "The sole came off after two weeks"),
        ("@joel.runs", "Same with mine!"),
    ]
    complaint, reply = mentions
    assert complaint.thread_key == top and complaint.in_reply_to_id == post
    assert reply.thread_key == top and reply.in_reply_to_id == top
    assert all(m.platform == "instagram" and m.channel == "public" and m.stream == "comments" for m in mentions)

    assert reader.fetch(cursor)[0] == []
    assert listener(instagram_sim, listen=["comments"]).fetch(cursor)[0] == []  # after a restart
    instagram_sim.comment(top, "maria.lopez", "Any news?")
    assert [m.text for m in reader.fetch(cursor)[0]] == ["Any news?"]


def test_tagged_media_and_direct_messages_are_addressed_to_the_brand(instagram_sim):
    instagram_sim.tagged_media("nora.wfh", "Morning run in my new @acme shoes ☀️")
    instagram_sim.message("sam.okafor", "My express order 55120 still says processing")
    mentions, cursor = listener(instagram_sim, listen=["tags", "direct_messages"]).fetch({})
    assert {(m.stream, m.channel, m.text) for m in mentions} == {
        ("tags", "public", "Morning run in my new @acme shoes ☀️"),
        ("direct_messages", "private", "My express order 55120 still says processing"),
    }
    assert all(m.addressed_to_brand for m in mentions)
    assert listener(instagram_sim, listen=["tags", "direct_messages"]).fetch(cursor)[0] == []


def test_our_own_replies_are_not_mentions(instagram_sim):
    post = instagram_sim.media("Hello")
    top = instagram_sim.comment(post, "priya", "Do you ship to Canada?")
    instagram_sim.comment(top, instagram_sim.username, "Yes we do!")
    mentions, _ = listener(instagram_sim, listen=["comments"]).fetch({})
    assert [m.text for m in mentions] == ["Do you ship to Canada?"]


def test_a_malformed_comment_is_skipped_and_the_rest_of_the_page_kept(instagram_sim, caplog):
    post = instagram_sim.media("Hello")
    for name in ("ana", "ben", "cleo"):
        instagram_sim.comment(post, name, f"question from {name}")
    instagram_sim.inject("malformed_item", path=f"/{post}/comments")
    with caplog.at_level(logging.WARNING, logger="listeners.instagram"):
        mentions, _ = listener(instagram_sim, listen=["comments"]).fetch({})
    assert sorted(m.text for m in mentions) == ["question from ben", "question from cleo"]
    assert "skipping malformed comments item" in caplog.text


def test_a_rate_limit_waits_for_the_reset_meta_announces(instagram_sim):
    instagram_sim.media("Hello")
    instagram_sim.inject("rate_limit", path="/media", reset_in=600)
    with pytest.raises(TransientError) as limited:
        listener(instagram_sim, listen=["comments"]).fetch({})
    assert limited.value.retry_after == 600


def test_a_revoked_token_asks_for_re_authorisation(instagram_sim):
    instagram_sim.revoke()
    with pytest.raises(AuthError, match="190"):
        listener(instagram_sim, listen=["comments"]).fetch({})


def test_the_budget_counts_the_reads_of_each_stream():
    account = parse_config(
        {
            "accounts": [
                {"name": "ig", "platform": "instagram", "ig_user_id": "1", "page_id": "2", "poll_interval_seconds": 300}
            ]
        }
    ).accounts[0]
    assert InstagramListener.calls_per_poll(account) == {"comments": 11, "tags": 1, "direct_messages": 2}


def webhook_client(sim) -> tuple[TestClient, list]:
    received: list = []
    config = parse_config({"accounts": [instagram_account(sim).model_dump()]})
    app = FastAPI()
    app.include_router(
        build_webhook_router(
            config, lambda account, mentions: received.append((account, mentions)), environ=FACEBOOK_ENV
        )
    )
    return TestClient(app), received


def test_a_signed_webhook_feeds_comments_and_messages_and_a_bad_signature_is_rejected(instagram_sim):
    client, received = webhook_client(instagram_sim)
    payload = {
        "object": "instagram",
        "entry": [
            {
                "id": instagram_sim.ig_user_id,
                "time": 1760000000,
                "changes": [
                    {
                        "field": "comments",
                        "value": {
                            "id": "17850001",
                            "text": "Where is my order?",
                            "from": {"id": "9001", "username": "lena"},
                            "media": {"id": "17890001"},
                        },
                    },
                    {"field": "mentions", "value": {"media_id": "17890002", "comment_id": "17850002"}},
                ],
                "messaging": [
                    {
                        "sender": {"id": "9002"},
                        "recipient": {"id": instagram_sim.ig_user_id},
                        "timestamp": 1760000000000,
                        "message": {"mid": "ig_m_1", "text": "Hi, a question"},
                    }
                ],
            }
        ],
    }
    body = json.dumps(payload).encode()

    forged = client.post("/webhooks/instagram", content=body, headers={"X-Hub-Signature-256": signature("nope", body)})
    assert forged.status_code == 403 and received == []

    signed = client.post(
        "/webhooks/instagram",
        content=body,
        headers={"X-Hub-Signature-256": signature(FACEBOOK_ENV["SIM_FB_APP_SECRET"], body)},
    )
    assert signed.json() == {"received": 2}
    [(account, mentions)] = received
    assert account == "acme-ig"
    assert [(m.stream, m.thread_key, m.in_reply_to_id, m.text) for m in mentions] == [
        ("comments", "17850001", "17890001", "Where is my order?"),
        ("direct_messages", "9002", None, "Hi, a question"),
    ]
