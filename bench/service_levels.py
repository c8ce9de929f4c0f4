"""Service-level benchmark: how long the daemon's SLA, assignment and follow-up steps and the report take.

    .venv/bin/python bench/service_levels.py [--cases 5000] [--agents 40] [--business-hours] [--database-url URL]

Cases, their first mention, triage and an acknowledgement draft are written straight into the tables (the pipeline
is not what is measured), spread over the last two days, most of them still open. Each step runs on the real
functions the daemon calls; the figures are wall-clock milliseconds, the median of three runs.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.casework import followups
from bot.config import parse_config  # noqa: E402
from bot.service_levels import (
    assignment,  # noqa: E402
    eta,
    report,
    sla,
)
from bot.storage import db
from bot.storage.db import transaction  # noqa: E402
from bot.storage.models import Account, Case, Customer, Draft, Identity, Mention, TriageResult, User  # noqa: E402

NOW = datetime(2026, 1, 7, 15, 0)
STATES = [
    "new",
    "awaiting_approval",
    "answered_public",
    "moved_private",
    "waiting_on_customer",
    "resolved",
    "monitoring",
]


def fill(factory, config, cases: int, agents: int) -> None:
    rng = random.Random(7)
    with transaction(factory) as session:
        account = Account(
            name="bench",
            platform="x",
            credentials_env={},
            cursor={},
            health="ok",
            consecutive_failures=0,
            consecutive_auth_failures=0,
            api_calls=0,
            created_at=NOW,
        )
        session.add(account)
        team = [
            User(
                username=f"agent{n}",
                role="agent",
                capacity=rng.randint(20, 200),
                on_shift=rng.random() > 0.2,
                active=True,
                failed_logins=0,
                created_at=NOW,
            )
            for n in range(agents)
        ]
        session.add_all(team)
        session.flush()
        customers = [Customer(display_name=f"c{n}", created_at=NOW, owner_id=rng.choice(team).id) for n in range(cases)]
        identities = [
            Identity(customer=c, platform="x", platform_user_id=f"u{n}", handle=f"@u{n}")
            for n, c in enumerate(customers)
        ]
        session.add_all(customers + identities)
        session.flush()
        for number in range(cases):
            opened = NOW - timedelta(minutes=rng.randint(1, 2 * 24 * 60))
            customer, identity = customers[number], identities[number]
            level = rng.choice(["self_service", "investigate", "investigate", "private", "monitor"])
            state = rng.choice(STATES)
            case = Case(
                account_id=account.id,
                customer_id=customer.id,
                platform="x",
                thread_key=f"t{number}",
                state=state,
                level=level,
                category="complaint",
                language="en",
                priority=rng.random(),
                opened_at=opened,
                updated_at=opened,
                last_customer_message_at=opened,
                paused_seconds=0.0,
                reopen_count=0,
                owner_id=rng.choice(team).id if state != "monitoring" else None,
                waiting_since=opened + timedelta(minutes=30) if state == "waiting_on_customer" else None,
            )
            sla.start_clocks(case, opened, level, config.sla)
            if state in ("answered_public", "moved_private", "waiting_on_customer", "resolved"):
                case.first_response_at = opened + timedelta(minutes=rng.randint(5, 90))
            if state == "resolved":
                case.resolved_at = case.first_response_at + timedelta(hours=rng.randint(1, 20))
            mention = Mention(
                account_id=account.id,
                platform="x",
                platform_id=f"m{number}",
                thread_key=f"t{number}",
                channel="public",
                identity=identity,
                text="my internet has been down since this morning",
                addressed_to_brand=True,
                created_at=opened,
                fetched_at=opened,
                raw={},
                status="processed",
                case=case,
            )
            mention.triage = TriageResult(
                language="en",
                category="complaint",
                sentiment="negative",
                needs_response=level != "monitor",
                mode="reactive",
                level=level,
                priority=0.5,
                confidence=0.9,
                confidences={},
                low_confidence=False,
                reasons=[],
                labels={},
                model="bench",
                created_at=opened,
            )
            session.add_all([case, mention])
            if state != "monitoring":
                session.add(
                    Draft(
                        case=case,
                        mention=mention,
                        kind="acknowledgement",
                        channel="public",
                        language="en",
                        template="en/acknowledgement.j2",
                        text="…",
                        original_text="…",
                        status="pending" if state in ("new", "awaiting_approval") else "sent",
                        priority=0.5,
                        eta_minutes=30,
                        checks=[],
                        policy={},
                        low_confidence=False,
                        auto_approved=False,
                        created_at=opened,
                        decided_by=rng.choice(team).username,
                        decided_at=opened + timedelta(minutes=rng.randint(5, 90)),
                    )
                )
            if number % 1000 == 999:
                session.flush()


def timed(label: str, step, runs: int = 3) -> None:
    samples, results = [], []
    for _ in range(runs):
        started = time.perf_counter()
        results.append(step())
        samples.append((time.perf_counter() - started) * 1000)
    shown = (
        results[0]
        if results[0] == results[-1]
        else f"first run {results[0]} in {samples[0]:.0f} ms, then {results[-1]}"
    )
    print(f"{label:<40} {statistics.median(samples):8.1f} ms   ({shown})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--agents", type=int, default=40)
    parser.add_argument("--business-hours", action="store_true", help="Count SLA time in Madrid business hours.")
    parser.add_argument("--database-url", default=None, help="An empty database (default: a temporary SQLite file).")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    config = parse_config(
        {
            "storage": {"url": url, "url_env": None},
            "sla": {"business_hours": {"enabled": args.business_hours, "timezone": "Europe/Madrid"}},
        }
    )
    engine = db.make_engine(url)
    db.upgrade(engine)
    factory = db.session_factory(engine)
    started = time.perf_counter()
    fill(factory, config, args.cases, args.agents)
    print(
        f"{args.cases} cases, {args.agents} agents, business hours {'on' if args.business_hours else 'off'}: "
        f"filled in {time.perf_counter() - started:.1f} s"
    )

    def check():
        with transaction(factory) as session:
            return f"{len(sla.check(session, config, NOW))} new alert(s)"

    def countdowns():
        with transaction(factory) as session:
            return f"{len(sla.countdowns(session, config, NOW, limit=100000))} running clock(s)"

    def estimate():
        with transaction(factory) as session:
            case = session.get(Case, args.cases // 2)
            return f"{eta.estimate(session, config, case, NOW).minutes} min"

    def rebalance():
        with transaction(factory) as session:
            return f"{len(assignment.rebalance(session, config, NOW))} move(s)"

    def unanswered():
        with transaction(factory) as session:
            return f"{len(followups.unanswered(session, NOW, limit=100000))} unanswered"

    def build_report():
        with transaction(factory) as session:
            figures = report.build(session, config, NOW - timedelta(days=7), NOW)
            return f"{figures['cases_opened']} cases in the report"

    timed("sla.check", check)
    timed("sla.countdowns (console)", countdowns)
    timed("eta.estimate (one acknowledgement)", estimate)
    timed("assignment.rebalance", rebalance)
    timed("followups.unanswered", unanswered)
    timed("report.build --since 7d", build_report)
    engine.dispose()


if __name__ == "__main__":
    main()
