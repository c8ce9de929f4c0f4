"""The Facebook responder against the Graph simulator: comments, private replies, Messenger, hiding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import AuthError, NotSupported, PermanentError, TransientError, UnknownOutcome
from bot.simulators import facebook_account
from responders.base import OutgoingMessage
from responders.facebook import FacebookResponder


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def responder(sim, timeout: float = 5.0) -> FacebookResponder:
    return FacebookResponder(facebook_account(sim), timeout=timeout)


@pytest.fixture
def thread(graph_sim):
    """A complaint under a Page post, and a second comment replying to it."""
    post = graph_sim.page_post("Spring collection!")
    top = graph_sim.comment(post, "Carlos Ruiz", "My package never arrived", created_at=now() - timedelta(hours=1))
    reply = graph_sim.comment(top, "Carlos Ruiz", "Order 88213", created_at=now() - timedelta(minutes=30))
    return post, top, reply


def test_a_public_reply_lands_under_the_top_level_comment(graph_sim, thread):
    post, top, reply = thread
    message = OutgoingMessage(
        idempotency_key="d1",
        action="reply_public",
        text="Sorry Carlos, checking now.",
        thread_key=top,
        in_reply_to_id=reply,
    )
    comment_id = responder(graph_sim).reply_public(message)
    [posted] = graph_sim.page_comments()
    assert posted["id"] == comment_id and posted["on"] == top
    assert graph_sim.comments[comment_id]["parent"]["id"] == top


def test_a_private_reply_to_a_comment_is_sent_once(graph_sim, thread):
    _, top, _ = thread
    message = OutgoingMessage(
        idempotency_key="d2",
        action="send_private",
        text="Hi Carlos, could you share your email?",
        thread_key=top,
        in_reply_to_id=top,
        extra={"comment_id": top, "mention_channel": "public"},
    )
    sender = responder(graph_sim)
    sender.send_private(message)
    with pytest.raises(PermanentError) as caught:
        sender.send_private(message)
    assert "10900" in str(caught.value)
    assert [p["comment_id"] for p in graph_sim.posted if p["kind"] == "private_reply"] == [top]
    assert sender.find_sent(message) == f"private_reply:{top}"


def test_a_private_reply_after_7_days_is_refused_by_the_platform(graph_sim):
    post = graph_sim.page_post("Old post")
    old = graph_sim.comment(post, "Ana Torres", "Where is my refund?", created_at=now() - timedelta(days=8))
    message = OutgoingMessage(
        idempotency_key="d3",
        action="send_private",
        text="Hi Ana",
        thread_key=old,
        in_reply_to_id=old,
        extra={"comment_id": old},
    )
    with pytest.raises(PermanentError) as caught:
        responder(graph_sim).send_private(message)
    assert "10903" in str(caught.value)


def test_messenger_answers_within_24_hours_and_is_refused_after(graph_sim):
    graph_sim.message("Carlos Ruiz", "Order 88213 is missing", created_at=now() - timedelta(hours=2))
    graph_sim.message("Lena Vogel", "Hello?", created_at=now() - timedelta(hours=30))
    carlos = next(p["psid"] for p in graph_sim.people.values() if p["name"] == "Carlos Ruiz")
    lena = next(p["psid"] for p in graph_sim.people.values() if p["name"] == "Lena Vogel")
    message = OutgoingMessage(
        idempotency_key="d4",
        action="send_private",
        text="We found it: it ships today.",
        thread_key=carlos,
        recipient_id=carlos,
        extra={"mention_stream": "messenger"},
    )
    message_id = responder(graph_sim).send_private(message)
    assert graph_sim.posted[-1] == {
        "kind": "message",
        "id": message_id,
        "text": "We found it: it ships today.",
        "recipient_id": carlos,
    }
    assert responder(graph_sim).find_sent(message) == message_id
    late = OutgoingMessage(
        idempotency_key="d5",
        action="send_private",
        text="Hi Lena",
        thread_key=lena,
        recipient_id=lena,
        extra={"mention_stream": "messenger"},
    )
    with pytest.raises(PermanentError) as caught:
        responder(graph_sim).send_private(late)
    assert "outside of allowed window" in str(caught.value)


def test_a_timed_out_comment_is_found_in_the_thread_and_not_posted_twice(graph_sim, thread):
    _, top, _ = thread
    message = OutgoingMessage(
        idempotency_key="d6", action="reply_public", text="On it, Carlos!", thread_key=top, in_reply_to_id=top
    )
    graph_sim.inject("timeout", path="/comments", method="POST", delay=1.5)
    with pytest.raises(UnknownOutcome):
        responder(graph_sim, timeout=0.5).reply_public(message)  # posted, but the answer comes too late
    assert responder(graph_sim).find_sent(message) == graph_sim.page_comments()[0]["id"]
    assert len(graph_sim.page_comments()) == 1


def test_hiding_an_abusive_comment(graph_sim, thread):
    _, top, _ = thread
    responder(graph_sim).hide_comment(top)
    assert graph_sim.comments[top]["is_hidden"] is True


def test_graph_errors_map_to_what_the_outbox_does_next(graph_sim, thread):
    _, top, _ = thread
    message = OutgoingMessage(idempotency_key="d7", action="reply_public", text="Hi", thread_key=top)
    graph_sim.inject("rate_limit", path="/comments", reset_in=120)
    with pytest.raises(TransientError) as caught:
        responder(graph_sim).reply_public(message)
    assert caught.value.retry_after == 120
    graph_sim.inject("server_error", path="/comments", status=500)
    with pytest.raises(TransientError):
        responder(graph_sim).reply_public(message)
    graph_sim.revoke()
    with pytest.raises(AuthError):
        responder(graph_sim).reply_public(message)
    assert graph_sim.page_comments() == []


def test_a_visitor_post_is_answered_in_private_by_its_post_id(graph_sim):
    post = graph_sim.visitor_post("Tom Becker", "Checkout fails with my Visa card")
    message = OutgoingMessage(
        idempotency_key="d8",
        action="send_private",
        text="Hi Tom, could you share your email?",
        thread_key=post,
        in_reply_to_id=post,
        extra={"comment_id": post, "mention_channel": "public", "mention_stream": "visitor_posts"},
    )
    sender = responder(graph_sim)
    assert sender.find_sent(message) is None
    sender.send_private(message)
    assert [p.get("post_id") for p in graph_sim.posted] == [post]
    assert sender.find_sent(message) == f"private_reply:{post}"


def test_the_responders_hide_hides_and_unhides_a_comment_but_not_a_messenger_message(graph_sim, thread):
    _, top, _ = thread
    answer = responder(graph_sim)
    answer.hide(top, True)
    assert graph_sim.comments[top]["is_hidden"] is True
    answer.hide(top, False)
    assert graph_sim.comments[top]["is_hidden"] is False
    with pytest.raises(NotSupported, match="Messenger"):
        answer.hide("m_abc", True)
    assert [p["hidden"] for p in graph_sim.posted if p["kind"] == "hide"] == [True, False]
