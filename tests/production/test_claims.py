"""Several daemons on one database: each mention is triaged once, each approved reply sent once, and a dead
daemon's claimed work is taken over when its claim expires (run with BOT_TEST_DATABASE_URL for PostgreSQL)."""

from __future__ import annotations

import threading

from sqlalchemy import func, select, update

from bot.casework import approval
from bot.coordination import claims
from bot.intake.ingest import store_mentions
from bot.runtime.service import Service
from bot.storage.db import transaction
from bot.storage.models import Draft, Mention, OutboxMessage, TriageResult
from listeners.base import IncomingMention


class Platform:
    """A responder that records what it posted (thread-safe) and can find it again."""

    def __init__(self):
        self.posted: list[str] = []
        self.lock = threading.Lock()

    def _post(self, message):
        with self.lock:
            self.posted.append(message.idempotency_key)
            return f"post-{len(self.posted)}"

    reply_public = send_private = close_public = _post

    def find_sent(self, message):
        with self.lock:
            return "post-found" if message.idempotency_key in self.posted else None


def second_daemon(desk, name: str) -> Service:
    """Another daemon process over the same database, config and clock."""
    config = desk.config.model_copy(update={"daemon": desk.config.daemon.model_copy(update={"worker_name": name})})
    return Service(config, clock=desk.clock, triager=desk.service._triager)


def test_two_daemons_claim_disjoint_mentions_and_triage_each_once(desk):
    for number in range(30):
        desk.mention(f"@acme my order {number} has not arrived", author=f"@c{number}", id=f"t-{number}")
    desk.service.pollers["brand"].poll()
    other = second_daemon(desk, "other")
    with transaction(desk.service.factory) as session:
        mine = claims.claim_mentions(session, desk.service.claimant, desk.clock.now(), 60, 20)
    with transaction(other.factory) as session:
        theirs = claims.claim_mentions(session, other.claimant, desk.clock.now(), 60, 20)
    assert len(mine) == 20 and len(theirs) == 10 and not set(mine) & set(theirs)

    # both pipelines run at once; each finishes only what it claimed, and nothing is triaged twice
    with transaction(desk.service.factory) as session:
        session.execute(update(Mention).values(claimed_by=None, claimed_until=None))
    runs = [threading.Thread(target=service.pipeline.run) for service in (desk.service, other)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    with desk.session() as session:
        assert set(session.scalars(select(Mention.status))) == {"processed"}
        assert session.scalar(select(func.count(TriageResult.id))) == 30
        assert session.scalar(select(func.count(Mention.id)).where(Mention.claimed_by.is_not(None))) == 0
    other.engine.dispose()


def test_a_dead_daemons_claimed_mentions_are_taken_over_after_the_claim_expires(desk):
    desk.mention("@acme the app crashes on start", id="dead-1")
    desk.service.pollers["brand"].poll()
    with transaction(desk.service.factory) as session:  # a daemon claims it, then is killed before finishing
        assert claims.claim_mentions(session, "killed@host:1", desk.clock.now(), 300, 10)

    assert desk.service.pipeline.run().triaged == 0  # still claimed by the dead daemon
    desk.clock.advance(seconds=301)
    assert desk.service.pipeline.run().triaged == 1
    assert desk.case_of("dead-1").state == "awaiting_approval"


def test_a_daemon_that_lost_its_claim_throws_its_result_away(desk):
    desk.mention("@acme where is my refund?", id="slow-1")
    desk.service.pollers["brand"].poll()
    with transaction(desk.service.factory) as session:
        [mention_id] = claims.claim_mentions(session, "slow@host:1", desk.clock.now(), 5, 10)
    desk.clock.advance(seconds=6)  # the slow daemon's claim expired and this one took the mention over
    assert desk.service.pipeline.run().triaged == 1
    with desk.session() as session:  # the slow daemon wakes up and tries to finish: refused
        try:
            claims.finish_mention(session, mention_id, "slow@host:1", "processed")
        except claims.ClaimLost:
            pass
        else:
            raise AssertionError("a lost claim must not be finished")
        session.rollback()
    with desk.session() as session:
        assert session.scalar(select(func.count(TriageResult.id))) == 1


def test_two_daemons_sending_at_once_post_each_reply_exactly_once(desk):
    platform = Platform()
    for number in range(12):
        desk.mention(f"@acme how do I export my invoices, question {number}?", author=f"@q{number}", id=f"q-{number}")
    desk.poll()
    with desk.session() as session:
        for draft in session.scalars(select(Draft).where(Draft.status == "pending")):
            approval.approve(session, desk.config, draft.id, "maria", desk.clock.now())
    other = second_daemon(desk, "other")
    desk.service._responders["brand"] = platform
    other._responders["brand"] = platform
    barrier = threading.Barrier(4)

    def send(service):
        barrier.wait()
        for _ in range(5):
            service.outbox.run()

    runs = [threading.Thread(target=send, args=(s,)) for s in (desk.service, other, desk.service, other)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    with desk.session() as session:
        statuses = list(session.scalars(select(OutboxMessage.status)))
    assert statuses and set(statuses) == {"sent"}
    assert sorted(platform.posted) == sorted(set(platform.posted)) and len(platform.posted) == len(statuses)
    other.engine.dispose()


def test_a_send_interrupted_by_a_crash_is_reconciled_not_repeated(desk):
    platform = Platform()
    desk.service._responders["brand"] = platform
    desk.mention("@acme my internet is down, not working", id="crash-1")
    desk.poll()
    [draft] = desk.drafts()
    with desk.session() as session:
        message = approval.approve(session, desk.config, draft.id, "maria", desk.clock.now()).outbox
        message_id = message.id
    # a daemon claims it and posts, then dies before recording the post
    with transaction(desk.service.factory) as session:
        [claim] = claims.claim_outbox(session, "killed@host:1", desk.clock.now(), 300, 10)
    platform.posted.append(f"draft-{draft.id}")

    assert desk.service.outbox.run() == 0  # the dead daemon's claim still holds
    desk.clock.advance(seconds=301)
    assert desk.service.outbox.run() == 1
    with desk.session() as session:
        message = session.get(OutboxMessage, message_id)
        assert message.status == "sent" and message.platform_post_id == "post-found"
    assert platform.posted == [f"draft-{draft.id}"]  # found, not posted again
    assert claim.uncertain is False


def test_two_daemons_storing_the_same_mentions_keep_one_of_each(desk):
    """Polling overlaps (a lease handed over mid-poll) cost nothing: ON CONFLICT keeps the first copy."""
    other = second_daemon(desk, "other")
    now = desk.clock.now()
    batch = [
        IncomingMention(
            platform="x",
            platform_id=f"dup-{n}",
            text=f"@acme hello {n}",
            author_id=f"u{n % 3}",
            author_handle=f"@u{n % 3}",
            created_at=now,
            thread_key=f"dup-{n}",
        )
        for n in range(10)
    ]
    from bot.intake import accounts

    results = []

    def store(service):
        with transaction(service.factory) as session:
            account = accounts.get_account(session, "brand")
            results.append(len(store_mentions(session, account, batch, now)))

    runs = [threading.Thread(target=store, args=(s,)) for s in (desk.service, other)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    with desk.session() as session:
        assert session.scalar(select(func.count(Mention.id))) == 10
    assert sum(results) == 10
    other.engine.dispose()
