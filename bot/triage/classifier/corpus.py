"""The shipped seed corpus: one JSONL file per language and subject, checked against the labelling guide.

`python -m bot.triage.classifier.corpus` prints the counts per language and class and every problem found.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.triage.decision import CATEGORIES, LEVELS, MODES, SENTIMENTS

SEEDS_DIR = Path(__file__).resolve().parent / "seeds"
LANGUAGES = ("en", "es")
TRIAGE_HEADS: dict[str, tuple[str, ...]] = {
    "category": CATEGORIES,
    "sentiment": SENTIMENTS,
    "needs_response": ("false", "true"),
    "mode": MODES,
    "level": LEVELS,
}
# Where a seed is written as: a public post, a comment under a post, a private message, a chat or form request.
MEDIA = ("post", "comment", "private_message", "chat")
MIN_PER_CLASS = 150
MIN_PER_LANGUAGE = 3000
_FIELDS = {"text", *TRIAGE_HEADS, "medium", "outage", "churn_risk"}


@dataclass(frozen=True)
class Seed:
    """One hand-written mention with its label for every built-in head."""

    text: str
    language: str
    subject: str
    labels: dict[str, str]
    medium: str
    where: str


class SeedError(Exception):
    """A seed file breaks the format; the message names the file and line."""


def seed_files(directory: Path = SEEDS_DIR) -> list[Path]:
    """Every triage seed file, by language folder then subject."""
    return sorted(p for language in LANGUAGES for p in (directory / language).glob("*.jsonl"))


def near_duplicate_key(text: str) -> str:
    """The text lower-cased without handles, URLs, numbers or punctuation: equal keys are near-duplicates."""
    text = re.sub(r"@\w+|https?://\S+|\d+", " ", text.lower())
    text = "".join(" " if unicodedata.category(ch)[0] in "PNC" else ch for ch in text)
    return " ".join(text.split())


def _label(head: str, value: object) -> str:
    if head == "needs_response" and isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_seed(line: str, where: str, language: str, subject: str) -> Seed:
    """One seed line, or SeedError naming what is wrong."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise SeedError(f"{where}: not valid JSON ({exc.msg})") from None
    if not isinstance(row, dict):
        raise SeedError(f"{where}: expected a JSON object")
    unknown = set(row) - _FIELDS
    if unknown:
        raise SeedError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        raise SeedError(f"{where}: 'text' must be a non-empty string")
    labels = {}
    for head, allowed in TRIAGE_HEADS.items():
        if head not in row:
            raise SeedError(f"{where}: missing {head!r}")
        label = _label(head, row[head])
        if label not in allowed:
            raise SeedError(f"{where}: {head} {row[head]!r} is not one of {', '.join(allowed)}")
        labels[head] = label
    for head in ("outage", "churn_risk"):
        if head in row:
            if row[head] not in ("yes", "no"):
                raise SeedError(f"{where}: {head} must be 'yes' or 'no'")
            labels[head] = row[head]
    medium = row.get("medium", "post")
    if medium not in MEDIA:
        raise SeedError(f"{where}: medium {medium!r} is not one of {', '.join(MEDIA)}")
    return Seed(text=text, language=language, subject=subject, labels=labels, medium=medium, where=where)


def load_seeds(directory: Path = SEEDS_DIR) -> list[Seed]:
    """Every triage seed in the corpus; SeedError on the first malformed line."""
    seeds = []
    for path in seed_files(directory):
        language, subject = path.parent.name, path.stem
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    seeds.append(parse_seed(line, f"{path.relative_to(directory)}:{number}", language, subject))
    return seeds


def guide_violations(seed: Seed) -> list[str]:
    """Where a seed's labels contradict one another under the labelling guide."""
    problems = []
    labels = seed.labels
    if (labels["needs_response"] == "false") != (labels["level"] == "monitor"):
        problems.append("needs_response false must go with level monitor, and only with it")
    if seed.medium == "private_message" and labels["mode"] != "reactive":
        problems.append("a private message is reactive")
    if labels["mode"] == "proactive" and labels["category"] in ("praise", "other") and labels["level"] != "monitor":
        problems.append("proactive praise or other is monitor")
    return problems


def near_duplicates(seeds: Iterable[Seed]) -> list[tuple[Seed, Seed]]:
    """Pairs of seeds (first seen, later) whose texts are the same once normalised."""
    first: dict[tuple[str, str], Seed] = {}
    pairs = []
    for seed in seeds:
        key = (seed.language, near_duplicate_key(seed.text))
        if key in first:
            pairs.append((first[key], seed))
        else:
            first[key] = seed
    return pairs


def class_counts(seeds: Iterable[Seed]) -> dict[str, dict[str, Counter]]:
    """Counts per language, head and label."""
    counts: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for seed in seeds:
        for head, label in seed.labels.items():
            counts[seed.language][head][label] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    """Print the corpus' counts and problems (of the files named, e.g. en/telecom.jsonl); exit 1 on problems."""
    try:
        seeds = load_seeds()
    except SeedError as exc:
        print(f"error: {exc}")
        return 1
    pairs = near_duplicates(seeds)
    if argv:  # only these files' counts and problems (near-duplicates still against the whole corpus)
        wanted = {str(Path(a)) for a in argv}
        seeds = [s for s in seeds if s.where.rsplit(":", 1)[0] in wanted]
        pairs = [(a, b) for a, b in pairs if b.where.rsplit(":", 1)[0] in wanted or a.where.rsplit(":", 1)[0] in wanted]
    problems = [f"{s.where}: {p}" for s in seeds for p in guide_violations(s)]
    problems += [f"{b.where}: near-duplicate of {a.where}: {b.text!r}" for a, b in pairs]
    counts = class_counts(seeds)
    for language in LANGUAGES:
        total = sum(1 for s in seeds if s.language == language)
        print(f"{language}: {total} seeds")
        for head, allowed in TRIAGE_HEADS.items():
            print("  " + head.ljust(15) + "  ".join(f"{label} {counts[language][head][label]}" for label in allowed))
        media = Counter(s.medium for s in seeds if s.language == language)
        print("  medium".ljust(17) + "  ".join(f"{m} {media[m]}" for m in MEDIA))
        subjects = Counter(s.subject for s in seeds if s.language == language)
        print("  subjects".ljust(17) + ", ".join(f"{k} {v}" for k, v in sorted(subjects.items())))
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
