"""The shipped seed corpus: big, balanced, varied, free of near-duplicates, and the shipped model is built from it."""

from __future__ import annotations

from collections import Counter

import pytest

from bot.triage.classifier.corpus import (
    LANGUAGES,
    MIN_PER_CLASS,
    MIN_PER_LANGUAGE,
    TRIAGE_HEADS,
    SeedError,
    class_counts,
    guide_violations,
    load_seeds,
    near_duplicate_key,
    near_duplicates,
    parse_seed,
)
from bot.triage.classifier.store import SHIPPED_MODEL_DIR, SHIPPED_USE_DIR, load_model, seeds_fingerprint

SEEDS = load_seeds()


def by_language(language: str):
    return [seed for seed in SEEDS if seed.language == language]


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_has_thousands_of_seeds_and_every_class_of_every_head_has_at_least_150(language):
    counts = class_counts(SEEDS)[language]
    assert len(by_language(language)) >= MIN_PER_LANGUAGE
    for head, labels in TRIAGE_HEADS.items():
        for label in labels:
            assert counts[head][label] >= MIN_PER_CLASS, (language, head, label, counts[head][label])


def test_no_two_seeds_are_the_same_text_once_handles_numbers_and_punctuation_are_removed():
    pairs = near_duplicates(SEEDS)
    assert not pairs, [f"{a.where} ~ {b.where}" for a, b in pairs[:10]]


def test_near_duplicate_key_ignores_case_handles_numbers_urls_and_punctuation():
    assert near_duplicate_key("@NovaTel my order #4471 never came!!! https://t.co/x") == near_duplicate_key(
        "@acme_help My order 9 never came."
    )
    assert near_duplicate_key("😡😡") != near_duplicate_key("👍")


def test_every_seed_follows_the_guides_rules_between_heads():
    broken = [(seed.where, problem) for seed in SEEDS for problem in guide_violations(seed)]
    assert not broken, broken[:10]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_seeds_vary_like_a_real_brands_stream(language):
    seeds = by_language(language)
    texts = [seed.text for seed in seeds]
    subjects = {seed.subject for seed in seeds}
    media = Counter(seed.medium for seed in seeds)
    assert len(subjects - {"assorted", "chatter", "stream", "everyday", "cotidiano"}) >= 12, subjects  # industries
    assert min(media[m] for m in ("post", "comment", "private_message", "chat")) >= 150, media
    assert min(map(len, texts)) <= 5 and max(map(len, texts)) >= 280
    assert sum(text.startswith("@") for text in texts) >= 500
    assert sum("#" in text for text in texts) >= 100
    assert sum("http" in text for text in texts) >= 50
    assert sum(any(ord(ch) > 0x2500 for ch in text) for text in texts) >= 300  # emoji
    assert (
        sum(text.isupper() or any(word.isupper() and len(word) > 4 for word in text.split()) for text in texts) >= 100
    )


def test_the_custom_heads_are_labelled_on_every_seed_with_both_labels():
    for head in ("outage", "churn_risk"):
        for language in LANGUAGES:
            counts = Counter(seed.labels.get(head) for seed in by_language(language))
            assert None not in counts and counts["yes"] >= 100 and counts["no"] >= 1000, (head, language, counts)


def test_a_malformed_seed_line_is_refused_with_its_place_and_reason():
    with pytest.raises(SeedError, match=r"en/x.jsonl:3: level 'urgent' is not one of"):
        parse_seed(
            '{"text": "hi", "category": "other", "sentiment": "neutral", "needs_response": false, '
            '"mode": "proactive", "level": "urgent"}',
            "en/x.jsonl:3",
            "en",
            "x",
        )
    with pytest.raises(SeedError, match="not valid JSON"):
        parse_seed("{oops", "en/x.jsonl:1", "en", "x")


@pytest.mark.parametrize("directory", [SHIPPED_MODEL_DIR, SHIPPED_USE_DIR], ids=["e5", "use"])
def test_the_shipped_model_was_built_from_the_current_seeds(directory):
    model = load_model(directory)
    assert model.meta["fingerprint"] == seeds_fingerprint(model.encoder), (
        "the seeds changed: rebuild the model with python -m bot.triage.classifier.build_default"
    )
    assert model.meta["trained_on"] == "bot/triage/classifier/seeds only"
    assert set(model.heads) == set(TRIAGE_HEADS) | {"outage", "churn_risk"}
