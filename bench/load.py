"""Load benchmark: mentions through the X simulator and the whole pipeline on PostgreSQL, with one and two daemons.

    export BOT_TEST_DATABASE_URL="$(.ci/postgres.sh)"
    .venv/bin/python bench/load.py --mentions 1000000 --live 10000 --daemons 1 2

For each daemon count: a fresh database, an X simulator where `--authors` customers keep writing posts that mention
the brand (a couple of thousand ahead of what is stored), and that many real daemons (`python -m bot run`) draining
it: poll, store, triage, case, draft, auto-approve the replies the config lets through, send them to the simulator.
A person approves the rest, so those drafts stay in the queue, as on a busy day.

With `--live` smaller than `--mentions` a run has two live phases. The first drains `--live` mentions on an empty
database. Then the rows the daemons wrote (customers, cases, mentions, triage, drafts, outbox, audit) are copied,
with their keys shifted, until the database holds `--mentions` less `--live` mentions, and the daemons are started
again to drain `--live` more at that size. Taking a million mentions through the pipeline live would take hours on
a small machine; the copy takes minutes and gives the second phase, the console query and the database size the
real volume. Printed per phase: mentions per second (first mention stored to last one processed and its replies
sent); per run: replies sent, drafts waiting, the database size, the p95 of the console's queue query (first page,
the default filters) and each daemon's peak RSS.

The simulator is indexed for the load (mentions found by id range, no duplicate-content scan); everything else is
the code that runs in production.
"""

from __future__ import annotations

import argparse
import bisect
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.console.queries import QueueFilters, queue  # noqa: E402
from bot.simulators import X_ENV, XSimulator, x_account  # noqa: E402
from bot.simulators.base import Reply, Request  # noqa: E402
from bot.storage.db import make_engine, session_factory, upgrade  # noqa: E402
from bot.storage.models import Base, Draft, Mention, OutboxMessage  # noqa: E402

TEXTS = [
    "@acme my order {n} never arrived and nobody answers, really disappointed",
    "@acme how do I export my invoices to CSV? (team {n})",
    "@acme the app crashes every time I open it since update {n}",
    "@acme thanks, version {n} is much faster!",
    "@acme ¿cómo cambio la dirección de envío del pedido {n}?",
    "@acme where can I download my receipt for order {n}?",
    "@acme is there an outage? nothing loads in region {n}",
]
AHEAD = 2000  # posts written ahead of what the daemons have stored: they always have work waiting


class IndexedXSimulator(XSimulator):
    """The X simulator with the brand's mentions kept in id order, so a million of them page as fast as ten."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.mention_ids: list[int] = []
        self.limits = {bucket: 10**9 for bucket in self.limits}

    def customers(self, authors: int) -> None:
        """Create the customers who will write."""
        self.author_ids = [
            self.add_user(f"customer{n}", f"Customer {n}", followers=20 + n % 5000) for n in range(authors)
        ]
        self.written = 0

    def write(self, count: int) -> None:
        """count more customers' posts mentioning the brand, as they would arrive live."""
        brand = self.users[self.brand_user_id]["username"]
        mention = {"username": brand, "id": self.brand_user_id, "start": 0, "end": len(brand) + 1}
        created = self.clock().strftime("%Y-%m-%dT%H:%M:%S.000Z")
        with self.lock:
            for n in range(self.written, self.written + count):
                tweet_id = self.next_id()
                self.tweets[tweet_id] = {
                    "id": tweet_id,
                    "text": TEXTS[n % len(TEXTS)].format(n=n),
                    "conversation_id": tweet_id,
                    "author_id": self.author_ids[n % len(self.author_ids)],
                    "created_at": created,
                    "lang": "en",
                    "edit_history_tweet_ids": [tweet_id],
                    "entities": {"mentions": [mention]},
                    "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 0, "quote_count": 0},
                }
                self.mention_ids.append(int(tweet_id))
            self.written += count

    def _mentions(self, request: Request, user_id: str) -> Reply:
        query = request.query
        low = int(query.get("since_id") or 0)
        high = int(query.get("until_id") or 10**30)
        token = query.get("pagination_token") or query.get("next_token")
        if token:
            import base64

            high = min(high, int(base64.urlsafe_b64decode(token.encode()).decode()))
        size = max(1, min(100, int(query.get("max_results", 10))))
        with self.lock:
            left = bisect.bisect_right(self.mention_ids, low)
            right = bisect.bisect_left(self.mention_ids, high)
            newest = self.mention_ids[max(left, right - size - 1) : right]
            items = [self.tweets[str(i)] for i in newest]
        return self._page(items, request)

    def _post_tweet(self, request: Request) -> Reply:
        body = request.body if isinstance(request.body, dict) else {}
        text_ = body.get("text") or ""
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        with self.lock:  # no duplicate-content scan: thousands of customers get the same kind of answer
            tweet_id = self.next_id()
            self.tweets[tweet_id] = {
                "id": tweet_id,
                "text": text_,
                "author_id": self.brand_user_id,
                "conversation_id": self.tweets[reply_to]["conversation_id"] if reply_to else tweet_id,
                "created_at": "2026-01-01T00:00:00.000Z",
                "edit_history_tweet_ids": [tweet_id],
            }
            self.posted.append({"kind": "tweet", "id": tweet_id, "text": text_, "in_reply_to_tweet_id": reply_to})
        return Reply(201, {"data": {"id": tweet_id, "text": text_, "edit_history_tweet_ids": [tweet_id]}})


