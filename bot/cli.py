"""The command line: `python -m bot …` and the `mention-desk` script."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from bot.casework import approval, cases, followups, macros, merging, notes
from bot.config import DEFAULT_CONFIG_PATH, ConfigError, load_config
from bot.console.server import serve_with
from bot.demo import run_demo
from bot.early_warning import summary as incident_summary
from bot.errors import UserError
from bot.runtime import logs
from bot.runtime.daemon import Daemon
from bot.runtime.service import Service
from bot.runtime.status_report import collect
from bot.service_levels import assignment
from bot.service_levels import reply_rubric as evaluation
from bot.service_levels import report as reports
from bot.simulators.command import simulate
from bot.simulators.embedded import EmbeddedSimulators
from bot.storage import audit, db, users
from bot.storage.db import transaction
from bot.storage.models import Case, Draft, OutboxMessage, User
from bot.storage.statuses import DraftStatus
from bot.triage.build import build_triager
from bot.triage.classifier.commands import evaluate, train
from bot.triage.jsonl_contract import triage_jsonl

out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, soft_wrap=True)
EXIT_CONFIG = 2


class Context:
    """What every command needs: the config path, and the config and service built on first use."""

    def __init__(self, config_path: str | None):
        self.config_path = config_path
        self._config = None
        self._service = None

    @property
    def config(self):
        """The validated config (exit 2 with the key's path when it is wrong)."""
        if self._config is None:
            self._config = load_config(self.config_path)
            logs.setup(self._config.logging)
        return self._config

    @property
    def service(self):
        """The wired service."""
        if self._service is None:
            self._service = Service(self.config)
        return self._service

    def ready_service(self):
        """The service, after checking the schema is current."""
        service = self.service
        service.check_schema()
        return service


def handle_errors(command: Callable) -> Callable:
    """Turn known errors into a clear message and a non-zero exit, never a traceback."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ConfigError as exc:
            err.print(f"[red]config error[/red] {exc}")
            sys.exit(EXIT_CONFIG)
        except db.SchemaOutdated as exc:
            err.print(f"[red]error:[/red] {exc}")
            sys.exit(1)
        except UserError as exc:
            # Messages may quote a customer (a stale approval does): never read as markup.
            err.print(f"[red]error:[/red] {_escape(str(exc))}")
            sys.exit(1)
        except SQLAlchemyError as exc:
            detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            err.print(f"[red]database error:[/red] {detail}")
            sys.exit(1)

    return wrapper


def actor_option(command: Callable) -> Callable:
    """--as NAME: who is acting, for the audit log."""
    return click.option(
        "--as", "actor", default=None, help="Who is acting, for the audit log (default: cli:<your user>)."
    )(command)


def actor_name(actor: str | None) -> str:
    """The actor recorded in the audit log."""
    if actor:
        return actor
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    envvar="BOT_CONFIG",
    default=None,
    metavar="FILE",
    help="Path of config.yaml (default: the project's config.yaml; env BOT_CONFIG).",
)
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """Listen to mentions of the brand, triage them, draft replies, approve and send them."""
    ctx.obj = Context(config_path)


@main.group("db")
def db_group() -> None:
    """Database schema commands."""


@db_group.command("upgrade")
@click.pass_obj
@handle_errors
def db_upgrade(obj: Context) -> None:
    """Create or migrate the database schema to the latest version."""
    service = obj.service
    before = db.current_revision(service.engine)
    service.upgrade()
    after = db.current_revision(service.engine)
    out.print(
        f"database at revision {after}" + (f" (was {before or 'empty'})" if before != after else " (already current)")
    )


@main.command()
@click.pass_obj
@handle_errors
def run(obj: Context) -> None:
    """Run the always-on daemon until SIGTERM or Ctrl-C."""
    _run_daemon(obj, _start_simulators(obj))


@main.command()
@click.option(
    "--fresh/--keep", default=True, help="Start from an empty demo database (default) or keep the existing one."
)
@click.option(
    "--once", is_flag=True, help="Set up, fetch and triage the scenario, then exit instead of running the daemon."
)
@click.pass_obj
@handle_errors
def demo(obj: Context, fresh: bool, once: bool) -> None:
    """The bundled scenario through the simulated X and Facebook: drafts wait for approval, the daemon runs."""

    simulators = _start_simulators(obj)
    try:
        run_demo(obj, fresh=fresh, console=out, simulators=simulators)
        _demo_user(obj, serving=not once)
    except BaseException:
        if simulators is not None:
            simulators.stop()
        raise
    if once:
        if simulators is not None:
            simulators.stop()
        return
    out.print(
        "\nThe daemon is running (Ctrl-C stops it); replies appear below as the simulated platforms receive them."
    )
    _run_daemon(obj, simulators)


def _start_simulators(obj: Context):
    """The embedded simulators, started and seeded, when the config runs them."""
    if not obj.config.simulators.enabled:
        return None

    return EmbeddedSimulators(obj.config).start()


def _run_daemon(obj: Context, simulators=None) -> None:
    """Run the daemon with the console and, when given, the simulators and an echo of what they receive."""

    daemon = Daemon(obj.service, config_path=obj.config_path or DEFAULT_CONFIG_PATH)  # start() waits for the database
    if simulators is not None:
        daemon.on_stop.append(simulators.stop)

        def echo_posts() -> None:
            for line in simulators.new_posts():
                out.print(_escape(line))

        daemon.add_job("simulator echo", echo_posts, 1.0, exclusive=False)
    console_config = obj.config.console
    if console_config.enabled:
        serve_with(daemon)
        out.print(f"console: http://{console_config.host}:{console_config.port}/")
    daemon.run_forever()


DEMO_USER = "demo"


def _demo_user(obj: Context, serving: bool = True) -> None:
    """Create (or reset) the demo's console user and print how to log in."""
    import secrets

    service = obj.service
    password = secrets.token_urlsafe(12)
    now = service.clock.now()
    with transaction(service.factory) as session:
        user = users.get_user(session, DEMO_USER)
        if user is None:
            users.create_user(session, DEMO_USER, password, "admin", now, "demo", display_name="Demo admin")
        else:
            users.set_password(session, user, password, now, "demo")
    console = obj.config.console
    where = "" if serving else "run `python -m bot run`, "
    out.print(
        f"\n[bold]Console[/bold]: {where}open http://{console.host}:{console.port}/ and log in "
        f"as [bold]{DEMO_USER}[/bold] with password [bold]{password}[/bold] (an admin; a new password each demo run)"
    )


@main.group("user")
def user_group() -> None:
    """Console users: add them, list them, issue API tokens."""


@user_group.command("add")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice(["agent", "approver", "admin"]),
    default=None,
    help="agent edits and proposes, approver also approves and sends, admin also manages users "
    "(default: admin for the first user, agent after).",
)
@click.option("--name", "display_name", default=None, help="The person's full name, shown in the console.")
@click.option(
    "--password-env",
    default=None,
    metavar="VAR",
    help="Read the password from this environment variable instead of asking (for scripts).",
)
@actor_option
@click.pass_obj
@handle_errors
def user_add(
    obj: Context, username: str, role: str | None, display_name: str | None, password_env: str | None, actor: str | None
) -> None:
    """Create a console user; the first one must be an admin."""
    import os

    service = obj.ready_service()
    with transaction(service.factory) as session:
        first = users.count_users(session) == 0
    role = role or ("admin" if first else "agent")
    if first and role != "admin":
        raise UserError("the first user must be an admin, or nobody could manage users; use --role admin")
    if password_env:
        password = os.environ.get(password_env)
        if not password:
            raise UserError(f"the environment variable {password_env} is not set or empty")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with transaction(service.factory) as session:
        user = users.create_user(
            session, username, password, role, service.clock.now(), actor_name(actor), display_name
        )
        out.print(f"user {user.username} created as {user.role}")


