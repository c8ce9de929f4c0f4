"""The shipped seeds cover every class of every head in both languages, and the shipped model is built from them."""
from __future__ import annotations

import json
from collections import Counter

from bot.classifier.encoders import USE_NAME
from bot.classifier.examples import BUILTIN_HEADS, SEEDS_DIR
from bot.classifier.store import SHIPPED_MODEL_DIR, load_model, seeds_fingerprint


def rows(name: str) -> list[dict]:
    with (SEEDS_DIR / name).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def test_each_language_has_several_hundred_seeds_covering_every_class_of_every_head():
    for language in ("en", "es"):
        seeds = rows(f"triage-{language}.jsonl")
        assert len(seeds) >= 300
        assert {row["language"] for row in seeds} == {language}
        for head, labels in BUILTIN_HEADS.items():
            counts = Counter(row[head] for row in seeds)
            assert set(counts) == set(labels), (language, head)
            assert min(counts.values()) >= 20, (language, head, counts)


def test_the_seeds_vary_in_form():
    seeds = rows("triage-en.jsonl") + rows("triage-es.jsonl")
    texts = [row["text"] for row in seeds]
    assert len(set(texts)) == len(texts)
    assert sum(t.startswith("@") for t in texts) > 300 and sum("@" not in t for t in texts) > 100
    assert sum("http" in t for t in texts) >= 8
    assert sum(any(ord(c) > 0x2500 for c in t) for t in texts) >= 60  # emoji
    assert max(map(len, texts)) > 200 and min(map(len, texts)) < 15


def test_custom_head_seeds_cover_both_labels_in_both_languages():
    for name in ("outage", "churn_risk"):
        counts = Counter((row["language"], row["label"]) for row in rows(f"{name}.jsonl"))
        assert set(counts) == {("en", "yes"), ("en", "no"), ("es", "yes"), ("es", "no")}


def test_the_shipped_model_was_built_from_the_current_seeds():
    model = load_model(SHIPPED_MODEL_DIR)
    assert model.meta["fingerprint"] == seeds_fingerprint(USE_NAME), \
        "the seeds changed: rebuild the model with python -m bot.classifier.build_default"
    assert model.meta["trained_on"] == "bot/classifier/seeds only"
    assert set(model.heads) == set(BUILTIN_HEADS) | {"outage", "churn_risk"}
