"""Early-warning benchmark: one detection run over a million stored mentions on PostgreSQL.

    .venv/bin/python bench/early_warning.py [--mentions 1000000] [--weeks 4] [--database-url URL] [--keep]

The mentions and their triage results are written with two INSERT … SELECT over generate_series (the classifier
is not what is measured): an everyday stream over the last `--weeks` weeks from a vocabulary of a few dozen
words, with negative mentions, outage and churn reports and spam in their usual shares. The rollup is then filled
once from scratch (what a first start on an old database does), and detection runs as the daemon runs it, a
minute apart, with the mentions of each minute written in between; the last run has a burst of outage complaints.
It prints the figures: the time to write the rows, to fill the rollup, and each run (median and worst).
Without --database-url it uses $BOT_TEST_DATABASE_URL (`export BOT_TEST_DATABASE_URL="$(bash .ci/postgres.sh)"`
starts a throwaway server), in a new database it drops afterwards.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.casework.drafting import TemplateRenderer  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.early_warning import buckets, incidents  # noqa: E402
from bot.storage import db  # noqa: E402
from bot.storage.db import transaction  # noqa: E402
from bot.storage.models import Incident, MentionBucket  # noqa: E402

NOW = datetime(2026, 3, 30, 15, 0)
WORDS = (
    "invoice delivery parcel router plan upgrade contract store website password login discount price coverage "
    "signal speed billing technician appointment order refund shipping tracking warranty battery screen charger "
    "voucher points membership roaming modem fibre installation support chat manager hours"
).split()

MENTIONS = """
INSERT INTO mentions (account_id, platform, platform_id, thread_key, channel, identity_id, text, addressed_to_brand,
                      created_at, fetched_at, raw, status)
SELECT :account, 'x', :prefix || g, :prefix || g, 'public', :identity,
       '@acme my ' || w[1 + floor(random() * :n)::int] || ' and the ' || w[1 + floor(random() * :n)::int]
       || ' ' || w[1 + floor(random() * :n)::int] || CASE WHEN :burst THEN ' internet down in riverside' ELSE '' END,
       true, ts, ts, '{}'::json, 'processed'
FROM (SELECT g, CAST(:start AS timestamp) + (g - 1) * CAST(:step AS interval) AS ts
      FROM generate_series(1, CAST(:count AS int)) AS g) AS s, (SELECT CAST(:words AS text[]) AS w) AS v
"""
TRIAGE = """
INSERT INTO triage_results (mention_id, language, category, sentiment, needs_response, mode, level, priority,
                            confidence, confidences, low_confidence, reasons, labels, model, created_at)
SELECT id, 'en',
       CASE WHEN r < 0.02 THEN 'other' WHEN r < 0.3 OR :burst THEN 'complaint' ELSE 'question' END,
       CASE WHEN r >= 0.02 AND (r < 0.3 OR :burst) THEN 'negative' ELSE 'neutral' END,
       r >= 0.02, 'reactive', CASE WHEN r < 0.02 THEN 'monitor' ELSE 'investigate' END, 0.3, 0.9, '{}'::json, false,
       CASE WHEN r < 0.02 THEN '["rule: spam pattern"]'::json ELSE '[]'::json END,
       CASE WHEN :burst OR (r >= 0.02 AND r < 0.03) THEN '{"outage": "yes", "churn_risk": "no"}'::json
            WHEN r >= 0.03 AND r < 0.04 THEN '{"outage": "no", "churn_risk": "yes"}'::json
            ELSE '{"outage": "no", "churn_risk": "no"}'::json END,
       'bench', created_at + interval '30 seconds'
