"""Every approve, edit, reject and correction teaches the classifier, and `train` learns from what was recorded."""
from __future__ import annotations

import json

from click.testing import CliRunner

from bot.cli import main
from bot.console.actions import correct_triage
from bot.models import LabelledExample


def examples(desk, source: str) -> dict[str, str]:
    with desk.session() as session:
        return {e.head: e.label for e in session.query(LabelledExample).filter_by(source=source)}


def test_an_approval_confirms_every_head_of_the_triage(desk):
    desk.mention("@acme my order never arrived, still waiting after two weeks", id="a-1")
    desk.poll()
    [draft] = desk.drafts()
    desk.approve(draft.id)
    with desk.session() as session:
        triage = session.get(type(draft), draft.id).mention.triage
        expected = {"category": triage.category, "sentiment": triage.sentiment, "level": triage.level,
                    "mode": triage.mode, "needs_response": "true", **triage.labels}
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
        from bot.models import Mention
        mention = session.query(Mention).filter_by(platform_id="c-1").one()
        current = mention.triage.level
        target = "investigate" if current == "private" else "private"
        correct_triage(session, mention.id, "level", target, "maria", desk.clock.now())
        session.commit()
    assert examples(desk, "correction") == {"level": target, "needs_response": "true"}


def test_train_learns_from_the_recorded_examples(desk, tmp_path):
    text = "@acme the blue light on my kettle keeps blinking"
    desk.mention(text, id="k-1")
    desk.poll()
    with desk.session() as session:
        from bot.models import Mention
        mention = session.query(Mention).filter_by(platform_id="k-1").one()
        assert mention.triage.level != "private"
        for index, variant in enumerate([text, "@acme kettle light blinking blue again", "@acme la luz del hervidor parpadea",
                                         "@acme blinking blue kettle light", "@acme el hervidor parpadea en azul"]):
            session.add(LabelledExample(head="level", label="private", text=variant, source="correction",
                                        mention_id=mention.id, actor="maria", created_at=desk.clock.now()))
        session.commit()
    config = tmp_path / "train.yaml"
    config.write_text(json.dumps({"data_dir": str(tmp_path / "data"), "storage": {"url": desk.config.storage.url}}),
                      encoding="utf-8")
    model_dir = tmp_path / "learned"
    result = CliRunner().invoke(main, ["--config", str(config), "train", "--model-dir", str(model_dir)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "5 recorded example(s) from the database" in result.output
    from bot.config import parse_config
    from bot.triage import TriageInput, build_triager
    learned = build_triager(parse_config({"data_dir": str(tmp_path / "data")}), str(model_dir))
    assert learned.triage([TriageInput(id="1", text=text)])[0].level == "private"
