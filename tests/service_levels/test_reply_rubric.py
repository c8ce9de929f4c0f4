"""The evaluation form: approvers score sent replies against the rubric; scores per agent and per template."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from bot.errors import UserError
from bot.service_levels import reply_rubric as evaluation
from bot.storage.models import AuditEntry, ReplyScore

PROBLEM = "@acme my internet has been down since this morning and it's still not working"
ALL_FIVES = {"empathy": 5, "brevity": 5, "resolution": 5, "summary": 5, "voice": 5, "safety": 5}


def sent_replies(desk, *approvers):
    """One acknowledgement per approver, each approved (and so sent) by them."""
    ids = []
    for number, approver in enumerate(approvers):
        desk.mention(PROBLEM, author=f"@user{number}", id=f"m-{number}")
        desk.poll()
        [draft] = desk.drafts()
        ids.append(desk.approve(draft.id, actor=approver).id)
    return ids


def test_scores_are_weighted_and_summed_up_per_agent_and_per_template(desk):
    maria_1, maria_2, juan_1 = sent_replies(desk, "maria", "maria", "juan")
    with desk.session() as session:
        first = evaluation.score(session, desk.config, maria_1, "lead", ALL_FIVES, desk.clock.now(), "spot on")
        assert first.total == 100.0
        # resolution and safety weigh 2: (1+1+0+1+1+0)/8 of the way up the scale
        evaluation.score(
            session, desk.config, maria_2, "lead", {**ALL_FIVES, "resolution": 1, "safety": 1}, desk.clock.now()
        )
        evaluation.score(session, desk.config, juan_1, "lead", {**ALL_FIVES, "brevity": 3}, desk.clock.now())
    with desk.session() as session:
        agents = evaluation.by_agent(session, desk.config)
        templates = evaluation.by_template(session, desk.config)
        assert [r.total for r in session.scalars(select(ReplyScore).order_by(ReplyScore.id))] == [100.0, 50.0, 93.8]
    assert [(a["agent"], a["replies"], a["mean_total"]) for a in agents] == [("juan", 1, 93.8), ("maria", 2, 75.0)]
    assert agents[1]["criteria"]["resolution"] == 3.0
    assert [(t["template"], t["scores"]) for t in templates] == [("en/acknowledgement_complaint.j2", 3)]


def test_the_form_refuses_incomplete_unknown_or_out_of_range_scores_and_unsent_drafts(desk):
    [sent] = sent_replies(desk, "maria")
    desk.mention(PROBLEM, author="@other", id="pending")
    desk.poll()
    [pending] = desk.drafts()
    with desk.session() as session:
        with pytest.raises(UserError, match="missing: safety"):
            evaluation.score(session, desk.config, sent, "lead", {k: 4 for k in list(ALL_FIVES)[:-1]}, desk.clock.now())
        with pytest.raises(UserError, match="not in the rubric: tone"):
            evaluation.score(session, desk.config, sent, "lead", {**ALL_FIVES, "tone": 3}, desk.clock.now())
        with pytest.raises(UserError, match="empathy=9: scores go from 1 to 5"):
            evaluation.score(session, desk.config, sent, "lead", {**ALL_FIVES, "empathy": 9}, desk.clock.now())
        with pytest.raises(UserError, match="only sent replies are scored"):
            evaluation.score(session, desk.config, pending.id, "lead", ALL_FIVES, desk.clock.now())


def test_scoring_again_replaces_the_scorers_previous_scores_and_is_audited(desk):
    [sent] = sent_replies(desk, "maria")
    with desk.session() as session:
        assert [d.id for d in evaluation.unscored(session)] == [sent]
        evaluation.score(session, desk.config, sent, "lead", ALL_FIVES, desk.clock.now())
        evaluation.score(session, desk.config, sent, "lead", {**ALL_FIVES, "voice": 1}, desk.clock.now())
        assert evaluation.unscored(session) == []
    with desk.session() as session:
        [row] = session.scalars(select(ReplyScore))
        assert row.scores["voice"] == 1 and row.agent == "maria"
        assert len(list(session.scalars(select(AuditEntry).where(AuditEntry.action == "score")))) == 2


def test_the_rubric_comes_from_config(tmp_path, database_url):
    from tests.harness import Desk

    desk = Desk(
        tmp_path,
        database_url,
        evaluation={
            "scale_max": 3,
            "rubric": [
                {"name": "kind", "question": "Is it kind?", "weight": 1},
                {"name": "right", "question": "Is it right?", "weight": 3},
            ],
        },
    )
    try:
        [sent] = sent_replies(desk, "maria")
        assert [c["name"] for c in evaluation.rubric(desk.config)] == ["kind", "right"]
        with desk.session() as session:
            assert (
                evaluation.score(session, desk.config, sent, "lead", {"kind": 1, "right": 3}, desk.clock.now()).total
                == 75.0
            )
    finally:
        desk.service.engine.dispose()


def test_the_score_command_records_scores_and_prints_the_summaries(desk, tmp_path):
    [sent] = sent_replies(desk, "maria")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(desk.config.model_dump(mode="json")), encoding="utf-8")
    runner = CliRunner()
    args = ["--config", str(config), "score"]
    recorded = runner.invoke(main, [*args, str(sent), *[f"{k}={v}" for k, v in ALL_FIVES.items()], "--as", "lead"])
    assert recorded.exit_code == 0, recorded.output
    assert f"draft {sent} scored 100.0 / 100 by lead" in recorded.output
    wrong = runner.invoke(main, [*args, str(sent), "empathy=five"])
    assert wrong.exit_code == 1 and "the score must be a whole number" in wrong.output
    summary = runner.invoke(main, [*args, "--json"])
    assert summary.exit_code == 0, summary.output
    data = json.loads(summary.output)
    assert data["by_agent"][0]["agent"] == "maria" and data["unscored"] == 0
    tables = runner.invoke(main, args)
    assert "Scores per agent" in tables.output and "maria" in tables.output
