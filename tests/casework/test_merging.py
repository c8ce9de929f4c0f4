"""Merging two cases of one customer, and splitting a message out into its own case."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.casework import merging
from bot.console import queries
from bot.errors import UserError
from bot.service_levels import kpis
from bot.service_levels import sla as sla_clocks
from bot.storage import users
from bot.storage.models import AuditEntry, Case, CaseEvent, CaseNote, CaseTag, Draft, Mention, SlaAlert

DM = "my order never arrived, can you check what happened?"
COMMENT = "@acme my internet has been down since this morning and it's still not working"


def comment_and_dm(desk) -> tuple[Case, Case]:
    """Ana writes a DM at 9:00 and, ten minutes later, a public comment: two cases of one customer."""
    desk.mention(DM, author="@ana", id="dm-1", thread="dm-ana", channel="private")
    desk.poll()
    desk.clock.advance(minutes=10)
    desk.mention(COMMENT, author="@ana", id="c-1", thread="t-1")
    desk.poll()
    dm, comment = desk.case_of("dm-1"), desk.case_of("c-1")
    assert dm.id != comment.id and dm.customer_id == comment.customer_id
    return dm, comment


def merge(desk, into_id: int, other_id: int, actor: str = "alex") -> None:
    with desk.session() as session:
        merging.merge_cases(session, desk.config, into_id, other_id, actor, desk.clock.now())


def test_merging_a_comment_and_a_dm_keeps_every_message_the_earliest_clock_and_one_owner(desk):
    dm, comment = comment_and_dm(desk)
    with desk.session() as session:
        alex = users.create_user(session, "alex", "a long password", "agent", desk.clock.now(), "test")
        session.flush()
        session.get(Case, dm.id).owner_id = alex.id
        session.get(Case, comment.id).owner_id = None
        session.add(
            CaseNote(case_id=dm.id, author="alex", text="she wrote in private first", created_at=desk.clock.now())
        )
        session.add(CaseTag(case_id=dm.id, tag="delivery", added_by="alex", added_at=desk.clock.now()))
        version = session.get(Case, comment.id).version or 0

    merge(desk, comment.id, dm.id)

    with desk.session() as session:
        merged, absorbed = session.get(Case, comment.id), session.get(Case, dm.id)
        assert sorted(m.platform_id for m in merged.mentions) == ["c-1", "dm-1"]
        assert absorbed.mentions == [] and absorbed.drafts == []
        assert merged.first_response_due_at == dm.first_response_due_at  # 9:30, the DM's, earlier than 9:40
        assert merged.first_response_due_at < comment.first_response_due_at
        assert merged.resolution_due_at == min(dm.resolution_due_at, comment.resolution_due_at)
        assert merged.opened_at == dm.opened_at
        assert merged.owner_id == alex.id
        assert merged.version == version + 1
        assert absorbed.state == "merged" and absorbed.merged_into_id == merged.id
        assert absorbed.first_response_due_at is None and absorbed.resolution_due_at is None  # one clock runs
        # Both pending answers stay: one in the public thread, one in the DM, never two in the same channel.
        pending = [d for d in merged.drafts if d.status == "pending"]
        assert sorted(d.channel for d in pending) == ["private", "public"]
        assert merged.state == "awaiting_approval"
        assert [n.text for n in session.scalars(select(CaseNote).where(CaseNote.case_id == merged.id))] == [
            "she wrote in private first"
        ]
        assert session.scalar(select(CaseTag.tag).where(CaseTag.case_id == merged.id)) == "delivery"
        notes = [e.note for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == merged.id))]
        assert f"case {dm.id} merged into this one (1 messages)" in notes
        assert any("opened by mention dm-1" in (n or "") for n in notes)  # the absorbed history came along
        assert [e.note for e in absorbed.events] == [f"merged into case {merged.id}"]


def test_the_kpis_and_the_customer_view_count_a_merged_case_once(desk):
    dm, comment = comment_and_dm(desk)
    period = kpis.Period.last_days(desk.clock.now(), 1)
    with desk.session() as session:
        assert kpis.summary(session, period, desk.clock.now()).cases == 2

    merge(desk, comment.id, dm.id)

    now = desk.clock.now() + timedelta(hours=1)  # both clocks past due: each case that counts is counted
    with desk.session() as session:
        summary = kpis.summary(session, period, now)
        assert summary.cases == 1
        assert summary.sla_first_response_counted == 1
        view = queries.customer_view(session, comment.customer_id)
        assert [c.id for c in view.cases] == [comment.id] and view.counts == {"messages": 2, "cases": 1}
        assert [c.id for c in queries.cases(session, state="").rows] == [comment.id]
        assert [c.id for c in queries.cases(session, state="open").rows] == [comment.id]
        assert [c.id for c in queries.merged_into(session, session.get(Case, comment.id))] == [dm.id]


def test_a_new_message_in_the_absorbed_thread_joins_the_surviving_case(desk):
    dm, comment = comment_and_dm(desk)
    merge(desk, comment.id, dm.id)
    desk.clock.advance(minutes=5)
    desk.mention(
        "any news? it's for my daughter's birthday", author="@ana", id="dm-2", thread="dm-ana", channel="private"
    )
    desk.mention("@acme still down", author="@ana", id="c-2", thread="t-1", in_reply_to="c-1")
    desk.poll()

    assert desk.case_of("dm-2").id == comment.id
    assert desk.case_of("c-2").id == comment.id
    with desk.session() as session:
        assert session.get(Case, dm.id).state == "merged"  # the absorbed case is not reopened


def test_replies_of_a_merged_case_still_go_to_their_own_thread(desk):
    dm, comment = comment_and_dm(desk)
    merge(desk, dm.id, comment.id)  # the DM's case survives: its thread key is the private one
    for draft in desk.drafts():
        desk.approve(draft.id)

    posted = {m.action: m for m in desk.sandbox().posted}
    assert set(posted) == {"reply_public", "send_private"}
    assert posted["reply_public"].thread_key == "t-1" and posted["reply_public"].in_reply_to_id == "c-1"
    assert posted["send_private"].thread_key == "dm-ana" and posted["send_private"].recipient_id == "user-ana"
    assert all(m.extra["case_id"] == dm.id for m in posted.values())


def test_two_pending_public_answers_keep_the_newest_and_the_other_gives_way_with_a_reason(desk):
    desk.mention(COMMENT, author="@ana", id="c-1", thread="t-1")
    desk.poll()
    desk.clock.advance(minutes=3)
    desk.mention("@acme the internet is still down and nobody answers", author="@ana", id="c-2", thread="t-2")
    desk.poll()
    first, second = desk.case_of("c-1"), desk.case_of("c-2")
    [older] = [d for d in desk.drafts() if d.case_id == first.id]
    [newer] = [d for d in desk.drafts() if d.case_id == second.id]

    merge(desk, first.id, second.id)

    assert [d.id for d in desk.drafts()] == [newer.id]
    gone = desk.draft(older.id)
    assert gone.status == "superseded" and gone.decided_by == "alex"
    assert f"superseded by draft {newer.id} when cases merged" in gone.reject_reason


def test_cases_of_different_customers_do_not_merge_until_their_identities_are_linked(desk):
    desk.mention(COMMENT, author="@ana", id="c-1")
    desk.mention(COMMENT, author="@bob", id="c-2")
    desk.poll()
    ana, bob = desk.case_of("c-1"), desk.case_of("c-2")

    with pytest.raises(UserError, match="link the identities first"):
        merge(desk, ana.id, bob.id)
    with desk.session() as session:
        assert session.get(Case, bob.id).merged_into_id is None
        assert session.scalar(select(AuditEntry).where(AuditEntry.action == "merge")) is None


def test_a_merged_case_cannot_be_merged_again(desk):
    dm, comment = comment_and_dm(desk)
    merge(desk, comment.id, dm.id)

    with pytest.raises(UserError, match=f"case {dm.id} is already merged into case {comment.id}"):
        merge(desk, dm.id, comment.id)
    with pytest.raises(UserError, match="already merged"):
        merge(desk, comment.id, dm.id)
    with pytest.raises(UserError, match="into itself"):
        merge(desk, comment.id, comment.id)


def test_a_breach_already_raised_is_kept_with_the_merged_case(desk):
    dm, comment = comment_and_dm(desk)
    desk.clock.advance(minutes=25)  # 9:35: the DM's first answer (due 9:30) is late, the comment's (9:40) not yet
    with desk.session() as session:
        sla_clocks.check(session, desk.config, desk.clock.now())
        assert session.scalar(select(SlaAlert.id).where(SlaAlert.case_id == dm.id, SlaAlert.kind == "breach")), (
            "the DM's breach is raised"
        )

    merge(desk, comment.id, dm.id)

    with desk.session() as session:
        kinds = {(a.clock, a.kind) for a in session.scalars(select(SlaAlert).where(SlaAlert.case_id == comment.id))}
        assert ("first_response", "breach") in kinds
        assert sla_clocks.check(session, desk.config, desk.clock.now()) == []  # the same breach is not raised twice


def test_a_message_split_out_gets_its_own_case_its_drafts_and_its_own_clock(desk):
    desk.mention(COMMENT, author="@ana", id="c-1", thread="t-1")
    desk.poll()
    desk.clock.advance(minutes=20)
    desk.mention(DM, author="@ana", id="dm-1", thread="dm-ana", channel="private")  # joins her open case
    desk.poll()
    source = desk.case_of("c-1")
    assert desk.case_of("dm-1").id == source.id
    with desk.session() as session:
        mention = session.scalar(select(Mention).where(Mention.platform_id == "dm-1"))
        drafts = [d.id for d in session.scalars(select(Draft).where(Draft.mention_id == mention.id))]
        new = merging.split_message(session, desk.config, mention.id, "alex", desk.clock.now())
        new_id = new.id

    split = desk.case_of("dm-1")
    assert split.id == new_id != source.id
    assert split.customer_id == source.customer_id and split.thread_key == "dm-ana"
    assert split.opened_at == desk.clock.now() and split.first_response_due_at == desk.clock.now() + timedelta(
        minutes=30
    )
    assert split.state == "awaiting_approval"
    with desk.session() as session:
        assert [d.case_id for d in session.scalars(select(Draft).where(Draft.id.in_(drafts)))] == [new_id] * len(drafts)
        assert [m.platform_id for m in session.get(Case, source.id).mentions] == ["c-1"]
        assert session.get(Case, source.id).first_response_due_at == source.first_response_due_at
        actions = {(a.action, a.object_id) for a in session.scalars(select(AuditEntry))}
        assert {("split", source.id), ("split_from", new_id)} <= actions
    desk.clock.advance(minutes=1)
    desk.mention("hello? still nothing", author="@ana", id="dm-2", thread="dm-ana", channel="private")
    desk.poll()
    assert desk.case_of("dm-2").id == new_id  # the DM thread now lives in its own case


def test_the_only_message_of_a_case_cannot_be_split(desk):
    desk.mention(COMMENT, author="@ana", id="c-1")
    desk.poll()
    with desk.session() as session:
        mention = session.scalar(select(Mention).where(Mention.platform_id == "c-1"))
        with pytest.raises(UserError, match="only message"):
            merging.split_message(session, desk.config, mention.id, "alex", desk.clock.now())
        with pytest.raises(UserError, match="there is no mention 999"):
            merging.split_message(session, desk.config, 999, "alex", desk.clock.now())


def test_merging_is_audited_on_both_cases(desk):
    dm, comment = comment_and_dm(desk)
    merge(desk, comment.id, dm.id, actor="maria")
    with desk.session() as session:
        entries = {
            (a.actor, a.action, a.object_id): a.detail
            for a in session.scalars(select(AuditEntry).where(AuditEntry.object_type == "case"))
        }
    assert entries[("maria", "merge", comment.id)]["other_case_id"] == dm.id
    assert entries[("maria", "merged_into", dm.id)] == {"into_case_id": comment.id}