FROM (SELECT id, created_at, random() AS r FROM mentions WHERE platform_id LIKE :prefix || '%') AS m
"""


def server_url(given: str | None) -> str:
    url = given or os.environ.get("BOT_TEST_DATABASE_URL", "")
    if not url or make_url(url).get_backend_name() != "postgresql":
        sys.exit(
            "bench/early_warning.py measures PostgreSQL: give --database-url postgresql+psycopg://… or set "
            'BOT_TEST_DATABASE_URL (export BOT_TEST_DATABASE_URL="$(bash .ci/postgres.sh)")'
        )
    return url


def create_database(url: str) -> str:
    name = f"early_warning_{uuid.uuid4().hex[:10]}"
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


def write(
    session, account: int, identity: int, prefix: str, start: datetime, count: int, step: timedelta, burst: bool = False
) -> None:
    params = {
        "account": account,
        "identity": identity,
        "prefix": prefix,
        "start": start,
        "count": count,
        "step": f"{step.total_seconds()} seconds",
        "words": WORDS,
        "n": len(WORDS),
        "burst": burst,
    }
    session.execute(text(MENTIONS), params)
    session.execute(text(TRIAGE), {"prefix": prefix, "burst": burst})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark's database")
    args = parser.parse_args()
    server = server_url(args.database_url)
    url = create_database(server)
    try:
        engine = db.make_engine(url)
        db.upgrade(engine)
        factory = db.session_factory(engine)
        config = parse_config({"storage": {"url": url, "url_env": None}, "accounts": []})
        renderer = TemplateRenderer()
        with transaction(factory) as session:
            account = session.execute(
                text(
                    "INSERT INTO accounts (name, platform, credentials_env, cursor, health, consecutive_failures, "
                    "consecutive_auth_failures, api_calls, created_at) VALUES ('bench', 'x', '{}', '{}', 'ok', 0, 0, 0, "
                    ":now) RETURNING id"
                ),
                {"now": NOW},
            ).scalar_one()
            customer = session.execute(
                text("INSERT INTO customers (created_at) VALUES (:now) RETURNING id"), {"now": NOW}
            ).scalar_one()
            identity = session.execute(
                text(
                    "INSERT INTO identities (customer_id, platform, platform_user_id, handle) "
                    "VALUES (:c, 'x', 'bench', '@bench') RETURNING id"
                ),
                {"c": customer},
            ).scalar_one()
        span = timedelta(weeks=args.weeks)
        step = span / args.mentions
        started = time.perf_counter()
        with transaction(factory) as session:
            write(session, account, identity, "h-", NOW - span, args.mentions, step)
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        written = time.perf_counter() - started
        print(f"wrote {args.mentions:,} mentions and triage results over {args.weeks} weeks in {written:.1f} s")

        started = time.perf_counter()
        with transaction(factory) as session:
            rolled = buckets.fill(session, config, NOW + timedelta(hours=1))
            rows = session.scalar(select(func.count()).select_from(MentionBucket))
        print(
            f"filled the rollup from scratch: {rolled:,} mentions into {rows:,} bucket rows "
            f"in {time.perf_counter() - started:.1f} s (once, on a first start)"
        )

        per_minute = max(1, round(args.mentions / span.total_seconds() * 60))
        timings = []
        now = NOW
        for run in range(args.runs):
            burst = run == args.runs - 1
            with transaction(factory) as session:
                write(
                    session,
                    account,
                    identity,
                    f"r{run}-",
                    now,
                    per_minute + (40 if burst else 0),
                    timedelta(seconds=60 / (per_minute + (40 if burst else 0))),
                    burst=burst,
                )
            now += timedelta(minutes=1)
            started = time.perf_counter()
            with transaction(factory) as session:
                outcome = incidents.detect(session, config, renderer, now)
            timings.append(time.perf_counter() - started)
            print(
                f"run {run + 1}: {timings[-1] * 1000:.0f} ms, {outcome.readings} readings, "
                f"{len(outcome.opened)} incident(s) opened" + (" (the burst)" if burst else "")
            )
        with transaction(factory) as session:
            opened = list(session.scalars(select(Incident)))
        print(
            f"detection over {args.mentions:,} stored mentions: median {statistics.median(timings) * 1000:.0f} ms, "
            f"worst {max(timings) * 1000:.0f} ms per run ({per_minute} new mentions a minute); "
            f"incidents: {[f'{i.metric} about {i.topic_name}' for i in opened]}"
        )
        engine.dispose()
    finally:
        if not args.keep:
            drop_database(server, url)


if __name__ == "__main__":
    main()
