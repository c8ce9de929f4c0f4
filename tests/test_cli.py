"""The command line as a community manager uses it: clear tables, clear errors, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from bot.casework import notes
from bot.cli import main
from bot.config import load_config
from bot.runtime.service import Service
from bot.storage import users
from bot.storage.db import transaction
from bot.storage.models import Mention, OutboxMessage
from tests.harness import base_config


@pytest.fixture
def cli(tmp_path, database_url):
    """Run CLI commands against a test config with one replay account."""
    data = base_config(tmp_path, database_url)
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(data), encoding="utf-8")
    replay = Path(data["accounts"][0]["path"])
    replay.write_text("", encoding="utf-8")
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(main, ["--config", str(config_path), *args], input=input, catch_exceptions=False)

    invoke.replay = replay
    invoke.tmp_path = tmp_path
    return invoke


def add(cli, **line):
    with cli.replay.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")


def test_commands_refuse_an_empty_database_and_name_the_fix(cli):
    result = cli("queue")
    assert result.exit_code == 1
    assert "python -m bot db upgrade" in result.output


def test_a_community_manager_works_the_queue_from_the_command_line(cli):
    assert cli("db", "upgrade").exit_code == 0
    add(
        cli,
        id="c-1",
        platform="x",
        text="@acme my internet is down again, not working since yesterday",
        author={"id": "u1", "handle": "@lena"},
        addressed_to_brand=True,
    )
    add(
        cli,
        id="c-2",
        platform="x",
        text="@acme how do I change my plan online?",
        author={"id": "u2", "handle": "@omar"},
        addressed_to_brand=True,
    )
    from bot.config import load_config
    from bot.runtime.service import Service

    service = Service(load_config(cli.tmp_path / "config.yaml"))
    service.sync_accounts()
    service.cycle()

    queue = cli("queue", "--json")
    assert queue.exit_code == 0
    rows = json.loads(queue.output)
    assert [r["kind"] for r in rows] == ["acknowledgement", "reply"]  # the complaint first: higher priority
    assert rows[0]["priority"] >= rows[1]["priority"]

    table = cli("queue")
    assert "acknowledgement" in table.output and "@lena" in table.output

    shown = cli("show", str(rows[0]["case"]))
    assert shown.exit_code == 0
    assert "my internet is down" in shown.output and "reasons" not in shown.output.lower().split("thread")[0]

    approved = cli(
        "approve",
        str(rows[0]["draft"]),
        "--text",
        "@lena We're sorry! We're on it and will update you within 30 minutes.",
    )
    assert approved.exit_code == 0, approved.output
    assert "sent as sandbox-" in approved.output

    rejected = cli("reject", str(rows[1]["draft"]), "--reason", "answered by phone already")
    assert rejected.exit_code == 0

    resolved = cli("resolve", str(rows[0]["case"]), "--summary", "a technician visits on Monday")
    assert resolved.exit_code == 0
    assert "technician visits on Monday" in resolved.output

    status = cli("status", "--json")
    report = json.loads(status.output)
    assert report["accounts"][0]["health"] == "ok"
    assert report["counts"]["sent"] == 1


def test_a_note_from_the_command_line_stays_internal_and_reaches_the_mentioned_users_inbox(cli, monkeypatch):
    assert cli("db", "upgrade").exit_code == 0
    monkeypatch.setenv("NEW_PASSWORD", "correct horse battery")
    for name, role in (("root", "admin"), ("alex", "agent")):
        assert cli("user", "add", name, "--role", role, "--password-env", "NEW_PASSWORD").exit_code == 0
    add(cli, id="n-1", platform="x", text="@acme my parcel never arrived", author={"id": "u1", "handle": "@lena"})
    service = Service(load_config(cli.tmp_path / "config.yaml"))
    service.sync_accounts()
    service.cycle()

    written = cli("note", "1", "@alex the courier lost it, call @lena back", "--as", "root")
    assert written.exit_code == 0, written.output
    assert "note 1 added to case 1; in the inbox of alex" in written.output
    assert "Internal notes" in cli("show", "1").output and "the courier lost it" in cli("show", "1").output
    with transaction(service.factory) as session:
        [item] = notes.inbox(session, users.get_user(session, "alex"))
        assert item.note.author == "root" and item.case.id == 1
        assert session.query(OutboxMessage).count() == 0

    unknown = cli("note", "1", "hello", "--as", "nobody")
    assert unknown.exit_code == 1 and "there is no active console user named 'nobody'" in unknown.output
    empty = cli("note", "1", " ", "--as", "root")
    assert empty.exit_code == 1 and "a note cannot be empty" in empty.output


@pytest.mark.parametrize(
    "args, message",
    [
        (("show", "999"), "there is no case 999"),
        (("approve", "999"), "there is no draft 999"),
        (("reject", "999", "--reason", "x"), "there is no draft 999"),
        (("resolve", "999"), "there is no case 999"),
        (("reject", "1", "--reason", "  "), "needs a reason"),
    ],
)
def test_unknown_ids_give_a_clear_message_and_a_non_zero_exit(cli, args, message):
    cli("db", "upgrade")
    result = cli(*args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args", [("show", "abc"), ("queue", "--limit", "0"), ("approve",), ("reject", "1"), ("nonsense",)]
)
def test_bad_arguments_are_usage_errors(cli, args):
    result = cli(*args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_triage_writes_one_decision_per_line_and_reports_malformed_lines(cli, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(
        "\n".join(
            [
                json.dumps({"id": "1", "text": "@acme you charged my card twice!!", "addressed_to_brand": True}),
                "{not json",
                json.dumps({"id": "2"}),
                json.dumps({"id": "3", "text": "¿Cómo cambio mi tarifa? @acme", "lang": "es"}),
                json.dumps({"id": "4", "text": "hi", "addressed_to_brand": "yes"}),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    output = tmp_path / "out.jsonl"

    result = cli("triage", "--input", str(source), "--output", str(output))

    assert result.exit_code == 1
    assert "in.jsonl:2: not valid JSON" in result.output
    assert "in.jsonl:3: 'text' must be a string" in result.output
    assert "in.jsonl:5: 'addressed_to_brand' must be true or false" in result.output
    lines = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in lines] == ["1", "3"]
    first = lines[0]
    assert set(first) == {
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
    assert first["level"] == "private" and first["mode"] == "reactive"
    assert 0.0 <= first["priority"] <= 1.0
    assert lines[1]["language"] == "es"


def test_triage_of_a_missing_file_is_a_clear_error(cli, tmp_path):
    result = cli("triage", "--input", str(tmp_path / "nope.jsonl"), "--output", str(tmp_path / "o.jsonl"))
    assert result.exit_code != 0
    assert "nope.jsonl" in result.output


def test_merge_and_split_cases_from_the_command_line(cli):
    assert cli("db", "upgrade").exit_code == 0
    ana = {"id": "u1", "handle": "@ana"}
    add(cli, id="dm-1", platform="x", text="my order never arrived", author=ana, channel="private", thread="dm-ana")
    add(cli, id="c-1", platform="x", text="@acme my internet is down, not working", author=ana, addressed_to_brand=True)
    service = Service(load_config(cli.tmp_path / "config.yaml"))
    service.sync_accounts()
    service.cycle()
    with transaction(service.factory) as session:
        cases = {m.platform_id: m.case_id for m in session.query(Mention)}
    dm_case, comment_case = cases["dm-1"], cases["c-1"]
    assert dm_case != comment_case

    merged = cli("merge", str(comment_case), str(dm_case), "--as", "maria")
    assert merged.exit_code == 0, merged.output
    assert f"case {dm_case} merged into case {comment_case}: 2 messages" in merged.output
    again = cli("merge", str(comment_case), str(dm_case))
    assert again.exit_code == 1 and f"case {dm_case} is already merged" in again.output

    shown = cli("show", str(comment_case))
    with transaction(service.factory) as session:
        dm_id = session.query(Mention).filter_by(platform_id="dm-1").one().id
    assert f"(message {dm_id})" in shown.output
    split = cli("split", str(dm_id))
    assert split.exit_code == 0, split.output
    assert f"mention {dm_id} split into new case" in split.output
    only = cli("split", str(dm_id))
    assert only.exit_code == 1 and "only message" in only.output


def test_an_agent_answers_with_a_saved_reply_from_the_command_line(cli):
    assert cli("db", "upgrade").exit_code == 0
    added = cli(
        "macros",
        "add",
        "sorry-wait",
        "--language",
        "en",
        "--text",
        "{{ customer.handle }} Sorry for the wait! Case {{ case.reference }}: we'll update you within {{ eta.text }}.",
        "--tag",
        "Follow-up",
    )
    assert added.exit_code == 0, added.output
    broken = cli("macros", "add", "broken", "--language", "en", "--text", "Hi\n{{ customer.nmae }}")
    assert broken.exit_code == 1 and "line 2: unknown variable 'customer.nmae'" in broken.output
    add(
        cli,
        id="c-1",
        platform="x",
        text="@acme the app crashes on start, still waiting for a fix",
        author={"id": "u1", "handle": "@lena"},
        addressed_to_brand=True,
    )
    service = Service(load_config(cli.tmp_path / "config.yaml"))
    service.sync_accounts()
    service.cycle()
    [row] = json.loads(cli("queue", "--json").output)

    listed = cli("macros", "list")
    assert listed.exit_code == 0 and "sorry-wait" in listed.output and "tags follow-up" in listed.output
    assert cli("approve", str(row["draft"]), "--macro", "sorry-wait", "--text", "x").exit_code == 1

    approved = cli("approve", str(row["draft"]), "--macro", "sorry-wait")

    assert approved.exit_code == 0, approved.output
    assert f"@lena Sorry for the wait! Case #{row['case']}: we'll update you within" in approved.output
    assert "sent as sandbox-" in approved.output
    missing = cli("macros", "apply", str(row["draft"]), "sorry-wait")
    assert missing.exit_code == 1 and "not pending" in missing.output


def test_approve_with_the_versions_one_read_is_refused_once_the_customer_wrote_again(cli):
    cli("db", "upgrade")
    add(
        cli,
        id="v-1",
        platform="x",
        text="@acme how do I change my plan online?",
        author={"id": "u1", "handle": "@lena"},
        addressed_to_brand=True,
    )
    service = Service(load_config(cli.tmp_path / "config.yaml"))
    service.sync_accounts()
    service.cycle()
    [row] = json.loads(cli("queue", "--json").output)
    shown = cli("show", str(row["case"]))
    assert "version 1" in shown.output and "version 0" in shown.output  # the case's and the draft's

    add(
        cli,
        id="v-2",
        platform="x",
        text="@acme [bold]never mind[/bold], found it",
        author={"id": "u1", "handle": "@lena"},
        thread="v-1",
        in_reply_to="v-1",
        addressed_to_brand=True,
    )
    service.cycle()
    stale = cli("approve", str(row["draft"]), "--draft-version", "0", "--case-version", "1")
    assert stale.exit_code == 1
    assert "the customer wrote again" in stale.output and "[bold]never mind[/bold], found it" in stale.output
    assert "Traceback" not in stale.output
