"""The X responder against the X simulator: replies land in the right thread, exactly once."""

from __future__ import annotations

import pytest

from bot.errors import AuthError, NotSupported, PermanentError, TransientError, UnknownOutcome
from bot.simulators import x_account
from responders.base import OutgoingMessage
from responders.x import XResponder


def responder(sim, timeout: float = 5.0) -> XResponder:
    return XResponder(x_account(sim), timeout=timeout)


def reply_to(post_id: str, thread: str, text: str = "Sorry to hear that, Maria! We're on it.") -> OutgoingMessage:
    return OutgoingMessage(
        idempotency_key="draft-1", action="reply_public", text=text, thread_key=thread, in_reply_to_id=post_id
    )


def test_a_reply_lands_in_the_customers_thread(x_sim):
    root = x_sim.post("maria_g", "@acme my order never arrived")
    follow_up = x_sim.post("maria_g", "@acme it's order #4411", in_reply_to=root)
    post_id = responder(x_sim).reply_public(reply_to(follow_up, root))
    [posted] = x_sim.brand_posts()
    assert posted["id"] == post_id
    assert posted["in_reply_to_tweet_id"] == follow_up and posted["conversation_id"] == root


def test_the_public_close_is_a_reply_in_the_same_thread(x_sim):
    root = x_sim.post("maria_g", "@acme my order never arrived")
    message = OutgoingMessage(
        idempotency_key="draft-2",
        action="close_public",
        text="Glad it arrived! 🎉",
        thread_key=root,
        in_reply_to_id=root,
    )
    responder(x_sim).close_public(message)
    assert [p["conversation_id"] for p in x_sim.brand_posts()] == [root]


def test_a_timed_out_reply_is_found_in_the_thread_and_never_posted_twice(x_sim):
    root = x_sim.post("maria_g", "@acme my order never arrived")
    message = reply_to(root, root)
    x_sim.inject("timeout", path="/2/tweets", method="POST", delay=1.5)
    assert responder(x_sim).find_sent(message) is None
    with pytest.raises(UnknownOutcome):
        responder(x_sim, timeout=0.5).reply_public(message)  # posted, but the answer comes too late
    found = responder(x_sim).find_sent(message)  # what the outbox does before any retry
    assert found == x_sim.brand_posts()[0]["id"]
    assert len(x_sim.brand_posts()) == 1


def test_a_direct_message_goes_to_the_person_who_wrote_in_private(x_sim):
    x_sim.direct_message("maria_g", "I was charged twice")
    maria = x_sim.user_id("maria_g")
    message = OutgoingMessage(
        idempotency_key="draft-3",
        action="send_private",
        text="Could you share the last 4 digits?",
        thread_key="",
        recipient_id=maria,
    )
    event_id = responder(x_sim).send_private(message)
    assert x_sim.brand_messages() == [
        {
            "kind": "dm",
            "id": event_id,
            "text": "Could you share the last 4 digits?",
            "recipient_id": maria,
            "dm_conversation_id": x_sim.brand_messages()[0]["dm_conversation_id"],
            "at": x_sim.brand_messages()[0]["at"],
        }
    ]
    assert responder(x_sim).find_sent(message) == event_id


def test_a_direct_message_to_someone_who_never_wrote_is_refused_for_good(x_sim):
    stranger = x_sim.user_id("stranger")
    message = OutgoingMessage(
        idempotency_key="draft-4", action="send_private", text="Hi!", thread_key="", recipient_id=stranger
    )
    with pytest.raises(PermanentError):
        responder(x_sim).send_private(message)
    assert x_sim.brand_messages() == []


def test_a_reply_over_280_weighted_characters_is_refused_before_calling_x(x_sim):
    root = x_sim.post("maria_g", "@acme hi")
    with pytest.raises(PermanentError) as caught:
        responder(x_sim).reply_public(reply_to(root, root, text="ok " * 94))
    assert "282" in str(caught.value)
    assert x_sim.calls("POST") == []


def test_platform_errors_map_to_what_the_outbox_does_next(x_sim):
    root = x_sim.post("maria_g", "@acme hi")
    sender = responder(x_sim)
    x_sim.inject("rate_limit", path="/2/tweets", method="POST", reset_in=90)
    with pytest.raises(TransientError) as caught:
        sender.reply_public(reply_to(root, root))
    assert 80 <= caught.value.retry_after <= 91
    x_sim.inject("server_error", path="/2/tweets", method="POST", status=500)
    with pytest.raises(TransientError):
        XResponder(x_account(x_sim)).reply_public(reply_to(root, root))
    x_sim.inject("auth", path="/2/tweets", method="POST")
    with pytest.raises(AuthError):
        XResponder(x_account(x_sim)).reply_public(reply_to(root, root))
    with pytest.raises(PermanentError):  # replying to a deleted post
        XResponder(x_account(x_sim)).reply_public(reply_to("1", "1"))
    assert x_sim.brand_posts() == []


def test_a_reply_in_the_brands_own_thread_is_hidden_and_shown_again(x_sim):
    ours = x_sim.post("acme", "Our spring sale starts today!")
    reply = x_sim.post("troll", "@acme you are all idiots", in_reply_to=ours)
    sender = responder(x_sim)
    sender.hide(reply, True)
    assert x_sim.hidden == {reply}
    [call] = x_sim.calls("PUT", f"/2/tweets/{reply}/hidden")
    assert call.body == {"hidden": True} and call.headers["authorization"].startswith("OAuth ")
    sender.hide(reply, False)
    assert x_sim.hidden == set()


def test_x_hides_only_replies_in_threads_the_brand_started_and_never_a_direct_message(x_sim):
    theirs = x_sim.post("maria_g", "@acme my order never arrived")
    with pytest.raises(PermanentError, match="403"):
        responder(x_sim).hide(theirs, True)
    with pytest.raises(NotSupported, match="direct message"):
        responder(x_sim).hide("1500000000000000001-1000001", True)
    assert x_sim.hidden == set()
