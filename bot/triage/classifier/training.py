"""Training heads from labelled examples: encode each distinct text once, then fit every head on its rows."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import numpy as np

from bot.triage.classifier.encoders import Encoder
from bot.triage.classifier.examples import BUILTIN_HEADS, Example, merge, without_leading_handles
from bot.triage.classifier.heads import principal_direction, train_head
from bot.triage.classifier.memory import Memory, threshold_for
from bot.triage.classifier.model import Model

ENCODE_BATCH = 256
# The examples of a brand's own stream (files, approvals, corrections) together count as much as the seeds,
# each at most this many times its own weight: they describe what the model will see, the seeds the guide.
MAX_UPWEIGHT = 10.0
# Heads fitted blind to the seeds' first principal direction. Across the seeds that direction is the language and
# the genre (a customer asking a brand something against chatter and praise), which say nothing of how the author
# feels; real mentions lie elsewhere along it than the seeds (Spanish tweets read as praise). Measured in
# docs/classifier.md: Spanish sentiment +2 to +4 points, English within 0.4. Without the seeds (a brand's own
# examples alone) nothing is removed: their first direction could be the very one the head needs.
GENRE_BLIND_HEADS = frozenset({"sentiment"})
MIN_SEEDS_FOR_GENRE = 1000
# progress(stage, done, total): stage is "encode" or "head:<name>".
Progress = Callable[[str, int, int], None]


class TrainingError(Exception):
    """The examples cannot train a head (e.g. a head with a single label)."""


def encode_texts(
    encoder: Encoder, texts: list[str], progress: Progress | None = None, known: dict[str, np.ndarray] | None = None
) -> np.ndarray:
    """Vectors of texts in batches, reporting progress; texts whose vectors are known are not encoded again."""
    vectors = np.empty((len(texts), encoder.dim), dtype=np.float32)
    known = known or {}
    todo = [i for i, text in enumerate(texts) if text not in known]
    for i, text in enumerate(texts):
        if text in known:
            vectors[i] = known[text]
    for start in range(0, len(todo), ENCODE_BATCH):
        rows = todo[start : start + ENCODE_BATCH]
        vectors[rows] = encoder.encode([texts[i] for i in rows])
        if progress:
            progress("encode", min(start + ENCODE_BATCH, len(todo)), len(todo))
    if progress and not todo:
        progress("encode", 0, 0)
    return vectors


def balanced_source_weights(rows: list[Example]) -> np.ndarray:
    """Each example's weight, the non-seed ones raised so that together they weigh as much as the seeds (capped)."""
    weights = np.array([e.weight for e in rows], dtype=np.float64)
    own = np.array([e.source != "seed" for e in rows])
    if own.any() and (~own).any():
        factor = min(MAX_UPWEIGHT, max(1.0, weights[~own].sum() / weights[own].sum()))
        weights[own] *= factor
    return weights


def train_model(
    encoder: Encoder,
    examples: Iterable[Example],
    label_sets: dict[str, list[str]] | None = None,
    progress: Progress | None = None,
    known: dict[str, np.ndarray] | None = None,
) -> Model:
    """A model with one calibrated head per head named in the examples (known: vectors computed before)."""
    started = time.perf_counter()
    by_head = merge(examples)
    texts = list(dict.fromkeys(example.text for rows in by_head.values() for example in rows))
    row_of = {text: i for i, text in enumerate(texts)}
    vectors = encode_texts(encoder, texts, progress, known)
    heads = {}
    memory: dict[str, Memory] = {}
    threshold = threshold_for(vectors)
    seed_rows = sorted({row_of[e.text] for rows in by_head.values() for e in rows if e.source == "seed"})
    genre = principal_direction(vectors[seed_rows]) if len(seed_rows) >= MIN_SEEDS_FOR_GENRE else None
    counts: dict[str, dict[str, int]] = {}
    for name, rows in by_head.items():
        labels = [example.label for example in rows]
        label_set = list((label_sets or {}).get(name) or BUILTIN_HEADS.get(name) or sorted(set(labels)))
        unknown = sorted(set(labels) - set(label_set))
        if unknown:
            raise TrainingError(
                f"head {name!r}: unknown label(s) {', '.join(unknown)}; expected {', '.join(label_set)}"
            )
        if len(set(labels)) < 2:
            raise TrainingError(f"head {name!r} needs examples of at least two labels, got only {labels[0]!r}")
        groups = [without_leading_handles(e.text).strip().lower() for e in rows]
        heads[name] = train_head(
            name,
            vectors[[row_of[e.text] for e in rows]],
            labels,
            label_set,
            balanced_source_weights(rows),
            groups=groups,
            blind_to=genre if name in GENRE_BLIND_HEADS else None,
        )
        counts[name] = dict(Counter(labels))
        labelled = [e for e in rows if e.source != "seed"]  # what people labelled is remembered as well
        if labelled:
            memory[name] = Memory(
                vectors[[row_of[e.text] for e in labelled]].astype(np.float16),
                np.array([label_set.index(e.label) for e in labelled], dtype=np.int32),
                threshold,
            )
        if progress:
            progress(f"head:{name}", 1, 1)
    meta = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "examples": counts,
        "texts": len(texts),
        "train_seconds": round(time.perf_counter() - started, 2),
        "sources": dict(Counter(e.source for rows in by_head.values() for e in rows)),
        "blind_to_seeds_first_direction": sorted(GENRE_BLIND_HEADS & heads.keys()) if genre is not None else [],
    }
    return Model(encoder=encoder.name, heads=heads, meta=meta, memory=memory)
