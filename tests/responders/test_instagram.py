"""The Instagram responder against the Instagram simulator: replies, private replies, direct messages, hiding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import NotSupported, PermanentError, UnknownOutcome
from bot.simulators import instagram_account
from responders.base import OutgoingMessage
from responders.instagram import InstagramResponder


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def responder(sim, timeout: float = 5.0) -> InstagramResponder:
    return InstagramResponder(instagram_account(sim), timeout=timeout)


@pytest.fixture
def thread(instagram_sim):
    """A complaint under a product post, and a reply to it."""
    post = instagram_sim.media("New trail runners are in 👟")
    top = instagram_sim.comment(
        post, "maria.lopez", "The sole came off after two weeks", created_at=now() - timedelta(hours=1)
    )
    reply = instagram_sim.comment(top, "maria.lopez", "Order 55120", created_at=now() - timedelta(minutes=30))
    return post, top, reply


def test_a_public_reply_lands_under_the_right_comment(instagram_sim, thread):
    post, top, reply = thread
    message = OutgoingMessage(
        idempotency_key="d1",
        action="reply_public",
        text="Sorry Maria, checking now.",
        thread_key=top,
        in_reply_to_id=reply,
    )
    reply_id = responder(instagram_sim).reply_public(message)
    [posted] = instagram_sim.brand_replies()
    assert posted["id"] == reply_id and posted["on"] == top and posted["media_id"] == post
    assert responder(instagram_sim).find_sent(message) == reply_id  # an earlier attempt is found, not repeated


def test_a_reply_to_a_reply_is_refused_with_the_platforms_reason(instagram_sim, thread):
    _, _, reply = thread
    message = OutgoingMessage(idempotency_key="d2", action="reply_public", text="Thanks!", thread_key=reply)
    with pytest.raises(PermanentError, match="only be added to top-level comments"):
        responder(instagram_sim).reply_public(message)
    assert instagram_sim.brand_replies() == []


def test_one_private_reply_per_comment(instagram_sim, thread):
    _, top, _ = thread
    message = OutgoingMessage(
        idempotency_key="d3",
        action="send_private",
        text="Hi Maria, could you DM us your order?",
        thread_key=top,
        extra={"comment_id": top, "mention_channel": "public"},
    )
    answer = responder(instagram_sim)
    assert answer.send_private(message).startswith("ig_m_")
    assert answer.find_sent(message) == f"private_reply:{top}"
    with pytest.raises(PermanentError, match="already replied"):
        answer.send_private(message)


def test_a_private_reply_after_7_days_is_refused(instagram_sim):
    post = instagram_sim.media("Old post")
    old = instagram_sim.comment(post, "ana", "Still waiting for my refund", created_at=now() - timedelta(days=8))
    message = OutgoingMessage(
        idempotency_key="d4",
        action="send_private",
        text="Hi Ana",
        thread_key=old,
        extra={"comment_id": old, "mention_channel": "public"},
    )
    with pytest.raises(PermanentError, match="10903"):
        responder(instagram_sim).send_private(message)


def test_a_direct_message_goes_only_within_24_hours_of_the_persons_last_one(instagram_sim):
    instagram_sim.message("sam.okafor", "Where is my parcel?", created_at=now() - timedelta(hours=25))
    person = instagram_sim.person("sam.okafor")["id"]
    message = OutgoingMessage(
        idempotency_key="d5",
        action="send_private",
        text="Hi Sam, checking it now",
        thread_key=person,
        recipient_id=person,
        extra={"mention_channel": "private", "mention_stream": "direct_messages"},
    )
    with pytest.raises(PermanentError, match="outside of allowed window"):
        responder(instagram_sim).send_private(message)
    instagram_sim.message("sam.okafor", "Hello?")
    assert responder(instagram_sim).send_private(message).startswith("ig_m_")
    assert [p["kind"] for p in instagram_sim.posted] == ["message"]


def test_hiding_a_comment_and_showing_it_again(instagram_sim, thread):
    _, top, _ = thread
    answer = responder(instagram_sim)
    answer.hide_comment(top)
    assert instagram_sim.comments[top]["hidden"] is True
    answer.hide_comment(top, hidden=False)
    assert instagram_sim.comments[top]["hidden"] is False


def test_a_reply_that_timed_out_is_an_unknown_outcome_not_a_failure(instagram_sim, thread):
    _, top, _ = thread
    instagram_sim.inject("timeout", path="/replies", method="POST", delay=1.5)
    message = OutgoingMessage(idempotency_key="d6", action="reply_public", text="On it!", thread_key=top)
    with pytest.raises(UnknownOutcome):
        responder(instagram_sim, timeout=0.5).reply_public(message)
    assert responder(instagram_sim).find_sent(message) is not None  # it was posted: reconciled, never sent twice


def test_the_responders_hide_hides_a_comment_but_not_a_direct_message(instagram_sim, thread):
    _, top, _ = thread
    answer = responder(instagram_sim)
    answer.hide(top, True)
    assert instagram_sim.comments[top]["hidden"] is True
    answer.hide(top, False)
    assert instagram_sim.comments[top]["hidden"] is False
    with pytest.raises(NotSupported):
        answer.hide("ig_m_12", True)