def server_url(arguments: argparse.Namespace) -> str:
    url = arguments.database_url or os.environ.get("BOT_TEST_DATABASE_URL")
    if not url:
        url = subprocess.run(
            [str(ROOT / ".ci" / "postgres.sh")], check=True, capture_output=True, text=True
        ).stdout.strip()
    if make_url(url).get_backend_name() != "postgresql":
        sys.exit("bench/load.py measures PostgreSQL: give --database-url postgresql+psycopg://…")
    return url


def create_database(url: str) -> str:
    name = f"load_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def drop_database(server: str, url: str) -> None:
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def write_config(path: Path, url: str, sim: XSimulator, data_dir: Path) -> None:
    account = x_account(sim, poll_interval_seconds=1, listen=["mentions"]).model_dump(
        exclude_none=True, exclude_defaults=True
    )
    account.update({"name": "acme-x", "platform": "x", "user_id": sim.brand_user_id})
    config = {
        "data_dir": str(data_dir),
        "storage": {"url": url, "url_env": None},
        "accounts": [account],
        # simple questions and praise go out on their own; complaints and private matters wait for a person
        "approval": {"auto_approve": [{"kind": "reply", "min_confidence": 0.0, "levels": ["self_service", "monitor"]}]},
        "daemon": {"jitter_seconds": 0, "outbox_interval_seconds": 1, "lease_seconds": 10},
        "outbox": {"batch_size": 200},
        "console": {"enabled": False},
        "logging": {"level": "WARNING"},
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def queue_p95(factory, runs: int) -> float:
    """p95 in ms of the console's queue query (first page, pending drafts, default order)."""
    timings = []
    for _ in range(runs):
        with factory() as session:
            started = time.perf_counter()
            queue(session, QueueFilters(), page=1, size=50)
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return timings[min(len(timings) - 1, int(round(0.95 * (len(timings) - 1))))]


# Columns made unique again in each copy: keys the database or the platform holds once.
RENAMED = {
    ("mentions", "platform_id"),
    ("mentions", "thread_key"),
    ("identities", "platform_user_id"),
    ("cases", "thread_key"),
    ("outbox", "idempotency_key"),
    ("outbox", "target_id"),
}
COPIED = [
    "customers",
    "identities",
    "cases",
    "case_events",
    "mentions",
    "triage_results",
    "drafts",
    "outbox",
    "eta_promises",
    "sla_alerts",
    "audit_log",
]


def replicate(url: str, target: int) -> int:
    """Copy what the pipeline wrote (customers to audit log, keys shifted) until the database holds target mentions.

    A million mentions at a hundred or so a second is hours on a small machine; this brings the database to that
    size in minutes with rows exactly like the ones the daemons wrote, so the second live phase runs at full size.
    """
    engine = create_engine(url)
    with engine.begin() as connection:
        base = {name: connection.scalar(text(f"SELECT coalesce(max(id), 0) FROM {name}")) for name in COPIED}
        have = connection.scalar(text("SELECT count(*) FROM mentions"))
    if not have:
        return 0
    tables = {table.name: table for table in Base.metadata.sorted_tables}
    copies = 0
    started = time.monotonic()
    while have * (copies + 1) < target:
        copies += 1
        with engine.begin() as connection:
            for name in COPIED:
                table = tables[name]
                columns, values = [], []
                for column in table.columns:
                    columns.append(column.name)
                    targets = [fk.column.table.name for fk in column.foreign_keys if fk.column.table.name in base]
                    if column.primary_key:
                        values.append(f"{column.name} + {copies * base[name]}")
                    elif targets:
                        values.append(f"{column.name} + {copies * base[targets[0]]}")
                    elif (name, column.name) in RENAMED:
                        values.append(f"{column.name} || '-copy{copies}'")
                    elif name == "audit_log" and column.name == "object_id":
                        values.append(
                            f"object_id + CASE object_type WHEN 'draft' THEN {copies * base['drafts']} "
                            f"WHEN 'case' THEN {copies * base['cases']} ELSE 0 END"
                        )
                    else:
                        values.append(column.name)
                connection.execute(
                    text(
                        f"INSERT INTO {name} ({', '.join(columns)}) SELECT {', '.join(values)} "
                        f"FROM {name} WHERE id <= {base[name]}"
                    )
                )
        print(
            f"  copied the pipeline's rows {copies} time(s): {have * (copies + 1)} mentions "
            f"({time.monotonic() - started:.0f} s)",
            file=sys.stderr,
        )
    with engine.begin() as connection:
        for name in COPIED:
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT coalesce(max(id), 1) FROM {name}))"
                )
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return have * copies


