"""The `triage` command's JSONL contract: read mentions, write one decision per line, in order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from bot.triage.decision import TriageInput, Triager

BATCH = 64


@dataclass
class JsonlReport:
    """How many lines were triaged, and the errors of the rest (line number, message)."""

    written: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def parse_input_line(line: str) -> TriageInput:
    """One input line as a TriageInput; ValueError names what is wrong."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    if not isinstance(data.get("id"), str) or not data["id"]:
        raise ValueError("'id' must be a non-empty string")
    if not isinstance(data.get("text"), str):
        raise ValueError("'text' must be a string")
    addressed = data.get("addressed_to_brand")
    if addressed is not None and not isinstance(addressed, bool):
        raise ValueError("'addressed_to_brand' must be true or false")
    for key in ("platform", "author", "lang"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise ValueError(f"'{key}' must be a string")
    followers = data.get("followers")
    if followers is not None and not isinstance(followers, int):
        raise ValueError("'followers' must be an integer")
    return TriageInput(
        id=data["id"],
        text=data["text"],
        platform=data.get("platform"),
        author=data.get("author"),
        author_followers=followers,
        addressed_to_brand=addressed,
        lang=data.get("lang"),
    )


def _batches(source: IO[str], report: JsonlReport) -> Iterator[list[TriageInput]]:
    batch: list[TriageInput] = []
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            batch.append(parse_input_line(line))
        except ValueError as exc:
            report.errors.append((number, str(exc)))
            continue
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def triage_jsonl(triager: Triager, source: IO[str], sink: IO[str]) -> JsonlReport:
    """Triage every valid line of source into sink; malformed lines are reported, not written."""
    report = JsonlReport()
    for batch in _batches(source, report):
        for item, decision in zip(batch, triager.triage(batch), strict=True):
            sink.write(json.dumps(decision.contract(item.id), ensure_ascii=False) + "\n")
            report.written += 1
    return report
