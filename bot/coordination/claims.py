"""Claiming pending work so that several daemons never do the same piece twice.

On PostgreSQL a daemon takes a batch with SELECT … FOR UPDATE SKIP LOCKED and marks it claimed (its name and an
expiry) in the same transaction, so another daemon skips those rows without waiting. On SQLite there is one writer
at a time, so the same statements (FOR UPDATE is not rendered there) are already exclusive. Every claim is also a
compare-and-set on the row, and work is finished only while its claim still holds: a daemon that was paused past its
claim's expiry finds the work taken over and throws its own result away instead of writing it twice.
A killed daemon's claims simply expire; the next daemon to look takes the work over.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, or_, select, text, update
from sqlalchemy.orm import Session

from bot.storage.db import is_postgresql
from bot.storage.models import Mention, OutboxMessage
from bot.storage.statuses import MentionStatus, OutboxStatus

DEFAULT_CLAIM_SECONDS = 300.0
# A claim is trusted without asking the database until this share of its time is left (clocks may differ a little).
CLAIM_SAFETY_SHARE = 0.2


def default_claimant(worker: str) -> str:
    """A name unique to this process, for claims and leases: the worker's name, host and process id."""
    return f"{worker}@{socket.gethostname()}:{os.getpid()}"


class ClaimLost(Exception):
    """The claim on a piece of work expired and another daemon took it over."""


def claim_mentions(session: Session, worker: str, now: datetime, seconds: float, limit: int) -> list[int]:
    """Claim up to limit new mentions (oldest first) that nobody holds; returns their ids in order."""
    free = or_(Mention.claimed_until.is_(None), Mention.claimed_until < now)
    ids = list(
        session.scalars(
            select(Mention.id)
            .where(Mention.status == MentionStatus.NEW, free)
            .order_by(Mention.created_at, Mention.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        return []
    # The condition is repeated so that on SQLite, where nothing was locked, a row claimed meanwhile is left alone.
    claimed = set(
        session.scalars(
            update(Mention)
            .where(Mention.id.in_(ids), Mention.status == MentionStatus.NEW, free)
            .values(claimed_by=worker, claimed_until=now + timedelta(seconds=seconds))
            .returning(Mention.id)
            .execution_options(synchronize_session=False)
        )
    )
    return [i for i in ids if i in claimed]


def finish_mention(session: Session, mention_id: int, worker: str, status: str, error: str | None = None) -> None:
    """Set a claimed mention's final status and release it; raises ClaimLost when the claim is no longer ours."""
    finish_mentions(session, [mention_id], worker, status, error)


def hold_mentions(session: Session, ids: list[int], worker: str) -> list[int]:
    """Lock the claimed mentions that are still this worker's until the transaction ends; returns their ids in order."""
    held = set(
        session.scalars(
            select(Mention.id)
            .where(Mention.id.in_(ids), Mention.claimed_by == worker, Mention.status == MentionStatus.NEW)
            .with_for_update()
        )
    )
    return [i for i in ids if i in held]


def finish_mentions(session: Session, ids: list[int], worker: str, status: str, error: str | None = None) -> None:
    """finish_mention for many at once; raises ClaimLost (and the caller rolls back) unless every claim is still ours."""
    if not ids:
        return
    values: dict[str, object] = {"status": status, "claimed_by": None, "claimed_until": None}
    if error is not None:
        values["error"] = error
    # An UPDATE's result is a CursorResult, which counts the rows; Session.execute is typed with the plain Result.
    result = cast(
        CursorResult[Any],
        session.execute(
            update(Mention)
            .where(Mention.id.in_(ids), Mention.claimed_by == worker, Mention.status == MentionStatus.NEW)
            .values(**values)
            .execution_options(synchronize_session="fetch")
        ),
    )
    if result.rowcount != len(ids):
        lost = f"mention {ids[0]}" if len(ids) == 1 else f"{len(ids) - result.rowcount} of {len(ids)} mentions"
        raise ClaimLost(f"{lost} {'was' if len(ids) == 1 else 'were'} taken over by another daemon")


def lock_thread(session: Session, platform: str, thread_key: str) -> None:
    """Serialise work on one conversation thread until the transaction ends (PostgreSQL; SQLite has one writer)."""
    lock_threads(session, [(platform, thread_key)])


def lock_threads(session: Session, threads: list[tuple[str, str]]) -> None:
    """lock_thread for several threads, always in the same (sorted) order, so two daemons never deadlock."""
    if not is_postgresql(session) or not threads:
        return
    keys = sorted({f"thread:{platform}:{thread_key}" for platform, thread_key in threads})
    session.execute(
        text("SELECT count(pg_advisory_xact_lock(hashtextextended(key, 0))) FROM unnest(CAST(:keys AS text[])) AS key"),
        {"keys": keys},
    )


@dataclass(frozen=True)
class OutboxClaim:
    """A message this daemon may send now; `uncertain` when an earlier attempt may have posted it already."""

    message_id: int
    uncertain: bool
    claimed_until: datetime


def outbox_claimable(now: datetime):
    """Messages due now: queued or of unknown outcome, or being sent by a daemon whose claim has expired."""
    return or_(
        OutboxMessage.status.in_((OutboxStatus.QUEUED, OutboxStatus.UNKNOWN)),
        (OutboxMessage.status == OutboxStatus.SENDING) & (OutboxMessage.claimed_until < now),
    ) & (OutboxMessage.next_attempt_at <= now)


def claim_outbox(
    session: Session, worker: str, now: datetime, seconds: float, limit: int, message_id: int | None = None
) -> list[OutboxClaim]:
    """Claim due outbox messages (or the one given) for sending; each claim is a compare-and-set on the row."""
    query = select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.attempts).where(outbox_claimable(now))
    if message_id is not None:
        query = query.where(OutboxMessage.id == message_id)
    rows = session.execute(
        query.order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit).with_for_update(skip_locked=True)
    ).all()
    until = now + timedelta(seconds=seconds)
    free = or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now)
    before = {row_id: status for row_id, status, _ in rows}
    taken: set[int] = set()
    # One compare-and-set per earlier status: a row changed by someone else since it was read is left alone.
    for status in sorted(set(before.values())):
        ids = [row_id for row_id, was in before.items() if was == status]
        taken.update(
            session.scalars(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), OutboxMessage.status == status, free, outbox_claimable(now))
                .values(
                    status=OutboxStatus.SENDING,
                    attempts=OutboxMessage.attempts + 1,
                    claimed_by=worker,
                    claimed_until=until,
                )
                .returning(OutboxMessage.id)
                .execution_options(synchronize_session=False)
            )
        )
    # 'sending' left behind means a daemon died between posting and recording: ask the platform first.
    return [
        OutboxClaim(row_id, before[row_id] in ("unknown", "sending"), until) for row_id, _, _ in rows if row_id in taken
    ]


def outbox_claim_holds(session: Session, message_id: int, worker: str, now: datetime) -> bool:
    """True while this worker's claim on the message is still valid (checked right before posting)."""
    return bool(
        session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.status == OutboxStatus.SENDING,
                OutboxMessage.claimed_by == worker,
                OutboxMessage.claimed_until > now,
            )
        )
    )