class Daemons:
    """Real daemons (`python -m bot run`) on one config, with their peak RSS watched."""

    def __init__(self, count: int, config: Path, workdir: Path, label: str):
        env = {**os.environ, **X_ENV, "PYTHONUNBUFFERED": "1"}
        env.pop("BOT_DATABASE_URL", None)
        self.workdir = workdir
        self.processes = [
            subprocess.Popen(
                [sys.executable, "-m", "bot", "--config", str(config), "run"],
                cwd=ROOT,
                env=env,
                stdout=(workdir / f"daemon-{label}-{n}.log").open("w"),
                stderr=subprocess.STDOUT,
            )
            for n in range(count)
        ]
        self.peaks = [0.0] * count

    def watch(self) -> None:
        """Note each daemon's peak RSS; a daemon that died ends the run."""
        for n, process in enumerate(self.processes):
            if process.poll() is not None:
                raise RuntimeError(f"daemon {n} exited with {process.returncode}; see {self.workdir}")
            self.peaks[n] = max(self.peaks[n], peak_rss_mib(process.pid))

    def stop(self) -> None:
        """SIGTERM, as systemd stops them; SIGKILL after a minute."""
        for n, process in enumerate(self.processes):
            if process.poll() is None:
                self.peaks[n] = max(self.peaks[n], peak_rss_mib(process.pid))
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()


def drive(factory, sim: IndexedXSimulator, daemons: Daemons, count: int, timeout: float, label: str) -> dict[str, Any]:
    """Customers write count more mentions; returns how fast the daemons took them through the whole pipeline."""
    with factory() as session:  # this phase's mentions are those with a higher id: counted on the primary key
        before = session.scalar(select(func.coalesce(func.max(Mention.id), 0)))
    goal = sim.written + count
    first_stored = last_done = None
    done = 0
    shown = time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(1.0)
        daemons.watch()
        with factory() as session:
            stored = session.scalar(select(func.count(Mention.id)).where(Mention.id > before))
            if not sim.written:  # the listener's first poll starts from the newest post: begin with one
                sim.write(1)
            elif sim.written < goal and sim.written - (stored + goal - count) < AHEAD:  # customers keep writing
                sim.write(min(AHEAD, goal - sim.written))
            done = session.scalar(select(func.count(Mention.id)).where(Mention.id > before, Mention.status != "new"))
            sending = session.scalar(
                select(func.count(OutboxMessage.id)).where(OutboxMessage.status.in_(("queued", "sending", "unknown")))
            )
        now = time.monotonic()
        if stored and first_stored is None:
            first_stored = now
        if done >= count and not sending:
            last_done = now
            break
        if now - shown > 15:
            shown = now
            print(f"  {label}: {stored} stored, {done} processed", file=sys.stderr)
    elapsed = (last_done or time.monotonic()) - (first_stored or time.monotonic())
    return {
        "processed": done,
        "seconds": elapsed,
        "per_second": done / elapsed if elapsed > 0 else float("nan"),
        "complete": last_done is not None,
    }