@user_group.command("list")
@click.pass_obj
@handle_errors
def user_list(obj: Context) -> None:
    """Console users, their roles and whether they are locked."""

    service = obj.ready_service()
    now = service.clock.now()
    table = Table(title="Users")
    for column in ("user", "role", "status", "API token"):
        table.add_column(column)
    with transaction(service.factory) as session:
        for user in session.scalars(select(User).order_by(User.username)):
            status = (
                "disabled"
                if not user.active
                else f"locked until {user.locked_until:%H:%M}"
                if user.locked_until and user.locked_until > now
                else "active"
            )
            table.add_row(_escape(user.username), user.role, status, "yes" if user.api_token_hash else "-")
    out.print(table)


@user_group.command("token")
@click.argument("username")
@actor_option
@click.pass_obj
@handle_errors
def user_token(obj: Context, username: str, actor: str | None) -> None:
    """Issue a new API token for a user (printed once; it replaces the old one)."""

    service = obj.ready_service()
    with transaction(service.factory) as session:
        user = users.get_user(session, username)
        if user is None:
            raise UserError(f"there is no user named {username!r}")
        token = users.issue_api_token(session, user, service.clock.now(), actor_name(actor))
    click.echo(token)


def _queue_rows(session, limit: int):
    query = (
        select(Draft)
        .where(Draft.status.in_((DraftStatus.PENDING, DraftStatus.BLOCKED)))
        .join(Case)
        .order_by(Draft.priority.desc(), Case.first_response_due_at, Draft.id)
        .limit(limit)
    )
    return list(session.scalars(query))


