"""Follow-ups: waiting cases are nudged, monitored threads re-checked, and no message is left without an answer."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.casework import followups
from bot.errors import UserError
from bot.runtime.status_report import collect
from bot.storage.models import AuditEntry, Case, Draft

BILLING = "@acme you charged my card twice this month, I want a refund"
PROBLEM = "@acme my internet has been down since this morning and it's still not working"


def follow_ups(desk) -> list[Draft]:
    with desk.session() as session:
        return list(session.scalars(select(Draft).where(Draft.kind == "follow_up").order_by(Draft.id)))


def test_a_case_waiting_on_the_customer_gets_a_follow_up_after_the_configured_time_and_no_more_than_allowed(desk):
    desk.mention(BILLING, id="bill-1")
    desk.poll()
    for draft in desk.drafts():
        desk.approve(draft.id)
    assert desk.case_of("bill-1").state == "waiting_on_customer"

    desk.clock.advance(hours=23, minutes=59)
    assert followups.run(desk.service).follow_ups == []
    desk.clock.advance(minutes=1)
    [first] = followups.run(desk.service).follow_ups
    assert followups.run(desk.service).follow_ups == []  # one is already waiting for approval
    draft = desk.draft(first)
    assert draft.kind == "follow_up" and draft.channel == "private" and "case #" in draft.text
    desk.approve(first)
    assert desk.case_of("bill-1").state == "waiting_on_customer"

    desk.clock.advance(hours=24)
    [second] = followups.run(desk.service).follow_ups
    desk.approve(second)
    desk.clock.advance(hours=48)
    assert followups.run(desk.service).follow_ups == []  # followups.max_follow_ups is 2
    assert [d.status for d in follow_ups(desk)] == ["sent", "sent"]


def test_a_customer_who_writes_back_supersedes_the_pending_follow_up(desk):
    desk.mention(BILLING, id="bill-1")
    desk.poll()
    for draft in desk.drafts():
        desk.approve(draft.id)
    desk.clock.advance(hours=24)
    [nudge] = followups.run(desk.service).follow_ups
    desk.mention(
        "my name is Ana Ruiz, can you please check why I was charged twice?",
        id="dm-1",
        channel="private",
        thread="dm-thread",
    )
    desk.poll()
    assert desk.draft(nudge).status == "superseded"


def test_a_monitored_thread_that_turns_negative_is_put_in_front_of_a_person_at_the_recheck(desk):
    desk.mention("the acme ad is on during the game right now", id="p-1", addressed=False)
    desk.poll()
    desk.clock.advance(minutes=30)
    desk.mention(
        "honestly that acme ad was the worst thing on tv tonight, so cringe",
        id="p-2",
        thread="p-1",
        in_reply_to="p-1",
        addressed=False,
    )
    desk.poll()
    assert desk.case_of("p-2").state == "monitoring" and desk.drafts() == []

    desk.clock.advance(hours=5)
    assert followups.run(desk.service).escalated == []  # not yet: 6 hours after the last message
    desk.clock.advance(hours=1)
    result = followups.run(desk.service)

    case = desk.case_of("p-2")
    assert result.escalated == [case.id]
    assert case.state == "awaiting_approval"
    [reply] = desk.drafts()
    assert reply.kind == "reply" and reply.mention_id is not None
    with desk.session() as session:
        notes = [e.note for e in session.get(Case, case.id).events if e.actor == "recheck"]
    assert notes == ["re-checked: the tone turned negative (was neutral); the author wrote 2 messages"]


def test_a_calm_monitored_thread_is_rechecked_once_and_the_decision_recorded(desk):
    desk.mention("the acme ad is on during the game right now", id="p-1", addressed=False)
    desk.poll()
    desk.clock.advance(hours=7)
    assert followups.run(desk.service).rechecked == 1
    assert followups.run(desk.service).rechecked == 0
    case = desk.case_of("p-1")
    assert case.state == "monitoring" and case.monitor_checked_at == desk.clock.now()


def test_no_customer_message_is_left_without_an_answer_or_a_recorded_decision(desk):
    desk.mention(PROBLEM, id="t-1")
    desk.poll()
    with desk.session() as session:
        assert followups.unanswered(session) == []  # a draft waits for a person
    [ack] = desk.drafts()
    desk.reject(ack.id, "we will call her instead")

    with desk.session() as session:
        [open_message] = followups.unanswered(session)
    assert open_message["why"] == "its draft was rejected (we will call her instead) and nothing replaced it"
    status = collect(desk.service)
    assert status["counts"]["unanswered_messages"] == 1
    assert any("neither an answer nor a recorded decision" in line for line in status["alerts"])

    with desk.session() as session:
        with pytest.raises(UserError, match="needs a reason"):
            followups.decide_no_reply(session, open_message["case_id"], "maria", " ", desk.clock.now())
        followups.decide_no_reply(
            session, open_message["case_id"], "maria", "called her on the phone", desk.clock.now()
        )
    with desk.session() as session:
        assert followups.unanswered(session) == []
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "no_reply"))
        assert entry.detail == {"reason": "called her on the phone"}

    desk.clock.advance(minutes=5)
    desk.mention("@acme hello? still nothing works", id="t-2", thread="t-1", in_reply_to="t-1")
    desk.poll()
    with desk.session() as session:
        assert followups.unanswered(session) == []  # the new message got its own draft