def run_once(
    server: str, daemons: int, mentions: int, live: int, authors: int, workdir: Path, timeout: float, queue_runs: int
) -> dict[str, Any]:
    url = create_database(server)
    engine = make_engine(url)
    upgrade(engine)
    factory = session_factory(engine)
    sim = IndexedXSimulator()
    sim.customers(authors)
    sim.start()
    config = workdir / f"config-{daemons}.yaml"
    write_config(config, url, sim, workdir / "data")
    phases = []
    peaks = [0.0] * daemons
    try:
        for phase in ("empty", "full") if mentions > live else ("empty",):
            if phase == "full":
                copied = replicate(url, mentions - live)
                print(
                    f"  {daemons} daemon(s): database brought to {copied + live} mentions by copying", file=sys.stderr
                )
            running = Daemons(daemons, config, workdir, f"{daemons}-{phase}")
            try:
                with factory() as session:
                    before = session.scalar(select(func.count(Mention.id)))
                result = drive(
                    factory,
                    sim,
                    running,
                    live if mentions > live else mentions,
                    timeout,
                    f"{daemons} daemon(s), {phase} database",
                )
                result["database_mentions"] = before
            finally:
                running.stop()
            peaks = [max(a, b) for a, b in zip(peaks, running.peaks, strict=False)]
            phases.append(result)
    finally:
        sim.stop()
    with factory() as session:
        size = session.scalar(text("SELECT pg_database_size(current_database())"))
        total = session.scalar(select(func.count(Mention.id)))
        pending = session.scalar(select(func.count(Draft.id)).where(Draft.status == "pending"))
        sent = session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.status == "sent"))
        session.execute(text("ANALYZE"))
    p95 = queue_p95(factory, queue_runs)
    engine.dispose()
    return {
        "daemons": daemons,
        "phases": phases,
        "mentions": total,
        "sent": sent,
        "posted": len(sim.posted),
        "duplicates": len(sim.posted) - len({post["in_reply_to_tweet_id"] for post in sim.posted}),
        "pending_drafts": pending,
        "db_mib": size / 2**20,
        "queue_p95_ms": p95,
        "peak_rss_mib": peaks,
        "url": url,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--mentions", type=int, default=10000, help="Mentions in the database at the end (default 10000)."
    )
    parser.add_argument(
        "--live",
        type=int,
        default=None,
        help="Mentions written live per phase when --mentions is larger: a first phase on an empty "
        "database, then the rows are copied up to --mentions and a second phase runs at that "
        "size (default: all of them live, in one phase).",
    )
    parser.add_argument("--daemons", type=int, nargs="+", default=[1, 2], help="Daemon counts to run (default: 1 2).")
    parser.add_argument("--authors", type=int, default=2000, help="Distinct customers writing (default 2000).")
    parser.add_argument(
        "--database-url",
        default=None,
        help="A PostgreSQL server URL (a database is created per run); "
        "default BOT_TEST_DATABASE_URL, else .ci/postgres.sh.",
    )
    parser.add_argument("--timeout", type=float, default=3600, help="Give up a phase after this many seconds.")
    parser.add_argument("--queue-runs", type=int, default=50, help="Queue queries timed for the p95 (default 50).")
    parser.add_argument("--keep", action="store_true", help="Keep the databases (their URLs are printed).")
    arguments = parser.parse_args()
    live = arguments.live or arguments.mentions
    if live <= 0 or arguments.mentions <= 0:
        parser.error("--mentions and --live must be positive")
    server = server_url(arguments)
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"mention-desk-load-{os.getpid()}"
    workdir.mkdir(parents=True, exist_ok=True)
    print(
        f"load: {arguments.mentions} mentions ({min(live, arguments.mentions)} live per phase) from "
        f"{arguments.authors} customers, X simulator, PostgreSQL; logs in {workdir}"
    )
    for daemons in arguments.daemons:
        result = run_once(
            server,
            daemons,
            arguments.mentions,
            live,
            arguments.authors,
            workdir,
            arguments.timeout,
            arguments.queue_runs,
        )
        if not arguments.keep:
            drop_database(server, result["url"])
        for phase in result["phases"]:
            status = "" if phase["complete"] else f" (INCOMPLETE after {arguments.timeout:.0f} s)"
            print(
                f"{daemons} daemon(s), database holding {phase['database_mentions']} mentions: "
                f"{phase['processed']} mentions in {phase['seconds']:.1f} s = {phase['per_second']:.1f} mentions/s"
                f"{status}"
            )
        print(
            f"{daemons} daemon(s) at the end: {result['mentions']} mentions; {result['sent']} replies sent "
            f"({result['posted']} posts on the simulator, {result['duplicates']} of them a second reply to one post), "
            f"{result['pending_drafts']} drafts waiting; "
            f"database {result['db_mib']:.1f} MiB; queue query p95 {result['queue_p95_ms']:.1f} ms; peak RSS "
            + ", ".join(f"{peak:.0f} MiB" for peak in result["peak_rss_mib"])
            + (f"; kept {result['url']}" if arguments.keep else "")
        )


if __name__ == "__main__":
    main()
