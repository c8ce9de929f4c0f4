"""Every approve, edit, reject and correction teaches the classifier, and `train` learns from what was recorded."""

from __future__ import annotations

import json

from click.testing import CliRunner

from bot.cli import main
from bot.console.actions import correct_triage
from bot.storage.models import LabelledExample


def examples(desk, source: str) -> dict[str, str]:
    with desk.session() as session:
        return {e.head: e.label for e in session.query(LabelledExample).filter_by(source=source)}


def test_an_approval_confirms_every_head_of_the_triage(desk):
    desk.mention("@acme the app keeps crashing since yesterday's update", id="a-1")
    desk.poll()
    [draft] = desk.drafts()
    desk.approve(draft.id)
    with desk.session() as session:
        triage = session.get(type(draft), draft.id).mention.triage
        expected = {
            "category": triage.category,
            "sentiment": triage.sentiment,
            "level": triage.level,
            "mode": triage.mode,
            "needs_response": "true",
            **triage.labels,
        }
    assert examples(desk, "approve") == expected


def test_a_rejection_teaches_that_the_mention_needed_no_answer(desk):
    desk.mention("@acme do you have a store in Valencia?", id="r-1")
    desk.poll()
    [draft] = desk.drafts()
    desk.reject(draft.id, "a troll account, nothing to answer")
    assert examples(desk, "reject") == {"needs_response": "false", "level": "monitor"}


def test_a_correction_records_the_label_and_what_it_implies(desk):
    desk.mention("@acme the app shows someone else's address on my account", id="c-1")
    desk.poll()
    with desk.session() as session:
        mention_id = session.query(LabelledExample.mention_id).first()  # nothing recorded yet
        assert mention_id is None
        from bot.storage.models import Mention

        mention = session.query(Mention).filter_by(platform_id="c-1").one()
        current = mention.triage.level
        target = "investigate" if current == "private" else "private"
        correct_triage(session, mention.id, "level", target, "maria", desk.clock.now())
        session.commit()
    assert examples(desk, "correction") == {"level": target, "needs_response": "true"}


def test_corrections_made_in_the_console_change_what_the_next_train_decides(desk, tmp_path):
    texts = {
        "k-1": "@acme the blue light on my kettle keeps blinking",
        "k-2": "@acme kettle light blinking blue again, what does it mean",
        "k-3": "@acme la luz azul del hervidor no para de parpadear",
    }
    for platform_id, text in texts.items():
        desk.mention(text, id=platform_id)
    desk.poll()
    from bot.storage.models import Mention

    with desk.session() as session:
        for platform_id in texts:
            mention = session.query(Mention).filter_by(platform_id=platform_id).one()
            assert mention.triage.level != "private"
            correct_triage(session, mention.id, "level", "private", "maria", desk.clock.now())
        session.commit()
    config = tmp_path / "train.yaml"
    config.write_text(
        json.dumps({"data_dir": str(tmp_path / "data"), "storage": {"url": desk.config.storage.url}}), encoding="utf-8"
    )
    model_dir = tmp_path / "learned"
    result = CliRunner().invoke(
        main, ["--config", str(config), "train", "--model-dir", str(model_dir)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "6 recorded example(s) from the database" in result.output  # each level correction implies needs_response
    from bot.config import parse_config
    from bot.triage.build import build_triager
    from bot.triage.decision import TriageInput

    learned = build_triager(parse_config({"data_dir": str(tmp_path / "data")}), str(model_dir))
    decided = learned.triage([TriageInput(id=key, text=text) for key, text in texts.items()])
    assert [t.level for t in decided] == ["private"] * 3
