"""A customer's whole case on Instagram, through the pipeline, the real Graph client and the simulator."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.casework.approval import PolicyRefused
from bot.clock import FrozenClock
from bot.simulators import instagram_account
from bot.storage.models import Account, Draft, Mention
from tests.harness import Desk


@pytest.fixture
def desk(tmp_path: Path, database_url: str, instagram_sim) -> Desk:
    """The service with one Instagram account on the simulator, its clock at the real now."""
    accounts = [instagram_account(instagram_sim, poll_interval_seconds=1).model_dump()]
    desk = Desk(tmp_path, database_url, clock=FrozenClock(datetime.now(UTC).replace(tzinfo=None)), accounts=accounts)
    yield desk
    desk.service.engine.dispose()


def pending(desk: Desk, platform_id: str) -> dict[str, Draft]:
    with desk.session() as session:
        mention = session.scalar(select(Mention).where(Mention.platform_id == platform_id))
        return {
            d.kind: d
            for d in session.scalars(select(Draft).where(Draft.case_id == mention.case_id, Draft.status == "pending"))
        }


def test_a_complaint_under_a_post_is_acknowledged_in_public_answered_in_private_and_closed_in_public(
    desk, instagram_sim
):
    post = instagram_sim.media("Meet the X300 mesh router 📶")
    comment = instagram_sim.comment(
        post,
        "marta.bikes",
        "You charged my card twice for the X300 and nobody answers my emails. I want my money back.",
    )
    desk.poll()
    desk.poll()  # polling again stores nothing new
    assert desk.count(Mention) == 1
    drafts = pending(desk, comment)
    assert {d.channel for d in drafts.values()} == {"public", "private"}

    public = next(d for d in drafts.values() if d.channel == "public")
    assert desk.approve(public.id).status == "sent"
    [acknowledgement] = instagram_sim.brand_replies()
    assert acknowledgement["on"] == comment and acknowledgement["text"] == public.text

    private = next(d for d in drafts.values() if d.channel == "private")
    assert desk.approve(private.id).status == "sent"
    assert [(p["kind"], p.get("comment_id")) for p in instagram_sim.posted][-1] == ("private_reply", comment)

    case = desk.case_of(comment)
    close = desk.resolve(case.id, summary="the second charge is refunded and shows in 3 to 5 days")
    assert desk.approve(close.id).status == "sent"
    assert desk.case_of(comment).state == "closed_public"
    assert [p["kind"] for p in instagram_sim.posted] == ["reply", "private_reply", "reply"]
    assert "refunded" in instagram_sim.posted[-1]["text"]


def test_a_hidden_comment_is_not_answered_and_the_draft_says_why(desk, instagram_sim):
    post = instagram_sim.media("Meet the X300 mesh router 📶")
    comment = instagram_sim.comment(
        post, "dan.k", "My X300 stopped working after a week and support never called me back"
    )
    instagram_sim.comments[comment]["hidden"] = True
    desk.poll()
    public = next(d for d in pending(desk, comment).values() if d.channel == "public")
    with pytest.raises(PolicyRefused, match="hidden"):
        desk.approve(public.id)
    assert instagram_sim.brand_replies() == []


def test_a_revoked_token_marks_the_account_for_re_authorisation(desk, instagram_sim):
    instagram_sim.revoke()
    for _ in range(3):
        desk.poll()
        desk.clock.advance(seconds=2)
    with desk.session() as session:
        account = session.query(Account).one()
        assert account.health == "needs_reauth" and "update the token" in account.health_detail
