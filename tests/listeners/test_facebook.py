"""The Facebook listener against the Graph simulator, through httpx."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import AuthError, TransientError
from bot.simulators import facebook_account
from listeners.facebook import FacebookListener


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# The simulator answers in milliseconds; the generous timeout keeps a loaded CI machine from failing a normal call.
# Tests about timeouts pass a short one and make the simulator answer later than that.
def listener(sim, timeout: float = 5.0, **overrides) -> FacebookListener:
    return FacebookListener(facebook_account(sim, **overrides), timeout=timeout)


def test_comments_and_replies_on_page_posts_arrive_once_with_their_thread(graph_sim):
    post = graph_sim.page_post("Spring collection is here!", created_at=now() - timedelta(hours=2))
    top = graph_sim.comment(post, "Carlos Ruiz", "My package never arrived", created_at=now() - timedelta(minutes=30))
    graph_sim.comment(top, "Ana Torres", "Same here!", created_at=now() - timedelta(minutes=20))
    reader = listener(graph_sim, listen=["comments"])
    mentions, cursor = reader.fetch({})
    assert [(m.author_name, m.text) for m in mentions] == [
        ("Carlos Ruiz", "My package never arrived"),
        ("Ana Torres", "Same here!"),
    ]
    complaint, reply = mentions
    assert complaint.thread_key == top and complaint.in_reply_to_id == post
    assert reply.thread_key == top and reply.in_reply_to_id == top
    assert all(m.channel == "public" and m.addressed_to_brand and m.stream == "comments" for m in mentions)

    assert reader.fetch(cursor)[0] == []
    assert listener(graph_sim, listen=["comments"]).fetch(cursor)[0] == []  # after a restart
    graph_sim.comment(top, "Carlos Ruiz", "Any news?")
    new, _ = reader.fetch(cursor)
    assert [m.text for m in new] == ["Any news?"]


def test_our_own_comments_are_not_mentions(graph_sim):
    post = graph_sim.page_post("Hello")
    top = graph_sim.comment(post, "Priya Nair", "Do you ship to Canada?")
    graph_sim._add_comment(top, {"id": graph_sim.page_id, "name": graph_sim.page_name}, "Yes we do!", None)
    mentions, _ = listener(graph_sim, listen=["comments"]).fetch({})
    assert [m.text for m in mentions] == ["Do you ship to Canada?"]


def test_visitor_posts_and_tags_are_addressed_to_the_brand(graph_sim):
    graph_sim.visitor_post("Tom Becker", "Checkout fails with my Visa card")
    graph_sim.tagged_post("Lena Vogel", "Loving my new jacket from Acme!")
    mentions, cursor = listener(graph_sim, listen=["visitor_posts", "tagged"]).fetch({})
    assert {(m.stream, m.text) for m in mentions} == {
        ("visitor_posts", "Checkout fails with my Visa card"),
        ("tagged", "Loving my new jacket from Acme!"),
    }
    assert all(m.thread_key == m.platform_id and m.addressed_to_brand for m in mentions)
    assert listener(graph_sim, listen=["visitor_posts", "tagged"]).fetch(cursor)[0] == []


def test_messenger_messages_are_private_and_threaded_by_conversation(graph_sim):
    graph_sim.message("Carlos Ruiz", "Hi, order 88213 is missing", created_at=now() - timedelta(minutes=5))
    mentions, cursor = listener(graph_sim, listen=["messenger"]).fetch({})
    assert [(m.text, m.channel, m.stream) for m in mentions] == [("Hi, order 88213 is missing", "private", "messenger")]
    psid = mentions[0].author_id
    assert mentions[0].thread_key == psid  # webhooks name the thread the same way
    graph_sim.message("Carlos Ruiz", "Are you there?")
    new, _ = listener(graph_sim, listen=["messenger"]).fetch(cursor)
    assert [(m.text, m.author_id) for m in new] == [("Are you there?", psid)]


def test_a_malformed_comment_is_skipped_and_the_rest_of_the_page_kept(graph_sim, caplog):
    post = graph_sim.page_post("Hello")
    for n in range(3):
        graph_sim.comment(post, "Fan", f"comment {n}", created_at=now() - timedelta(minutes=10 - n))
    graph_sim.inject("malformed_item", path="/comments")
    with caplog.at_level(logging.WARNING, logger="listeners.facebook"):
        mentions, _ = listener(graph_sim, listen=["comments"]).fetch({})
    assert [m.text for m in mentions] == ["comment 1", "comment 2"]
    assert "skipping malformed comments item" in caplog.text
    assert "sim-page-token" not in caplog.text


def test_page_request_limit_raises_transient_error_with_the_time_to_regain_access(graph_sim):
    graph_sim.inject("rate_limit", path="/visitor_posts", reset_in=600)
    with pytest.raises(TransientError) as caught:
        listener(graph_sim, listen=["visitor_posts"]).fetch({})
    assert caught.value.retry_after == 600


def test_an_invalidated_token_error_190_raises_auth_error(graph_sim):
    graph_sim.revoke()
    with pytest.raises(AuthError) as caught:
        listener(graph_sim, listen=["tagged"]).fetch({})
    assert "190" in str(caught.value)


def test_5xx_timeouts_and_malformed_json_are_transient(graph_sim):
    for kind in ("server_error", "malformed_json", "timeout"):
        graph_sim.inject(kind, path="/tagged", delay=1.5)
        with pytest.raises(TransientError):
            listener(graph_sim, timeout=0.5, listen=["tagged"]).fetch({})


def test_high_app_usage_slows_polling_down(graph_sim):
    graph_sim.calls_per_hour = 10
    reader = listener(graph_sim, listen=["tagged"])
    cursor = {}
    for _ in range(8):
        cursor = reader.fetch(cursor)[1]
    assert reader.rate_limit_status()["*"]["usage_percent"] == 80
    assert reader.suggested_interval() > 60
    assert reader.calls_made() == 8 and reader.calls_made() == 0


def test_a_burst_of_visitor_posts_is_read_over_several_polls_without_gaps(graph_sim, monkeypatch):
    monkeypatch.setattr("listeners.facebook.PAGE_SIZE", 4)
    monkeypatch.setattr("listeners.facebook.MAX_PAGES", 2)
    start = now() - timedelta(hours=1)
    for n in range(19):
        graph_sim.visitor_post(f"Fan {n}", f"post {n}", created_at=start + timedelta(minutes=n))
    reader = listener(graph_sim, listen=["visitor_posts"])
    seen, cursor = [], {}
    for _ in range(4):
        mentions, cursor = reader.fetch(cursor)
        seen.extend(m.text for m in mentions)
    assert sorted(seen) == sorted(f"post {n}" for n in range(19))  # every one, none twice
    assert "until" not in cursor["visitor_posts"]
