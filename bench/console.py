"""Console benchmark: fill a database with 100,000 mentions and print how long the queue and KPI pages take to render.

    .venv/bin/python bench/console.py [--mentions 100000] [--database-url URL] [--runs 7]

The data is written straight into the tables (the classifier is not what is measured here): 90 days of mentions on
X and Facebook, their triage, cases with first responses and resolutions, a few thousand pending drafts and the
rest decided. Pages are requested through the real app (FastAPI TestClient, logged in), so the figures include
routing, the queries, template rendering and the session check. The target is under 300 ms per page.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from bot.clock import FrozenClock  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.console import create_app  # noqa: E402
from bot.runtime.service import Service  # noqa: E402
from bot.service_levels import kpis  # noqa: E402
from bot.storage import users
from bot.storage.db import transaction  # noqa: E402
from bot.storage.models import Account, Case, Customer, Draft, Identity, Mention, OutboxMessage, TriageResult  # noqa: E402

NOW = datetime(2026, 3, 31, 12, 0)
DAYS = 90
TARGET_MS = 300
WORDS = (
    "router internet fibra outage invoice refund app crash delivery order package signal wifi speed plan "
    "upgrade contract tienda pedido factura móvil roaming password account esim billing"
).split()
CATEGORIES = ("complaint", "question", "request", "praise", "suggestion", "other")
LEVELS = ("monitor", "self_service", "investigate", "private")
SENTIMENTS = ("negative", "neutral", "positive")
PASSWORD = "benchmark password"


def fill(service: Service, mentions: int, pending: int, seed: int = 7) -> None:
    """Write `mentions` mentions with triage, cases and drafts, `pending` of the drafts waiting."""
    rng = random.Random(seed)
    start = NOW - timedelta(days=DAYS)
    customers = max(1, mentions // 3)
    with transaction(service.factory) as session:
        account_id = session.scalar(
            insert(Account).returning(Account.id),
            [
                {
                    "name": "bench",
                    "platform": "x",
                    "handle": "@acme",
                    "credentials_env": {},
                    "cursor": {},
                    "health": "ok",
                    "consecutive_failures": 0,
                    "consecutive_auth_failures": 0,
                    "api_calls": 0,
                    "created_at": start,
                }
            ],
        )
        session.execute(insert(Customer), [{"id": i, "created_at": start} for i in range(1, customers + 1)])
        session.execute(
            insert(Identity),
            [
                {
                    "id": i,
                    "customer_id": i,
                    "platform": "x" if i % 3 else "facebook",
                    "platform_user_id": f"u{i}",
                    "handle": f"@user{i}",
                    "name": f"User {i}",
                    "followers": rng.randint(0, 50000),
                }
                for i in range(1, customers + 1)
            ],
        )
        case_rows, mention_rows, triage_rows, draft_rows, outbox_rows = [], [], [], [], []
        case_id = draft_id = 0
        mention_id = 0
        pending_left = pending
        while mention_id < mentions:
            case_id += 1
            customer = rng.randint(1, customers)
            platform = "x" if customer % 3 else "facebook"
            opened = start + timedelta(seconds=rng.uniform(0, DAYS * 86400))
            level, category = rng.choice(LEVELS), rng.choice(CATEGORIES)
            answered = opened + timedelta(minutes=rng.expovariate(1 / 40)) if level != "monitor" else None
            resolved = answered + timedelta(hours=rng.expovariate(1 / 10)) if answered and rng.random() < 0.7 else None
            waiting = pending_left > 0 and level != "monitor" and opened > NOW - timedelta(days=3)
            if waiting:
                answered = resolved = None
            state = (
                "awaiting_approval"
                if waiting
                else "monitoring"
                if level == "monitor"
                else ("closed_public" if rng.random() < 0.8 else "resolved")
                if resolved
                else "answered_public"
            )
            case_rows.append(
                {
                    "id": case_id,
                    "account_id": account_id,
                    "customer_id": customer,
                    "platform": platform,
                    "thread_key": f"t{case_id}",
                    "state": state,
                    "level": level,
                    "category": category,
                    "language": "en",
                    "priority": rng.random(),
                    "opened_at": opened,
                    "updated_at": opened,
                    "first_response_due_at": opened + timedelta(minutes=30),
                    "first_response_breach_at": opened + timedelta(hours=24),
                    "first_response_at": answered,
                    "resolution_due_at": opened + timedelta(hours=24),
                    "resolved_at": resolved,
                    "closed_at": resolved if state == "closed_public" else None,
                    "paused_seconds": 0.0,
                    "reopen_count": 0,
                }
            )
            for n in range(rng.choice((1, 1, 1, 2, 3))):
                if mention_id >= mentions:
                    break
                mention_id += 1
                created = opened + timedelta(minutes=20 * n)
                text = f"@acme my {rng.choice(WORDS)} and {rng.choice(WORDS)} issue #{mention_id}"
                mention_rows.append(
                    {
                        "id": mention_id,
                        "account_id": account_id,
                        "platform": platform,
                        "platform_id": f"m{mention_id}",
                        "thread_key": f"t{case_id}",
                        "channel": "public",
                        "identity_id": customer,
                        "text": text,
                        "addressed_to_brand": True,
                        "created_at": created,
                        "fetched_at": created,
                        "raw": {},
                        "status": "drafted",
                        "case_id": case_id,
                    }
                )
                triage_rows.append(
                    {
                        "mention_id": mention_id,
                        "language": "en",
                        "category": category,
                        "sentiment": rng.choice(SENTIMENTS),
                        "needs_response": level != "monitor",
                        "mode": "reactive",
                        "level": level,
                        "priority": rng.random(),
                        "confidence": rng.uniform(0.4, 1.0),
                        "confidences": {},
                        "low_confidence": False,
                        "reasons": ["model: category", "rule: addressed to the brand"],
                        "labels": {},
                        "model": "bench",
                        "created_at": created,
                    }
                )
            if level == "monitor":
                continue
            draft_id += 1
            status = "pending" if waiting else "sent"
            pending_left -= waiting
            draft_rows.append(
                {
                    "id": draft_id,
                    "case_id": case_id,
                    "mention_id": mention_id,
                    "kind": "acknowledgement",
                    "channel": "public",
                    "language": "en",
                    "template": "acknowledgement.j2",
                    "text": "Sorry about this! We're on it and will update you within 30 minutes.",
                    "original_text": "Sorry about this! We're on it and will update you within 30 minutes.",
                    "status": status,
                    "priority": rng.random(),
                    "checks": [{"name": "length", "ok": True, "message": "ok"}],
                    "policy": {},
                    "low_confidence": False,
                    "auto_approved": False,
                    "created_at": opened,
                    "decided_by": None if waiting else "bench",
                    "decided_at": None if waiting else answered,
                }
            )
            if not waiting:
                outbox_rows.append(
                    {
                        "draft_id": draft_id,
                        "idempotency_key": f"draft-{draft_id}",
                        "account_id": account_id,
                        "action": "reply_public",
                        "target_id": f"m{mention_id}",
                        "text": "Sorry about this!",
                        "status": "sent",
                        "attempts": 1,
                        "next_attempt_at": answered,
                        "platform_post_id": f"p{draft_id}",
                        "created_at": answered,
                        "sent_at": answered,
                    }
                )
        for model, rows in (
            (Case, case_rows),
            (Mention, mention_rows),
            (TriageResult, triage_rows),
            (Draft, draft_rows),
            (OutboxMessage, outbox_rows),
        ):
            for chunk in range(0, len(rows), 5000):
                session.execute(insert(model), rows[chunk : chunk + 5000])
        users.create_user(session, "bench", PASSWORD, "admin", NOW, "bench")


def analyze(service: Service) -> None:
    """Give the planner statistics, as a live database's maintenance (autovacuum) would after a bulk load."""
    if service.engine.dialect.name == "postgresql":
        with service.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        with service.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")


