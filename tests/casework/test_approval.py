"""Approval: nothing is posted that a person has not approved, unless the config says that kind may go alone."""

from __future__ import annotations

import pytest

from bot.casework.approval import ChecksFailed
from bot.storage.models import AuditEntry, LabelledExample


def test_nothing_is_posted_before_a_person_approves(desk):
    desk.mention("@acme how do I reset my router?", id="q-1")
    desk.poll()
    desk.poll()
    assert desk.posted() == []
    assert [d.kind for d in desk.drafts()] == ["reply"]


def test_a_config_rule_auto_approves_confident_self_service_replies(tmp_path, database_url):
    from tests.harness import Desk

    desk = Desk(
        tmp_path,
        database_url,
        approval={"auto_approve": [{"kind": "reply", "min_confidence": 0.5, "levels": ["self_service"]}]},
    )
    desk.mention("@acme how can I change my plan? please help", id="q-2")
    desk.poll()

    [sent] = desk.posted()
    assert desk.draft(sent.draft_id).auto_approved
    assert desk.draft(sent.draft_id).decided_by == "auto-approval"


def test_an_edit_is_audited_with_the_original_and_teaches_the_classifier(desk):
    desk.mention("@acme the app crashes on start, still waiting for a fix", id="e-1")
    desk.poll()
    [draft] = desk.drafts()
    desk.approve(draft.id, text="@ana So sorry! We're checking with the courier and will update you within 45 minutes.")

    with desk.session() as session:
        entry = session.query(AuditEntry).filter_by(action="edit_and_approve").one()
        examples = session.query(LabelledExample).filter_by(source="edit").all()
    assert entry.actor == "maria" and entry.detail["original_text"] == draft.text
    assert {e.head for e in examples} >= {"category", "level"}


def test_a_public_reply_with_a_card_number_needs_an_override_reason(desk):
    desk.mention("@acme the app crashes on start, still waiting for a fix", id="p-1")
    desk.poll()
    [draft] = desk.drafts()
    leaky = "@ana Sorry! We refunded card 4111 1111 1111 1111, update within 30 minutes."

    with pytest.raises(ChecksFailed, match="payment card"):
        desk.approve(draft.id, text=leaky)
    assert desk.posted() == []

    desk.approve(draft.id, text=leaky, override="customer's own test card, agreed with legal")
    with desk.session() as session:
        override = session.query(AuditEntry).filter_by(action="override_checks").one()
    assert override.detail["reason"] == "customer's own test card, agreed with legal"


def test_a_rejected_draft_is_never_sent(desk):
    desk.mention("@acme how do I reset my router?", id="r-1")
    desk.poll()
    [draft] = desk.drafts()
    desk.reject(draft.id, "already answered on the phone")
    desk.poll()
    assert desk.posted() == []
    assert desk.draft(draft.id).reject_reason == "already answered on the phone"
