"""kill -9 at random moments: every mention is handled and every approved reply posted exactly once.

Real daemons (`python -m bot run`) poll the X simulator and post to it; the simulator's record of what the brand
posted is the ground truth. On PostgreSQL two daemons share the work and one of them is killed over and over; on
SQLite one daemon is killed and restarted over and over. Some posts answer slowly, so kills also land between
"posted" and "recorded as posted": those must be reconciled with the platform, never posted again.
"""

from __future__ import annotations

import random
import time
from collections import Counter

import pytest
from sqlalchemy import select

from bot.simulators import XSimulator
from bot.storage.models import Mention, OutboxMessage, TriageResult
from tests.production.daemons import DaemonProcess, Desk, daemon_config, wait_for

TEXTS = [
    "@acme my order {n} never arrived and nobody answers, really disappointed",
    "@acme how do I export my invoices to CSV? (asking for team {n})",
    "@acme the app crashes every time I open it since update {n}",
    "@acme thanks, the new version {n} is much faster!",
    "@acme ¿cómo cambio la dirección de envío del pedido {n}?",
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """Shared by every daemon of this module: the classifier's trained seeds are cached there once."""
    return tmp_path_factory.mktemp("daemon-data")


@pytest.fixture
def sim():
    with XSimulator() as simulator:
        simulator.limits = {bucket: 100000 for bucket in simulator.limits}
        yield simulator


def say(sim: XSimulator, n: int) -> None:
    """A customer writes: mostly public mentions, every fifth a direct message."""
    author = f"customer{n}"
    sim.add_user(author, f"Customer {n}", followers=50 + n)
    if n % 5 == 4:
        sim.direct_message(author, f"Hi, I was charged twice for order {n}, can you check? ref {n}")
    else:
        sim.post(author, TEXTS[n % len(TEXTS)].format(n=n))


def chaos(sim, desk, daemons, *, mentions: int, kills: int, rng: random.Random) -> None:
    """Customers keep writing while daemons are killed with SIGKILL at random moments and restarted."""
    written = 0
    for _ in range(kills):
        for _ in range(rng.randint(1, 4)):
            if written < mentions:
                say(sim, written)
                written += 1
        time.sleep(rng.uniform(0.4, 2.5))
        desk.approve_pending()
        victim = rng.choice(daemons)
        victim.kill()
        victim.start()
    while written < mentions:
        say(sim, written)
        written += 1


def drained(desk, expected: int):
    def check() -> bool:
        counts = desk.counts()
        return (
            counts.get("mentions", 0) == expected
            and counts.get("mentions_processed", 0) == expected
            and counts["drafts_pending"] == 0
            and counts["outbox_open"] == 0
        )

    return check


def assert_exactly_once(sim: XSimulator, desk: Desk, expected_mentions: int) -> None:
    with desk.factory() as session:
        mentions = list(session.scalars(select(Mention)))
        triaged = Counter(session.scalars(select(TriageResult.mention_id)))
        outbox = list(session.scalars(select(OutboxMessage)))
    assert len(mentions) == expected_mentions
    assert {m.status for m in mentions} == {"processed"}
    assert len({(m.platform, m.platform_id) for m in mentions}) == expected_mentions
    assert all(triaged[m.id] == 1 for m in mentions)  # each mention triaged once

    sent = [m for m in outbox if m.status == "sent"]
    assert sent, "nothing was posted"
    assert not [m for m in outbox if m.status in ("failed", "queued", "sending", "unknown")], [
        (m.id, m.status, m.last_error) for m in outbox if m.status != "sent"
    ]
    records = sim.brand_posts() + sim.brand_messages()
    posted_ids = Counter(r["id"] for r in records)
    # the simulator's record: one post per sent message, nothing else, nothing twice
    assert len(records) == len(sent), (len(records), len(sent))
    assert sorted(posted_ids) == sorted(m.platform_post_id for m in sent)
    assert not [
        key
        for key, count in Counter(
            (r.get("in_reply_to_tweet_id") or r.get("recipient_id"), r["text"]) for r in records
        ).items()
        if count > 1
    ]


def run_crash_test(
    tmp_path, database_url, sim, data_dir, *, daemon_count: int, mentions: int, kills: int, seed: int
) -> tuple[list[DaemonProcess], Desk]:
    config = daemon_config(tmp_path / "config.yaml", database_url, sim, data_dir)
    desk = Desk(database_url, config)
    desk.upgrade()
    daemons = [DaemonProcess(config, tmp_path / f"daemon-{n}.log").start() for n in range(daemon_count)]
    try:
        say(sim, 0)
        assert wait_for(lambda: desk.counts().get("mentions_processed", 0) >= 1, 90), daemons[0].text()[-3000:]
        # a few posts answer slowly: kills land between "the platform has it" and "we recorded it"
        sim.inject("timeout", path="/2/tweets", method="POST", times=6, delay=1.5)
        sim.inject("timeout", path="/2/dm_conversations", method="POST", times=2, delay=1.5)
        chaos(sim, desk, daemons, mentions=mentions, kills=kills, rng=random.Random(seed))
        ok = wait_for(drained(desk, mentions + 1), 90, step=desk.approve_pending)
        assert ok, desk.explain(*daemons)
        for daemon in daemons:
            assert daemon.stop() == 0, daemon.text()[-2000:]
    finally:
        for daemon in daemons:
            daemon.kill()
    return daemons, desk


def test_two_daemons_on_postgresql_one_killed_at_random_moments(tmp_path, database_url, sim, data_dir):
    if not database_url.startswith("postgresql"):
        pytest.skip("several daemons need PostgreSQL: set BOT_TEST_DATABASE_URL (see .ci/postgres.sh)")
    daemons, desk = run_crash_test(tmp_path, database_url, sim, data_dir, daemon_count=2, mentions=30, kills=14, seed=7)
    try:
        assert_exactly_once(sim, desk, 31)
        assert sum(d.kills for d in daemons) == 14, [(d.exits, d.text()[-3000:]) for d in daemons if d.exits]
        logs = "".join(d.text() for d in daemons)
        assert "took the lease poll:acme-x" in logs
        print(
            f"\n{sum(d.kills for d in daemons)} kills; {logs.count('already posted as')} sends reconciled after a crash; "
            f"{logs.count('took the lease')} lease takeovers"
        )
    finally:
        desk.dispose()


def test_one_daemon_on_sqlite_restarted_over_and_over(tmp_path, database_url, sim, data_dir):
    if not database_url.startswith("sqlite"):
        pytest.skip("the embedded default's story: it runs in the SQLite pass of the suite")
    daemons, desk = run_crash_test(tmp_path, database_url, sim, data_dir, daemon_count=1, mentions=20, kills=8, seed=11)
    try:
        assert_exactly_once(sim, desk, 21)
    finally:
        desk.dispose()
