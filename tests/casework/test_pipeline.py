"""The pipeline after storage takes a batch of mentions together, with the same outcome as one at a time."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from bot.casework import pipeline
from bot.storage.models import Draft, Mention, TriageResult
from tests.harness import Desk

QUESTION = "@acme how do I download the invoice for my last order?"
PROBLEM = "@acme my internet has been down since this morning and it's still not working"
AUTO_REPLIES = {"auto_approve": [{"kind": "reply", "levels": ["self_service"], "min_confidence": 0.0}]}


@pytest.fixture
def auto_desk(tmp_path, database_url):
    desk = Desk(tmp_path, database_url, approval=AUTO_REPLIES, triage={"low_confidence": 0.0})
    yield desk
    desk.service.engine.dispose()


def test_a_busy_poll_is_written_with_a_few_statements_per_batch_not_a_few_dozen_per_mention(desk):
    for number in range(40):
        desk.mention(PROBLEM if number % 2 else QUESTION, author=f"@c{number}", id=f"busy-{number}")
    statements = []
    event.listen(desk.service.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    desk.poll()

    with desk.session() as session:
        assert session.scalar(select(func.count(Mention.id)).where(Mention.status == "processed")) == 40
        assert session.scalar(select(func.count(TriageResult.id))) == 40
        assert session.scalar(select(func.count(func.distinct(Draft.mention_id)))) == 40  # each one answered
    # PostgreSQL gets rows in bulk; SQLite (in-process, no round trips) inserts rows that return ids one by one.
    per_mention = 3 if desk.service.engine.dialect.name == "postgresql" else 10
    assert len(statements) < per_mention * 40, f"{len(statements)} statements for 40 mentions"


def test_a_reply_approved_automatically_is_kept_when_the_customer_writes_again_in_the_same_batch(auto_desk):
    auto_desk.mention("@acme how do I change my profile picture in the app?", author="@ana", id="q-1", thread="t-1")
    auto_desk.mention("@acme and how do I turn on dark mode?", author="@ana", id="q-2", thread="t-1", in_reply_to="q-1")
    auto_desk.poll()

    with auto_desk.session() as session:
        drafts = {d.mention.platform_id: d.status for d in session.scalars(select(Draft))}
    # One at a time, the first answer went out before the second message arrived; together, it still does.
    assert drafts["q-1"] == "sent"
    assert "superseded" not in drafts.values()
    assert auto_desk.case_of("q-1").id == auto_desk.case_of("q-2").id


def test_a_mention_that_breaks_drafting_fails_alone_and_the_rest_of_its_batch_goes_through(desk, monkeypatch, caplog):
    real = pipeline.draft_for_mention

    def fragile(session, config, renderer, case, mention, now, team=None):
        if mention.platform_id == "bad-1":
            raise RuntimeError("template exploded")
        return real(session, config, renderer, case, mention, now, team)

    monkeypatch.setattr(pipeline, "draft_for_mention", fragile)
    desk.mention(PROBLEM, author="@ana", id="ok-1")
    desk.mention(PROBLEM, author="@bob", id="bad-1")
    desk.mention(QUESTION, author="@carla", id="ok-2")
    desk.poll()

    with desk.session() as session:
        statuses = dict(session.execute(select(Mention.platform_id, Mention.status)).all())
        error = session.scalar(select(Mention.error).where(Mention.platform_id == "bad-1"))
        triaged = session.scalar(select(func.count(TriageResult.id)))
    assert statuses == {"ok-1": "processed", "bad-1": "failed", "ok-2": "processed"}
    assert "template exploded" in error
    assert triaged == 2  # the failed batch left nothing behind; each good mention was triaged once
    assert "processing them one by one" in caplog.text