def timed(client: TestClient, url: str, runs: int) -> tuple[float, float, float]:
    """Median and worst wall time, and median CPU time, of GET url in milliseconds (after one warm-up request).

    CPU time is what this process (the app and SQLite, which runs in-process) spent: on a busy machine the wall
    time also counts waiting for a core, the CPU time does not.
    """
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    wall, cpu = [], []
    for _ in range(runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        wall.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
        assert response.status_code == 200
    return statistics.median(wall), max(wall), statistics.median(cpu)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=100_000)
    parser.add_argument("--pending", type=int, default=2_000, help="drafts waiting for approval")
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: a new SQLite file in a temporary folder; a database that has mentions is reused",
    )
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-console-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    config = parse_config({"data_dir": str(folder), "storage": {"url": url, "url_env": None}})
    service = Service(config, clock=FrozenClock(NOW))
    service.upgrade()
    with transaction(service.factory) as session:
        present = session.scalar(select(func.count(Mention.id))) or 0
    if present:
        print(f"reusing {present:,} mentions already in {url}")
    else:
        began = time.perf_counter()
        fill(service, args.mentions, args.pending)
        print(f"filled {args.mentions:,} mentions in {time.perf_counter() - began:.1f} s ({url.split(':')[0]})")
        analyze(service)

    period = kpis.Period.last_days(NOW, config.console.kpi_days)
    began = time.perf_counter()
    with transaction(service.factory) as session:
        counted = kpis.refresh_volume(session, NOW)
    print(
        f"  volume rollup built once for {counted:,} triaged mentions in {time.perf_counter() - began:.2f} s "
        "(later views only add what is new)"
    )
    with transaction(service.factory) as session:
        for name, work in (
            ("volume_per_day", lambda: kpis.volume_per_day(session, period)),
            ("summary", lambda: kpis.summary(session, period, NOW)),
            ("top_topics", lambda: kpis.top_topics(session, period)),
        ):
            work()
            began = time.perf_counter()
            work()
            print(f"  kpis.{name:<16} {(time.perf_counter() - began) * 1000:7.1f} ms")

    app = create_app(service)
    worst = 0.0
    with TestClient(app, base_url="http://127.0.0.1") as client:
        form = client.get("/login").text
        csrf = form.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": csrf, "next": "/queue"})
        print(f"{'page':<40} {'median':>9} {'worst':>9} {'CPU':>9}   (target < {TARGET_MS} ms)")
        for label, page in (
            ("queue", "/queue"),
            ("queue, filtered", "/queue?platform=x&level=investigate"),
            ("queue, page 10", "/queue?page=10"),
            ("KPIs (30 days)", "/kpis"),
            ("KPIs (90 days)", "/kpis?days=90"),
            ("cases (open)", "/cases"),
            ("KPI CSV (volume)", "/kpis.csv"),
        ):
            median, slowest, cpu = timed(client, page, args.runs)
            if page in ("/queue", "/kpis"):
                worst = max(worst, median)
            flag = "" if median < TARGET_MS else "  <-- over target"
            print(f"{label + ' ' + page:<40} {median:7.1f} ms {slowest:7.1f} ms {cpu:7.1f} ms{flag}")
    service.engine.dispose()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    print(
        f"queue and KPI pages: {'within' if worst < TARGET_MS else 'OVER'} the {TARGET_MS} ms target "
        f"(load average {load:.1f} on {os.cpu_count()} cores while measuring)"
    )
    return 0 if worst < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