@main.command()
@click.option("--limit", default=30, show_default=True, type=click.IntRange(1, 1000), help="How many drafts to list.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
@handle_errors
def queue(obj: Context, limit: int, as_json: bool) -> None:
    """Pending drafts, highest priority first."""
    service = obj.ready_service()
    with transaction(service.factory) as session:
        drafts = _queue_rows(session, limit)
        if as_json:
            click.echo(
                json.dumps(
                    [
                        {
                            "draft": d.id,
                            "case": d.case_id,
                            "kind": d.kind,
                            "status": d.status,
                            "priority": d.priority,
                            "level": d.case.level,
                            "text": d.text,
                        }
                        for d in drafts
                    ],
                    ensure_ascii=False,
                    indent=1,
                )
            )
            return
        table = Table(title=f"{len(drafts)} draft(s) waiting", show_lines=False)
        for column in ("draft", "case", "prio", "level", "kind", "lang", "author", "due"):
            table.add_column(column, no_wrap=True, overflow="ellipsis", max_width=16 if column == "author" else None)
        table.add_column("text", ratio=1, min_width=30, overflow="fold")
        for draft in drafts:
            case = draft.case
            author = draft.mention.identity.handle if draft.mention else ""
            due = (
                f"{case.first_response_due_at:%H:%M}"
                if case.first_response_due_at and not case.first_response_at
                else "-"
            )
            flags = " [yellow](low confidence)[/yellow]" if draft.low_confidence else ""
            flags += " [red](blocked)[/red]" if draft.status == DraftStatus.BLOCKED else ""
            table.add_row(
                str(draft.id),
                str(case.id),
                f"{draft.priority:.2f}",
                case.level,
                draft.kind,
                draft.language,
                author or "",
                due,
                _escape(draft.text) + flags,
            )
        out.print(table)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


@main.command()
@click.argument("case_id", type=int)
@click.pass_obj
@handle_errors
def show(obj: Context, case_id: int) -> None:
    """A case: its thread, triage and reasons, drafts and history."""
    service = obj.ready_service()
    with transaction(service.factory) as session:
        case = cases.get_case(session, case_id)
        out.print(
            f"[bold]Case {case.id}[/bold]  {case.platform}  state [bold]{case.state}[/bold]  level {case.level}  "
            f"priority {case.priority:.2f}  opened {case.opened_at:%Y-%m-%d %H:%M}  version {case.version or 0}"
        )
        if case.first_response_due_at:
            answered = f"answered {case.first_response_at:%H:%M}" if case.first_response_at else "not answered yet"
            out.print(
                f"first response due {case.first_response_due_at:%Y-%m-%d %H:%M} ({answered}); "
                f"resolution due {case.resolution_due_at:%Y-%m-%d %H:%M}"
            )
        out.print("\n[bold]Thread[/bold]")
        for mention in case.mentions:
            who = mention.identity.handle or mention.identity.name or mention.identity.platform_user_id
            out.print(
                f"  {mention.created_at:%H:%M} [{mention.channel}] {_escape(who)}: {_escape(mention.text)}"
                f"  (message {mention.id})"
            )
            if mention.triage:
                t = mention.triage
                out.print(
                    f"      triage: {t.language} {t.category} {t.sentiment} {t.mode} {t.level} "
                    f"needs_response={t.needs_response} priority={t.priority:.2f}"
                )
                for reason in t.reasons:
                    out.print(f"        - {_escape(reason)}")
        out.print("\n[bold]Drafts[/bold]")
        for draft in case.drafts:
            out.print(
                f"  #{draft.id} {draft.kind} ({draft.channel}, {draft.status}, version {draft.version or 0}): "
                f"{_escape(draft.text)}"
            )
            if draft.eta_explanation:
                out.print(f"      ETA: {_escape(draft.eta_explanation)}")
            for check in draft.checks:
                if not check.get("ok"):
                    out.print(f"      [red]check {check['name']} fails: {_escape(str(check['message']))}[/red]")
            if draft.policy and not draft.policy.get("allowed", True):
                out.print(f"      [red]policy: {_escape(str(draft.policy.get('reason')))}[/red]")
            if draft.outbox and draft.outbox.platform_post_id:
                out.print(f"      posted as {draft.outbox.platform_post_id}")
        case_notes = notes.notes_of(session, case.id)
        if case_notes:
            out.print("\n[bold]Internal notes[/bold] (never sent)")
        for written in case_notes:
            out.print(f"  {written.created_at:%Y-%m-%d %H:%M} {_escape(written.author)}: {_escape(written.text)}")
        out.print("\n[bold]History[/bold]")
        for event in case.events:
            out.print(
                f"  {event.at:%Y-%m-%d %H:%M} {event.actor}: {event.from_state or '-'} → {event.to_state}"
                + (f" ({_escape(event.note)})" if event.note else "")
            )


@main.command()
@click.argument("draft_id", type=int)
@click.option("--text", default=None, help="Replace the draft's text before approving (an edit).")
@click.option(
    "--override", "override_reason", default=None, help="Approve despite failing checks, with this reason (audited)."
)
@click.option("--no-send", is_flag=True, help="Only queue it; the running daemon sends it.")
@click.option(
    "--macro",
    "macro_name",
    default=None,
    metavar="NAME",
    help="Put this saved reply into the draft first (and run its actions).",
)
@click.option(
    "--draft-version",
    type=click.IntRange(min=0),
    default=None,
    help="The draft version you read (`show CASE`); refused if the draft was edited since.",
)
@click.option(
    "--case-version",
    type=click.IntRange(min=0),
    default=None,
    help="The case version you read (`show CASE`); refused if the customer wrote or a reply was sent since.",
)
@actor_option
@click.pass_obj
@handle_errors
def approve(
    obj: Context,
    draft_id: int,
    text: str | None,
    override_reason: str | None,
    no_send: bool,
    macro_name: str | None,
    draft_version: int | None,
    case_version: int | None,
    actor: str | None,
) -> None:
    """Approve a draft (optionally edited, or with a saved reply) and send it."""
    if macro_name and text is not None:
        raise UserError("give --text or --macro, not both")
    service = obj.ready_service()
    with transaction(service.factory) as session:
        if macro_name:
            # What the person read is checked before the saved reply goes in (it raises the draft's version).
            approval.check_fresh(
                session, approval.get_draft(session, draft_id), service.clock.now(), draft_version, case_version
            )
            draft_version = case_version = None
            # One transaction: if the approval is refused, the saved reply is not left in the draft either.
            draft_id = macros.apply_macro(
                session, service.config, service.renderer, draft_id, macro_name, actor_name(actor), service.clock.now()
            ).id
        draft = approval.approve(
            session,
            service.config,
            draft_id,
            actor_name(actor),
            service.clock.now(),
            text,
            override_reason,
            draft_version=draft_version,
            case_version=case_version,
        )
        message_id = session.scalars(select(OutboxMessage.id).where(OutboxMessage.draft_id == draft.id)).one()
        if macro_name:
            out.print(f"saved reply {_escape(macro_name)} in draft {draft_id}: {_escape(draft.text)}")
    out.print(f"draft {draft_id} approved")
    if no_send:
        return
    status = service.outbox.send(message_id)
    with transaction(service.factory) as session:
        message = session.get_one(OutboxMessage, message_id)
        draft = message.draft
        if status == "sent":
            out.print(f"sent as {message.platform_post_id}; case {draft.case_id} is now {draft.case.state}")
        else:
            out.print(f"not sent yet ({status}): {message.last_error or 'the daemon will retry'}")


@main.group("macros")
def macros_group() -> None:
    """Saved replies: list them, add one, put one into a draft."""


@macros_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
@handle_errors
def macros_list(obj: Context, as_json: bool) -> None:
    """Saved replies by name and language, with their actions."""
    service = obj.ready_service()
    with transaction(service.factory) as session:
        rows = macros.list_macros(session)
        if as_json:
            click.echo(
                json.dumps(
                    [
                        {"id": m.id, "name": m.name, "language": m.language, "text": m.text, "actions": m.actions}
                        for m in rows
                    ],
                    ensure_ascii=False,
                    indent=1,
                )
            )
            return
        table = Table(title=f"{len(rows)} saved repl(y/ies)")
        for column in ("id", "name", "lang", "actions", "updated"):
            table.add_column(column, no_wrap=True)
        table.add_column("text", ratio=1, min_width=30, overflow="fold")
        for macro in rows:
            done = macro.actions or {}
            what = [
                f"tags {', '.join(done['tags'])}" if done.get("tags") else "",
                f"assign {done.get('assign')}" if done.get("assign") else "",
                "resolve" if done.get("resolve") else "",
            ]
            table.add_row(
                str(macro.id),
                _escape(macro.name),
                macro.language,
                _escape("; ".join(w for w in what if w) or "-"),
                f"{macro.updated_at:%Y-%m-%d} {_escape(macro.updated_by)}",
                _escape(macro.text),
            )
        out.print(table)


@macros_group.command("add")
@click.argument("name")
@click.option("--language", required=True, help="The language it is written in (one the brand answers in).")
@click.option("--text", required=True, help="The reply: a Jinja2 template with the reply templates' variables.")
@click.option("--tag", "tag_names", multiple=True, metavar="TAG", help="Tag the case when it is used (repeatable).")
@click.option("--assign", default=None, metavar="USER", help="Assign the case to this user when it is used.")
@click.option("--resolve", is_flag=True, help="Resolve the case when it is used (the reply becomes its public close).")
@actor_option
@click.pass_obj
@handle_errors
def macros_add(
    obj: Context,
    name: str,
    language: str,
    text: str,
    tag_names: tuple[str, ...],
    assign: str | None,
    resolve: bool,
    actor: str | None,
) -> None:
    """Save a reply (checked like a template; audited)."""
    service = obj.ready_service()
    wanted = {"tags": list(tag_names), "assign": assign, "resolve": resolve}
    with transaction(service.factory) as session:
        macro = macros.create(
            session,
            service.config,
            service.renderer,
            name,
            language,
            text,
            wanted,
            actor_name(actor),
            service.clock.now(),
        )
        out.print(f"saved reply {_escape(macro.name)} ({macro.language}) saved as #{macro.id}")


@macros_group.command("apply")
@click.argument("draft_id", type=int)
@click.argument("name")
@actor_option
@click.pass_obj
@handle_errors
def macros_apply(obj: Context, draft_id: int, name: str, actor: str | None) -> None:
    """Put a saved reply into a pending draft and run its actions; the draft then waits for approval."""
    service = obj.ready_service()
    with transaction(service.factory) as session:
        draft = macros.apply_macro(
            session, service.config, service.renderer, draft_id, name, actor_name(actor), service.clock.now()
        )
        out.print(f"draft {draft.id} ({draft.kind}, case {draft.case_id} {draft.case.state}) waits for approval:")
        out.print(f"  {_escape(draft.text)}")


@main.command()
@click.argument("draft_id", type=int)
@click.option("--reason", required=True, help="Why the draft is rejected (teaches the classifier).")
@actor_option
@click.pass_obj
@handle_errors
def reject(obj: Context, draft_id: int, reason: str, actor: str | None) -> None:
    """Reject a draft with a reason."""
    service = obj.ready_service()
    with transaction(service.factory) as session:
        approval.reject(session, draft_id, actor_name(actor), reason, service.clock.now())
    out.print(f"draft {draft_id} rejected")


@main.command()
@click.argument("case_id", type=int)
@click.option("--summary", default="", help="What was agreed, summed up in the public close.")
@actor_option
@click.pass_obj
@handle_errors
def resolve(obj: Context, case_id: int, summary: str, actor: str | None) -> None:
    """Mark a case resolved and draft its positive public close."""
    service = obj.ready_service()
    with transaction(service.factory) as session:
        draft = cases.resolve(
            session, service.config, service.renderer, case_id, actor_name(actor), service.clock.now(), summary
        )
        out.print(f"case {case_id} resolved; close draft {draft.id} waits for approval:\n  {_escape(draft.text)}")


@main.command()
@click.argument("into_id", metavar="CASE", type=int)
@click.argument("other_id", metavar="OTHER_CASE", type=int)
@actor_option
@click.pass_obj
@handle_errors
def merge(obj: Context, into_id: int, other_id: int, actor: str | None) -> None:
    """Merge OTHER_CASE into CASE (one customer, one problem): its thread, clocks, drafts and history follow."""
    service = obj.ready_service()
    with transaction(service.factory) as session:
        case = merging.merge_cases(session, service.config, into_id, other_id, actor_name(actor), service.clock.now())
        pending = sum(1 for d in case.drafts if d.status == DraftStatus.PENDING)
        out.print(
            f"case {other_id} merged into case {case.id}: {len(case.mentions)} messages, state {case.state}, "
            f"{pending} draft(s) waiting for approval"
        )


@main.command()
@click.argument("mention_id", metavar="MENTION", type=int)
@actor_option
@click.pass_obj
@handle_errors
def split(obj: Context, mention_id: int, actor: str | None) -> None:
    """Split a message (its id, as `show CASE` lists it) and its drafts out into a new case of the same customer."""
    service = obj.ready_service()
    with transaction(service.factory) as session:
        case = merging.split_message(session, service.config, mention_id, actor_name(actor), service.clock.now())
        out.print(f"mention {mention_id} split into new case {case.id} (state {case.state})")


@main.command()
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help='JSONL of {"id", "text", …} (\'-\' for stdin).',
)
@click.option(
    "--output",
    "output_path",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="JSONL to write, one decision per input line ('-' for stdout).",
)
@click.option("--model-dir", default=None, type=click.Path(file_okay=False), help="A trained model directory.")
@click.pass_obj
@handle_errors
def triage(obj: Context, input_path: str, output_path: str, model_dir: str | None) -> None:
    """Triage mentions from a JSONL file (a stable contract other tools use)."""

    config = obj.config
    if model_dir and not Path(model_dir).is_dir():
        raise UserError(f"--model-dir {model_dir}: no such directory")
    triager = build_triager(config, model_dir)
    try:
        source = sys.stdin if input_path == "-" else open(input_path, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"--input {input_path}: {exc.strerror}") from None
    try:
        sink = sys.stdout if output_path == "-" else open(output_path, "w", encoding="utf-8")
    except OSError as exc:
        raise UserError(f"--output {output_path}: {exc.strerror}") from None
    with source, sink:
        try:
            report = triage_jsonl(triager, source, sink)
        except UnicodeDecodeError:
            raise UserError(f"--input {input_path} is not UTF-8 text") from None
    for number, message in report.errors:
        err.print(f"{input_path}:{number}: {message}; line skipped")
    err.print(
        f"triaged {report.written} mention(s)" + (f", {len(report.errors)} line(s) failed" if report.errors else "")
    )
    if report.errors:
        sys.exit(1)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.pass_obj
