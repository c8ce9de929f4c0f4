"""The platform policy guard, through the whole pipeline with X and Facebook accounts on the simulators."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from bot.casework.approval import PolicyRefused
from bot.clock import FrozenClock
from bot.delivery import platform_policy as policy
from bot.simulators import facebook_account, x_account
from bot.storage.models import Draft, Mention
from tests.harness import Desk


def real_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@pytest.fixture
def desk(tmp_path: Path, database_url: str, x_sim, graph_sim) -> Desk:
    """The service with one X account and one Facebook Page, both on the simulators, its clock at the real now."""
    accounts = [
        x_account(x_sim, poll_interval_seconds=1, search_queries=["acme"]).model_dump(),
        facebook_account(graph_sim, poll_interval_seconds=1, listen=["comments", "messenger"]).model_dump(),
    ]
    desk = Desk(tmp_path, database_url, clock=FrozenClock(real_now()), accounts=accounts)
    yield desk
    desk.service.engine.dispose()


def pending(desk: Desk, platform_id: str) -> dict[str, Draft]:
    """The pending drafts answering one mention, by kind."""
    with desk.session() as session:
        mention = session.scalar(select(Mention).where(Mention.platform_id == platform_id))
        drafts = session.scalars(select(Draft).where(Draft.case_id == mention.case_id, Draft.status == "pending"))
        return {d.kind: d for d in drafts}


def test_a_reply_to_a_mention_lands_in_the_customers_x_thread(desk, x_sim):
    root = x_sim.post("maria_g", "@acme the app crashes every time I open it since the update, really disappointed")
    desk.poll()
    desk.poll()  # polling again stores nothing new
    assert desk.count(Mention) == 1
    [draft] = pending(desk, root).values()
    assert desk.approve(draft.id).status == "sent"
    [posted] = x_sim.brand_posts()
    assert posted["in_reply_to_tweet_id"] == root and posted["conversation_id"] == root
    assert posted["text"] == draft.text


def test_a_post_that_does_not_address_the_brand_gets_an_intent_link_instead_of_an_automated_reply(desk, x_sim):
    post = x_sim.post("ana", "I was charged twice by acme on my card")
    desk.poll()
    invitation = pending(desk, post)["invitation"]
    with pytest.raises(PolicyRefused) as refused:
        desk.approve(invitation.id)
    assert "only to posts that mention the brand" in str(refused.value)
    link = urlsplit(str(refused.value).split("post it by hand: ")[1])
    assert (link.netloc, link.path) == ("twitter.com", "/intent/tweet")
    assert parse_qs(link.query) == {"in_reply_to": [post], "text": [invitation.text]}
    assert x_sim.brand_posts() == []


def test_x_direct_messages_only_after_the_person_wrote_in_private(desk, x_sim):
    post = x_sim.post("ana", "@acme I was charged twice on my card")
    desk.poll()
    private = pending(desk, post)["private_message"]
    with pytest.raises(PolicyRefused) as refused:
        desk.approve(private.id)
    assert "only after the person wrote to the brand in private" in str(refused.value)
    assert "twitter.com/messages/compose" in str(refused.value)
    dm = x_sim.direct_message("ana", "Hi, I was charged twice, here are my details")
    desk.poll()
    answer = next(d for d in pending(desk, dm).values() if d.channel == "private")
    assert desk.approve(answer.id).status == "sent"
    assert [m["recipient_id"] for m in x_sim.brand_messages()] == [x_sim.user_id("ana")]


def test_one_automated_reply_per_x_post(desk, x_sim):
    root = x_sim.post("maria_g", "@acme the app keeps crashing since yesterday's update")
    desk.poll()
    [first] = pending(desk, root).values()
    desk.approve(first.id)
    with desk.session() as session:
        mention = session.scalar(select(Mention).where(Mention.platform_id == root))
        second = Draft(
            id=None,
            case_id=mention.case_id,
            mention_id=mention.id,
            kind="reply",
            channel="public",
            text="Any news? We're still checking.",
        )
        verdict = policy.check(session, second, mention.case, mention, desk.clock.now())
    assert not verdict.allowed and "one automated reply per post" in verdict.reason
    assert verdict.manual_url.startswith(f"https://twitter.com/intent/tweet?in_reply_to={root}&text=")


def test_a_facebook_private_reply_delayed_past_7_days_is_not_sent_and_the_draft_says_why(desk, graph_sim):
    post = graph_sim.page_post("Spring collection")
    comment = graph_sim.comment(
        post,
        "Carlos Ruiz",
        "I was charged twice on my card for order 88213",
        created_at=real_now() - timedelta(minutes=5),
    )
    desk.poll()
    drafts = pending(desk, comment)
    assert desk.approve(drafts["invitation"].id).status == "sent"
    graph_sim.inject("server_error", path="/messages", status=500)  # the first attempt fails...
    assert desk.approve(drafts["private_message"].id).status == "approved"
    desk.clock.advance(days=8)  # ...and nobody looks at it for a week
    desk.service.outbox.run()
    blocked = desk.draft(drafts["private_message"].id)
    assert blocked.status == "blocked"
    assert "only within 7 days" in blocked.policy["reason"] and "8 days old" in blocked.policy["reason"]
    assert [p["kind"] for p in graph_sim.posted] == ["comment"]


def test_one_private_reply_per_facebook_comment(desk, graph_sim):
    post = graph_sim.page_post("Spring collection")
    comment = graph_sim.comment(post, "Carlos Ruiz", "I was charged twice on my card", created_at=real_now())
    desk.poll()
    private = pending(desk, comment)["private_message"]
    assert desk.approve(private.id).status == "sent"
    with desk.session() as session:
        mention = session.scalar(select(Mention).where(Mention.platform_id == comment))
        again = Draft(
            id=None,
            case_id=mention.case_id,
            mention_id=mention.id,
            kind="private_message",
            channel="private",
            text="Following up in private",
        )
        verdict = policy.check(session, again, mention.case, mention, desk.clock.now())
    assert not verdict.allowed and "one private reply per comment" in verdict.reason


def test_messenger_only_within_24_hours_of_the_persons_last_message(desk, graph_sim):
    graph_sim.message("Lena Vogel", "My card was charged twice", created_at=real_now() - timedelta(minutes=1))
    desk.poll()
    with desk.session() as session:
        mention = session.scalar(select(Mention).where(Mention.channel == "private", Mention.platform == "facebook"))
        draft = Draft(
            id=None,
            case_id=mention.case_id,
            mention_id=mention.id,
            kind="private_message",
            channel="private",
            text="Hi Lena, we're checking",
        )
        assert policy.check(session, draft, mention.case, mention, desk.clock.now()).allowed
        late = policy.check(session, draft, mention.case, mention, desk.clock.now() + timedelta(hours=25))
    assert not late.allowed and "within 24 hours" in late.reason and "25 hours ago" in late.reason
