"""The replay listener: reads a JSONL file from its cursor; bad lines are skipped, never fatal."""

from __future__ import annotations

import json
import logging

import pytest

from bot.clock import FrozenClock
from bot.errors import PermanentError
from listeners.replay import ReplayListener


def test_it_reads_from_the_cursor_in_batches(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text("".join(json.dumps({"id": f"r{i}", "text": f"hello {i}"}) + "\n" for i in range(5)))
    listener = ReplayListener(str(path), batch_size=2, clock=FrozenClock())

    first, cursor = listener.fetch({})
    second, cursor = listener.fetch(cursor)
    third, cursor = listener.fetch(cursor)
    rest, final = listener.fetch(cursor)

    assert [m.platform_id for m in first + second + third] == ["r0", "r1", "r2", "r3", "r4"]
    assert rest == [] and final == cursor


def test_malformed_lines_are_logged_with_their_number_and_skipped(tmp_path, caplog):
    path = tmp_path / "m.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps({"id": "ok-1", "text": "fine", "author": {"id": "a", "handle": "@a", "followers": 3}}),
                "{broken",
                json.dumps({"id": "bad", "text": "", "author": "x"}),
                json.dumps({"id": "bad2", "text": "x", "channel": "carrier pigeon"}),
                json.dumps(["not", "an", "object"]),
                json.dumps({"id": "ok-2", "text": "also fine", "created_at": "2026-01-05T08:00:00Z", "thread": "ok-1"}),
            ]
        )
        + "\n"
    )
    with caplog.at_level(logging.WARNING):
        mentions, cursor = ReplayListener(str(path), clock=FrozenClock()).fetch({})

    assert [m.platform_id for m in mentions] == ["ok-1", "ok-2"]
    assert mentions[1].thread() == "ok-1"
    assert cursor == {"line": 6}
    assert "line 2 skipped" in caplog.text and "line 3 skipped: 'text'" in caplog.text
    assert "line 4 skipped: 'channel'" in caplog.text


def test_a_missing_file_is_a_permanent_error_naming_it(tmp_path):
    with pytest.raises(PermanentError, match="nope.jsonl"):
        ReplayListener(str(tmp_path / "nope.jsonl")).fetch({})