@handle_errors
def status(obj: Context, as_json: bool) -> None:
    """Accounts' health, last poll and budget; the queue and cases at a glance."""

    service = obj.ready_service()
    service.sync_accounts()
    report = collect(service)
    if as_json:
        click.echo(json.dumps(report, default=str, indent=1))
        return
    table = Table(title="Accounts")
    for column in ("account", "platform", "health", "last poll", "calls/hour (config)", "rate limit", "detail"):
        table.add_column(column)
    for row in report["accounts"]:
        health = row["health"]
        colour = "green" if health == "ok" else "red" if health in ("needs_reauth", "error") else "yellow"
        table.add_row(
            row["name"],
            row["platform"],
            f"[{colour}]{health}[/{colour}]",
            row["last_poll"] or "never",
            str(row["calls_per_hour"]),
            row["rate_limited_until"] or "-",
            _escape(row["detail"] or ""),
        )
    out.print(table)
    counts = Table(title="Work")
    counts.add_column("what")
    counts.add_column("count", justify="right")
    for key, value in report["counts"].items():
        counts.add_row(key.replace("_", " "), str(value))
    out.print(counts)
    sla_figures = report.get("sla")
    if sla_figures:
        out.print(
            f"SLA: {sla_figures['breaches']} breach(es), {sla_figures['warnings']} warning(s) open; "
            f"{sla_figures['running_clocks']} clock(s) running, {sla_figures['paused_clocks']} paused"
            + (f"; next due: {sla_figures['next_due']}" if sla_figures["next_due"] else "")
        )
    for alert in report["alerts"]:
        out.print(f"[red]alert:[/red] {_escape(alert)}")


