"""Labelled examples: the shipped seeds, training files ({"text", "label"} per line) and recorded decisions."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.storage.models import LabelledExample
from bot.triage.classifier.corpus import SEEDS_DIR, TRIAGE_HEADS, load_seeds

BUILTIN_HEADS: dict[str, tuple[str, ...]] = TRIAGE_HEADS
# How much one example counts in training, by where it came from: a person's correction outweighs an
# approval, which outweighs a seed written in advance.
SOURCE_WEIGHTS = {"seed": 1.0, "file": 1.0, "approve": 2.0, "edit": 2.0, "reject": 2.0, "correction": 3.0}
_BOOLEAN_LABELS = {"true": "true", "false": "false", "yes": "true", "no": "false", "1": "true", "0": "false"}


class TrainingDataError(Exception):
    """A training file is malformed; the message names the file and the line."""


@dataclass(frozen=True)
class Example:
    """One text with the label a head should give it."""

    head: str
    text: str
    label: str
    language: str | None = None
    source: str = "seed"

    @property
    def weight(self) -> float:
        """How much this example counts in training."""
        return SOURCE_WEIGHTS.get(self.source, 1.0)


def normalise_label(head: str, label: object) -> str:
    """The canonical spelling of a label (needs_response accepts booleans and yes/no)."""
    if head == "needs_response":
        key = str(label).strip().lower()
        if key in _BOOLEAN_LABELS:
            return _BOOLEAN_LABELS[key]
    return str(label).strip()


_LEADING_HANDLES = re.compile(r"^(?:\s*@\w+[:,]?)+\s*")


def without_leading_handles(text: str) -> str:
    """The text without the @handles it starts with ("@acme @acmesupport my order..." -> "my order...")."""
    return _LEADING_HANDLES.sub("", text)


def seed_examples() -> list[Example]:
    """The shipped English and Spanish examples of every built-in head, and of the heads the seeds also label.

    A seed that starts with @handles also teaches every head but mode without them, so that category, level
    and needs_response are learnt from what the mention says, not from whether it names an account.
    """
    examples: list[Example] = []
    for seed in load_seeds():
        bare = without_leading_handles(seed.text)
        for head, label in seed.labels.items():
            examples.append(Example(head, seed.text, label, seed.language))
            if head != "mode" and bare != seed.text and len(bare) > 3:
                examples.append(Example(head, bare, label, seed.language))
    return examples


def shipped_custom_seeds(head: str) -> Path | None:
    """The shipped extra seed file of a custom head with this name (outage, churn_risk), if there is one."""
    path = SEEDS_DIR / f"{head}.jsonl"
    return path if path.is_file() else None


def load_training_file(
    path: str | Path, head: str, labels: Iterable[str] | None = None, source: str = "file"
) -> list[Example]:
    """Examples from a JSONL file of {"text": ..., "label": ...} lines; TrainingDataError names a bad line."""
    path = Path(path)
    allowed = set(labels) if labels else None
    examples: list[Example] = []
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise TrainingDataError(f"{path}: cannot read it ({exc.strerror})") from None
    with handle:
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                examples.append(_parse_line(path, number, line, head, allowed, source))
        except UnicodeDecodeError:
            raise TrainingDataError(f"{path}: not UTF-8 text") from None
    if not examples:
        raise TrainingDataError(f'{path}: no examples (expected lines like {{"text": "...", "label": "..."}})')
    return examples


def _parse_line(path: Path, number: int, line: str, head: str, allowed: set[str] | None, source: str) -> Example:
    where = f"{path}:{number}"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise TrainingDataError(f"{where}: not valid JSON ({exc.msg})") from None
    if not isinstance(row, dict):
        raise TrainingDataError(f'{where}: expected an object like {{"text": "...", "label": "..."}}')
    text, label = row.get("text"), row.get("label")
    if not isinstance(text, str) or not text.strip():
        raise TrainingDataError(f"{where}: 'text' must be a non-empty string")
    if label is None or isinstance(label, (dict, list)) or str(label).strip() == "":
        raise TrainingDataError(f"{where}: 'label' is missing or empty")
    label = normalise_label(head, label)
    if allowed is not None and label not in allowed:
        raise TrainingDataError(
            f"{where}: label {label!r} is not one of head {head!r}'s labels: {', '.join(sorted(allowed))}"
        )
    language = row.get("language") or row.get("lang")
    return Example(head, text, label, language if isinstance(language, str) else None, source)


def recorded_examples(session) -> list[Example]:
    """Every labelled example people produced (approve, edit, reject, correction), oldest first."""
    from sqlalchemy import select

    rows = session.scalars(select(LabelledExample).order_by(LabelledExample.id)).all()
    return [Example(row.head, row.text, normalise_label(row.head, row.label), row.language, row.source) for row in rows]


def merge(examples: Iterable[Example]) -> dict[str, list[Example]]:
    """Examples grouped by head; for the same head and text the later one wins (a correction replaces a seed)."""
    by_head: dict[str, dict[str, Example]] = {}
    for example in examples:
        by_head.setdefault(example.head, {})[example.text] = example
    return {head: list(rows.values()) for head, rows in by_head.items()}


def fingerprint(paths: Iterable[Path], extra: str = "") -> str:
    """A short hash of files' contents (and a string), to tell whether a cached model is stale."""
    digest = hashlib.sha256(extra.encode())
    for path in sorted(paths):
        digest.update(f"{path.parent.name}/{path.name}".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
