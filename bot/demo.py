"""The demo: the bundled scenario on the simulated X and Facebook (or a replay file), triaged into SQLite."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.casework import macros
from bot.early_warning import job as early_warning
from bot.early_warning import summary as incident_summary
from bot.errors import UserError
from bot.platforms.registry import platform_named
from bot.service_levels import sla
from bot.storage.db import transaction
from bot.storage.models import Account, Case, Draft, Macro, Mention
from bot.storage.statuses import DraftStatus

LOOPBACK = ("127.0.0.1", "localhost", "::1")
# Saved replies the demo offers in the console's draft picker (name, language, text, actions).
DEMO_MACROS = (
    (
        "still-on-it",
        "en",
        "{% if customer.handle %}{{ customer.handle }} {% endif %}Sorry for the wait{% if customer.first_name %}, "
        "{{ customer.first_name }}{% endif %}. We're still on case {{ case.reference }} and will update you within "
        "{{ eta.text }}.",
        {"tags": ["follow-up"]},
    ),
    (
        "still-on-it",
        "es",
        "{% if customer.handle %}{{ customer.handle }} {% endif %}Sentimos la espera{% if customer.first_name %}, "
        "{{ customer.first_name }}{% endif %}. Seguimos con tu caso {{ case.reference }} y te escribimos en "
        "{{ eta.text }}.",
        {"tags": ["follow-up"]},
    ),
    (
        "all-sorted",
        "en",
        "{% if customer.handle %}{{ customer.handle }} {% endif %}Glad it's sorted! To sum up: case "
        "{{ case.reference }} is solved; write to us here if anything else comes up.",
        {"resolve": True},
    ),
    (
        "all-sorted",
        "es",
        "{% if customer.handle %}{{ customer.handle }} {% endif %}¡Nos alegra que esté resuelto! En resumen: el caso "
        "{{ case.reference }} queda solucionado; escríbenos aquí si surge algo más.",
        {"resolve": True},
    ),
)


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        return Path(parsed.database).resolve()
    return None


def _talks_to_a_real_platform(account) -> bool:
    """True for an account on a platform that posts, whose API is not a simulator on this machine."""
    if not platform_named(account.platform).posts:
        return False
    return urlparse(account.api_base_url or "").hostname not in LOOPBACK


def run_demo(obj, fresh: bool, console: Console, simulators=None) -> dict[str, int]:
    """Set up the database, take every demo mention through the pipeline, and print what to do next."""
    config = obj.config
    live = [a.name for a in config.accounts if a.enabled and _talks_to_a_real_platform(a)]
    if live:
        raise UserError(
            f"the demo uses bundled mentions; this config listens to real accounts ({', '.join(live)}). "
            "Run it with the default config.yaml."
        )
    if not any(a.enabled for a in config.accounts):
        raise UserError("the config has no enabled account for the demo to read (a replay file or the simulators)")
    Path(config.data_dir).mkdir(parents=True, exist_ok=True)
    database = _sqlite_file(config.database_url())
    if fresh and database is not None and database.exists():
        data_dir = Path(config.data_dir).resolve()
        if data_dir not in database.parents:
            raise UserError(f"--fresh only deletes a database inside the data folder ({data_dir}); use --keep")
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(database) + suffix).unlink(missing_ok=True)
    service = obj.service
    service.upgrade()
    service.sync_accounts()
    with console.status("fetching the demo scenario through the listeners…"):
        for _ in range(1000):
            stored = sum(service.poll_account(name).stored for name in service.pollers)
            if not stored:
                break
        service.pipeline.run()
    seed_saved_replies(service)
    with transaction(service.factory) as session:
        # The bundled mentions are hours old: most first-response clocks ran out before the demo started. Raise
        # their alerts now, quietly, and say so in one line; the daemon then logs only the alerts that come due.
        alerts = sla.check(session, config, service.clock.now(), log_each=False)
    early_warning.run(service)
    with transaction(service.factory) as session:
        incidents = incident_summary.open_now(session)
        counts = {
            "mentions": session.scalar(select(func.count(Mention.id))) or 0,
            "cases": session.scalar(select(func.count(Case.id))) or 0,
            "drafts": session.scalar(select(func.count(Draft.id)).where(Draft.status == DraftStatus.PENDING)) or 0,
            "accounts": session.scalar(select(func.count(Account.id))) or 0,
        }
        by_level = dict(session.execute(select(Case.level, func.count(Case.id)).group_by(Case.level)).all())
        top = session.scalars(
            select(Draft).where(Draft.status == DraftStatus.PENDING).order_by(Draft.priority.desc()).limit(1)
        ).first()
        top_id, top_case = (top.id, top.case_id) if top else (None, None)
    console.print(
        f"[bold green]Demo ready[/bold green]: {counts['mentions']} mentions → {counts['cases']} cases, "
        f"{counts['drafts']} drafts waiting for approval (database: {database or config.database_url()})"
    )
    table = Table(title="Cases by level of intervention")
    table.add_column("level")
    table.add_column("cases", justify="right")
    for level in ("private", "investigate", "self_service", "monitor"):
        table.add_row(level, str(by_level.get(level, 0)))
    console.print(table)
    if alerts:
        breaches = sum(a.kind != "warning" for a in alerts)
        console.print(
            f"SLA: {breaches} breach(es) and {len(alerts) - breaches} warning(s) on the bundled, hours-old mentions "
            "(details in the console's cases and `python -m bot status`)"
        )
    for incident in incidents:
        line = incident["line"][0].upper() + incident["line"][1:]
        console.print(
            f"[bold red]{escape(line)}[/bold red] · {incident['cases']} case(s) · "
            f"http://{config.console.host}:{config.console.port}/incidents/{incident['id']}"
        )
    if simulators is not None:
        console.print(
            f"The simulated X API is at {simulators.x.url} and the Graph API at {simulators.graph.url}: "
            "approved replies go through the real X and Facebook client code and land in their threads."
        )
    console.print("\n[bold]What to do next[/bold] (in another terminal, from this folder)")
    steps = [("queue", "drafts, highest priority first")]
    if top_id:
        steps += [
            (f"show {top_case}", "the case behind the top draft: thread, triage, reasons"),
            (f"approve {top_id}", "approve and send it"),
            (f'resolve {top_case} --summary "…"', "resolve: drafts the positive public close"),
        ]
    steps += [
        ('reject DRAFT --reason "…"', "or refuse a draft, saying why"),
        ("macros list", "saved replies: approve DRAFT --macro still-on-it"),
        ("status", "accounts and work at a glance"),
    ]
    width = max(len(command) for command, _ in steps)
    for command, what in steps:
        console.print(f"  .venv/bin/python -m bot {command:<{width}}  # {what}", markup=False, highlight=False)
    return counts


def seed_saved_replies(service) -> int:
    """The demo's saved replies in English and Spanish, those missing added; returns how many were added."""
    added = 0
    with transaction(service.factory) as session:
        for name, language, text, actions in DEMO_MACROS:
            if language not in service.config.brand.languages:
                continue
            if session.scalar(select(Macro.id).where(Macro.name == name, Macro.language == language)) is None:
                now = service.clock.now()
                macros.create(session, service.config, service.renderer, name, language, text, actions, "demo", now)
                added += 1
    return added