main.add_command(simulate)


main.add_command(train)
main.add_command(evaluate)


# --- Service levels: agents and shifts, reports, the evaluation form --------------------------------------------


@main.group("agent")
def agent_group() -> None:
    """Agents: who is on shift, their capacity and load (cases move when someone goes off shift)."""


@agent_group.command("list")
@click.pass_obj
@handle_errors
def agent_list(obj: Context) -> None:
    """Agents with their shift, capacity and open cases."""

    service = obj.ready_service()
    now = service.clock.now()
    with transaction(service.factory) as session:
        team = assignment.agents(session, service.config, now)
        table = Table(title=f"{sum(a.on_shift for a in team)} of {len(team)} agent(s) on shift")
        for column in ("agent", "role", "on shift", "open cases", "capacity", "shifts"):
            table.add_column(column)
        for agent in team:
            shifts = [
                f"{','.join(s.days)} {s.start}-{s.end} {s.timezone}"
                for s in service.config.assignment.shifts
                if s.agent == agent.user.username
            ]
            state = "yes" if agent.on_shift else ("marked off" if not agent.user.on_shift else "outside shift")
            table.add_row(
                _escape(agent.user.username),
                agent.user.role,
                state,
                str(agent.load),
                str(agent.user.capacity),
                _escape("; ".join(shifts) or "whenever marked on shift"),
            )
        out.print(table)


