"""A community manager trains, evaluates and triages from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main

KETTLE = [
    "@acme the blue light on my kettle keeps blinking",
    "@acme my kettle's light is blinking blue again",
    "@acme kettle light blinking blue, what now",
    "@acme la luz azul del hervidor no para de parpadear",
    "@acme el hervidor parpadea en azul otra vez",
    "@acme blinking blue light on the kettle since this morning",
    "@acme why does the kettle blink blue",
    "@acme ¿por qué parpadea en azul el hervidor?",
]


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """A config.yaml with its own data folder and database."""
    path = tmp_path / "config.yaml"
    path.write_text(
        f"data_dir: {tmp_path / 'data'}\nstorage:\n  url: sqlite:///{tmp_path / 'data' / 'bot.storage.db'}\n",
        encoding="utf-8",
    )
    return path


def run(config_file: Path, *args: str):
    """Run `python -m bot --config FILE args...`."""
    return CliRunner().invoke(main, ["--config", str(config_file), *args], catch_exceptions=False)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def triage_levels(config_file: Path, tmp_path: Path, texts: list[str], *extra: str) -> list[dict]:
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": str(i), "text": t} for i, t in enumerate(texts)])
    result = run(config_file, "triage", "--input", str(source), "--output", str(tmp_path / "out.jsonl"), *extra)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]


def test_training_from_a_file_changes_a_prediction_that_triage_then_uses(config_file, tmp_path):
    before = triage_levels(config_file, tmp_path, KETTLE[:1])[0]
    assert before["level"] != "private"
    data = write_jsonl(tmp_path / "kettle.jsonl", [{"text": text, "label": "private"} for text in KETTLE])
    model_dir = tmp_path / "model"
    result = run(config_file, "train", "--head", "level", "--data", str(data), "--model-dir", str(model_dir))
    assert result.exit_code == 0, result.output
    assert (model_dir / "model.json").is_file() and (model_dir / "heads.npz").is_file()
    meta = json.loads((model_dir / "model.json").read_text())["meta"]
    assert meta["sources"]["file"] == len(KETTLE) and meta["sources"]["seed"] > 1000
    after = triage_levels(config_file, tmp_path, KETTLE[:1], "--model-dir", str(model_dir))[0]
    assert after["level"] == "private"
    assert set(after) == {
        "id",
        "language",
        "category",
        "sentiment",
        "needs_response",
        "mode",
        "level",
        "priority",
        "reasons",
        "labels",
    }
    assert any(reason.startswith("model: level private") for reason in after["reasons"])


def test_a_new_custom_head_is_trained_from_a_file_and_reported_in_labels(config_file, tmp_path):
    rows = [{"text": t, "label": "kettle"} for t in KETTLE] + [
        {"text": t, "label": "other"}
        for t in (
            "@acme my flight was cancelled",
            "@acme where is my parcel",
            "@acme love the new app",
            "@acme mi vuelo se canceló",
            "@acme ¿dónde está mi paquete?",
            "@acme me encanta la app nueva",
        )
    ]
    data = write_jsonl(tmp_path / "product.jsonl", rows)
    model_dir = tmp_path / "model"
    assert (
        run(
            config_file, "train", "--no-seeds", "--head", "product", "--data", str(data), "--model-dir", str(model_dir)
        ).exit_code
        != 0
    )  # the built-in heads need the seeds
    result = run(config_file, "train", "--head", "product", "--data", str(data), "--model-dir", str(model_dir))
    assert result.exit_code == 0, result.output
    [decision] = triage_levels(
        config_file, tmp_path, ["@acme the kettle light blinks blue"], "--model-dir", str(model_dir)
    )
    assert decision["labels"]["product"] == "kettle"


def test_a_malformed_training_file_is_refused_with_the_line_that_is_wrong(config_file, tmp_path):
    data = tmp_path / "bad.jsonl"
    data.write_text(
        '{"text": "@acme fine", "label": "praise"}\n\n{"text": "@acme oops", "label": }\n', encoding="utf-8"
    )
    result = CliRunner().invoke(
        main, ["--config", str(config_file), "train", "--head", "category", "--data", str(data)]
    )
    assert result.exit_code == 1
    assert f"{data}:3: not valid JSON" in result.output
    data.write_text('{"text": "@acme fine", "label": "delighted"}\n', encoding="utf-8")
    result = CliRunner().invoke(
        main, ["--config", str(config_file), "train", "--head", "category", "--data", str(data)]
    )
    assert result.exit_code == 1
    assert f"{data}:1: label 'delighted' is not one of head 'category'" in result.output
    data.write_text('{"label": "praise"}\n', encoding="utf-8")
    result = CliRunner().invoke(
        main, ["--config", str(config_file), "train", "--head", "category", "--data", str(data)]
    )
    assert f"{data}:1: 'text' must be a non-empty string" in result.output


def test_evaluate_prints_per_class_precision_recall_f1_and_macro_f1_as_json(config_file, tmp_path):
    data = write_jsonl(
        tmp_path / "sentiment.jsonl",
        [
            {"text": "@acme thank you, the new app is wonderful", "label": "positive"},
            {"text": "@acme gracias, la app nueva es maravillosa", "label": "positive"},
            {"text": "@acme this is the worst service I have ever had", "label": "negative"},
            {"text": "@acme el peor servicio que he tenido nunca", "label": "negative"},
            {"text": "@acme what time do you open on Sunday?", "label": "neutral"},
            {"text": "@acme ¿a qué hora abrís el domingo?", "label": "neutral"},
        ],
    )
    result = run(config_file, "evaluate", "--head", "sentiment", "--data", str(data))
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["head"] == "sentiment" and report["examples"] == 6
    assert set(report["classes"]) == {"negative", "neutral", "positive"}
    for scores in report["classes"].values():
        assert set(scores) == {"precision", "recall", "f1", "support"}
    assert report["classes"]["negative"]["support"] == 2
    assert report["macro_f1"] == pytest.approx(sum(c["f1"] for c in report["classes"].values()) / 3, abs=1e-3)
    assert report["macro_f1"] >= 0.6


def test_evaluate_names_an_unknown_head(config_file, tmp_path):
    data = write_jsonl(tmp_path / "x.jsonl", [{"text": "hi", "label": "a"}])
    result = CliRunner().invoke(main, ["--config", str(config_file), "evaluate", "--head", "mood", "--data", str(data)])
    assert result.exit_code == 1
    assert "no head 'mood'" in result.output


def test_evaluate_with_rules_measures_the_whole_triage(config_file, tmp_path):
    data = write_jsonl(
        tmp_path / "level.jsonl",
        [
            {"text": "@acme do you have a store in Valencia? my card was declined", "label": "private"},
            {"text": "@acme ¿tenéis tienda en Valencia? me rechazaron la tarjeta", "label": "private"},
        ],
    )
    alone = json.loads(run(config_file, "evaluate", "--head", "level", "--data", str(data)).output)
    whole = json.loads(
        run(config_file, "evaluate", "--head", "level", "--data", str(data), "--with-rules", "--addressed").output
    )
    assert whole["with_rules"] is True
    assert whole["classes"]["private"]["recall"] == 1.0
    assert whole["accuracy"] >= alone["accuracy"]
