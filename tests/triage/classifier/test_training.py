"""Training reads what says how an author feels, not the language or the genre the seeds happen to differ by."""

from __future__ import annotations

import hashlib

import numpy as np

from bot.triage.classifier.examples import Example
from bot.triage.classifier.heads import principal_direction, train_head
from bot.triage.classifier.training import GENRE_BLIND_HEADS, MIN_SEEDS_FOR_GENRE, train_model


class WordEncoder:
    """A deterministic encoder for these tests: a text's vector is the mean of one fixed random vector per word."""

    name = "test-words"
    dim = 16

    def encode(self, texts: list[str]) -> np.ndarray:
        """One vector per text."""
        rows = []
        for text in texts:
            words = [
                np.random.default_rng(int(hashlib.sha256(w.encode()).hexdigest()[:8], 16)).normal(size=self.dim)
                for w in text.split()
            ]
            rows.append(np.mean(words, axis=0))
        return np.asarray(rows, dtype=np.float32)


def _seeds(count: int, source: str = "seed") -> list[Example]:
    """Sentiment and level examples; a genre word ("hello" chatter or "invoice" asks) varies more than anything."""
    rng = np.random.default_rng(7)
    examples = []
    for i in range(count):
        feeling = ("negative", "neutral", "positive")[i % 3]
        genre = "invoice invoice invoice" if i % 2 else "hello hello hello"
        word = {"negative": "awful", "neutral": "okay", "positive": "lovely"}[feeling]
        text = f"{genre} {word} w{rng.integers(0, 400)} n{i}"
        examples.append(Example("sentiment", text, feeling, source=source))
        examples.append(Example("level", text, "private" if i % 2 else "monitor", source=source))
    return examples


def test_a_head_blind_to_a_direction_scores_a_mention_the_same_wherever_it_lies_along_it():
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(300, 8)).astype(np.float32)
    labels = ["yes" if v[0] + v[1] > 0 else "no" for v in vectors]
    direction = np.eye(8)[0]
    head = train_head("h", vectors, labels, blind_to=direction)
    assert abs(direction @ head.weights).max() < 1e-6
    moved = vectors + 5.0 * direction.astype(np.float32)
    np.testing.assert_allclose(head.logits(moved), head.logits(vectors), atol=1e-4)
    sighted = train_head("h", vectors, labels)
    assert abs(direction @ sighted.weights).max() > 0.1  # without it, the head reads that direction


def test_the_principal_direction_is_where_vectors_vary_most():
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(500, 4)) * np.array([0.1, 3.0, 0.2, 0.1])
    direction = principal_direction(vectors)
    assert np.isclose(np.linalg.norm(direction), 1.0)
    assert abs(direction[1]) > 0.99


def test_sentiment_is_fitted_blind_to_the_seeds_first_direction_and_the_level_is_not():
    encoder = WordEncoder()
    seeds = _seeds(MIN_SEEDS_FOR_GENRE + 200)
    model = train_model(encoder, seeds)
    texts = list(dict.fromkeys(e.text for e in seeds))
    genre = principal_direction(encoder.encode(texts))
    assert "sentiment" in GENRE_BLIND_HEADS
    assert abs(genre @ model.heads["sentiment"].weights).max() < 1e-5
    assert abs(genre @ model.heads["level"].weights).max() > 0.01  # the level may depend on the genre
    assert model.meta["blind_to_seeds_first_direction"] == ["sentiment"]
    # still a working sentiment head: the feeling words decide
    vectors = encoder.encode(["hello hello hello awful w1 x", "invoice invoice invoice lovely w2 y"])
    assert [model.heads["sentiment"].labels[i] for i in model.heads["sentiment"].logits(vectors).argmax(1)] == [
        "negative",
        "positive",
    ]


def test_a_brands_own_examples_without_the_seeds_are_fitted_with_every_direction():
    encoder = WordEncoder()
    model = train_model(encoder, _seeds(MIN_SEEDS_FOR_GENRE + 200, source="file"))
    assert model.meta["blind_to_seeds_first_direction"] == []
    texts = list(dict.fromkeys(e.text for e in _seeds(MIN_SEEDS_FOR_GENRE + 200, source="file")))
    genre = principal_direction(encoder.encode(texts))
    assert abs(genre @ model.heads["sentiment"].weights).max() > 1e-3