def _shift_command(on_shift: bool):
    @click.argument("username")
    @actor_option
    @click.pass_obj
    @handle_errors
    def command(obj: Context, username: str, actor: str | None) -> None:

        service = obj.ready_service()
        now = service.clock.now()
        with transaction(service.factory) as session:
            user = assignment.set_on_shift(session, username, on_shift)
            audit.record(session, now, actor_name(actor), "shift_on" if on_shift else "shift_off", "user", user.id)
        moved = assignment.run(service)
        out.print(f"{username} is {'on' if on_shift else 'off'} shift; {moved} case(s) moved")

    return command


agent_group.command("on", help="Mark an agent on shift (they take cases again).")(_shift_command(True))
agent_group.command("off", help="Mark an agent off shift; their open cases move to agents on shift.")(
    _shift_command(False)
)


@agent_group.command("capacity")
@click.argument("username")
@click.argument("capacity", type=click.IntRange(0, 10000))
@actor_option
@click.pass_obj
@handle_errors
def agent_capacity(obj: Context, username: str, capacity: int, actor: str | None) -> None:
    """Set how many open cases an agent takes at most; extra cases move to others."""

    service = obj.ready_service()
    with transaction(service.factory) as session:
        user = assignment.set_capacity(session, username, capacity)
        audit.record(
            session, service.clock.now(), actor_name(actor), "set_capacity", "user", user.id, capacity=capacity
        )
    moved = assignment.run(service)
    out.print(f"{username} takes at most {capacity} open case(s); {moved} case(s) moved")


@main.command()
@click.option(
    "--since", default="7d", show_default=True, help="Start of the period: a span (30m, 12h, 7d, 2w) or a date."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for tools.",
)
@click.option(
    "--topics", default=10, show_default=True, type=click.IntRange(0, 100), help="How many top topics to list."
)
@click.pass_obj
@handle_errors
def report(obj: Context, since: str, fmt: str, topics: int) -> None:
    """Service levels over a period: detection, platforms, response times, SLA, promises kept, top topics."""

    service = obj.ready_service()
    now = service.clock.now()
    start = reports.parse_since(since, now)
    with transaction(service.factory) as session:
        figures = reports.build(session, service.config, start, now, topics=topics)
        figures["incidents"] = incident_summary.report_section(session, start, now)
    if fmt == "json":
        click.echo(json.dumps(figures, ensure_ascii=False, indent=1))
    else:
        reports.render_text(figures, out)
        incident_summary.render_report(figures["incidents"], out)


@main.command()
@click.argument("case_id", type=int)
@click.argument("text")
@click.option("--as", "actor", required=True, help="The console user who writes the note.")
@click.pass_obj
@handle_errors
def note(obj: Context, case_id: int, text: str, actor: str) -> None:
    """Leave an internal note on a case (never sent); @name puts it in that user's inbox in the console."""
    service = obj.ready_service()
    with transaction(service.factory) as session:
        author = users.get_user(session, actor)
        if author is None or not author.active:
            raise UserError(f"there is no active console user named {actor!r}")
        written = notes.add_note(session, cases.get_case(session, case_id), author, text, service.clock.now())
        mentioned = [m.user.username for m in written.mentioned]
    out.print(
        f"note {written.id} added to case {case_id}"
        + (f"; in the inbox of {', '.join(mentioned)}" if mentioned else "")
    )


@main.command("no-reply")
@click.argument("case_id", type=int)
@click.option("--reason", required=True, help="Why the customer's latest messages get no answer (audited).")
@actor_option
@click.pass_obj
@handle_errors
def no_reply(obj: Context, case_id: int, reason: str, actor: str | None) -> None:
    """Record a decision not to answer a case's latest messages, so none is left without an answer or a decision."""

    service = obj.ready_service()
    with transaction(service.factory) as session:
        followups.decide_no_reply(session, case_id, actor_name(actor), reason, service.clock.now())
    out.print(f"case {case_id}: decided not to answer ({_escape(reason)})")


@main.command()
@click.argument("draft_id", type=int, required=False)
@click.argument("scores", nargs=-1, metavar="[CRITERION=N]...")
@click.option("--comment", default=None, help="A note for the agent, kept with the scores.")
@click.option("--json", "as_json", is_flag=True, help="Print the summaries as JSON.")
@actor_option
@click.pass_obj
@handle_errors
def score(
    obj: Context, draft_id: int | None, scores: tuple[str, ...], comment: str | None, as_json: bool, actor: str | None
) -> None:
    """Score a sent reply against the rubric (score 12 empathy=4 brevity=5 …); without arguments, the summaries."""

    service = obj.ready_service()
    config = service.config
    with transaction(service.factory) as session:
        if draft_id is not None:
            row = evaluation.score(
                session,
                config,
                draft_id,
                actor_name(actor),
                evaluation.parse_scores(list(scores)),
                service.clock.now(),
                comment,
            )
            out.print(f"draft {draft_id} scored {row.total:.1f} / 100 by {_escape(row.scorer)}")
            return
        agents, templates = evaluation.by_agent(session, config), evaluation.by_template(session, config)
        waiting = len(evaluation.unscored(session, limit=10000))
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "rubric": evaluation.rubric(config),
                        "by_agent": agents,
                        "by_template": templates,
                        "unscored": waiting,
                    },
                    ensure_ascii=False,
                    indent=1,
                )
            )
            return
        form = Table(title=f"The rubric (each criterion 1-{config.evaluation.scale_max})")
        for column in ("criterion", "weight", "question"):
            form.add_column(column)
        for criterion in evaluation.rubric(config):
            form.add_row(criterion["name"], f"{criterion['weight']:g}", _escape(criterion["question"]))
        out.print(form)
        for title, key, rows in (("Scores per agent", "agent", agents), ("Scores per template", "template", templates)):
            table = Table(title=title)
            for column in (key, "replies", "mean /100", *[c.name for c in config.evaluation.rubric]):
                table.add_column(column, justify="left" if column == key else "right")
            for figures in rows:
                table.add_row(
                    _escape(figures[key]),
                    str(figures["replies"]),
                    f"{figures['mean_total']:.1f}",
                    *[f"{figures['criteria'][c.name]:.1f}" for c in config.evaluation.rubric],
                )
            out.print(table)
        out.print(f"{waiting} sent repl(y/ies) not scored yet")


# --- end of service-level commands
