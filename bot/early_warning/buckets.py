"""The rollup spikes are read from: triaged mentions per time bucket, brand and topic, filled past a watermark.

Each detection run first adds the triage results written since the last run to `mention_buckets` (like the KPI
volume rollup), then reads a few hundred bucket rows instead of the mentions. Results younger than
`early_warning.settle_minutes` stay out of the rollup and are counted live from their rows: a transaction still
open in another daemon may hold a lower id that commits later, and it must not be skipped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.config import Config
from bot.early_warning.topics import ALL, brand_words, keywords
from bot.storage.db import dialect_insert
from bot.storage.models import Mention, MentionBucket, MentionBucketWatermark, TriageResult

WATERMARK = "early_warning"
METRICS = ("mentions", "negative", "outage", "churn_risk", "spam")
CHUNK = 20000
UPSERT_ROWS = 5000
YES = ("yes", "true")

Key = tuple[datetime, str, str]  # (bucket, brand, topic)


@dataclass(frozen=True)
class Triaged:
    """What the rollup needs of one triaged mention."""

    triage_id: int
    triaged_at: datetime
    created_at: datetime
    text: str
    category: str
    sentiment: str
    labels: dict[str, Any]
    reasons: list[Any]


# The reasons the triage rules (a spam pattern) and the config's rules (`then: spam`) give a mention marked spam.
SPAM_REASONS = ("spam pattern", "spam: no reply")


def is_spam(category: str, reasons: Iterable[Any]) -> bool:
    """True for spam: the spam category, or a spam rule fired (docs/early_warning.md)."""
    return category == "spam" or any(mark in str(reason) for reason in reasons or () for mark in SPAM_REASONS)


def flags(item: Triaged) -> dict[str, int]:
    """The metrics one mention counts in: spam in spam alone, everything else in mentions and its own flags."""
    if is_spam(item.category, item.reasons):
        return {"spam": 1}
    labels = item.labels or {}
    return {
        "mentions": 1,
        "negative": int(item.sentiment == "negative"),
        "outage": int(str(labels.get("outage", "")).lower() in YES),
        "churn_risk": int(str(labels.get("churn_risk", "")).lower() in YES),
    }


def bucket_of(moment: datetime, minutes: int) -> datetime:
    """The start of the bucket a time falls in (buckets are aligned on the hour)."""
    floored = moment.replace(second=0, microsecond=0)
    return floored - timedelta(minutes=floored.minute % minutes)


def count(config: Config, items: Iterable[Triaged]) -> dict[Key, Counter[str]]:
    """The bucket counts of some triaged mentions: each under its brand's '' topic and each of its keywords."""
    brand = config.brand.name
    ignore = brand_words(brand, config.brand.handles)
    minutes = config.early_warning.bucket_minutes
    counts: dict[Key, Counter[str]] = {}
    for item in items:
        marks = flags(item)
        bucket = bucket_of(item.created_at, minutes)
        for topic in (ALL, *keywords(item.text, ignore)):
            counts.setdefault((bucket, brand, topic), Counter()).update(marks)
    return counts


def _triaged(session: Session, after_id: int, limit: int | None = None) -> list[Triaged]:
    query = (
        select(
            TriageResult.id,
            TriageResult.created_at,
            Mention.created_at,
            Mention.text,
            TriageResult.category,
            TriageResult.sentiment,
            TriageResult.labels,
            TriageResult.reasons,
        )
        .join(Mention, Mention.id == TriageResult.mention_id)
        .where(TriageResult.id > after_id)
        .order_by(TriageResult.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return [Triaged(*row) for row in session.execute(query)]


def watermark(session: Session, lock: bool = False) -> MentionBucketWatermark:
    """The rollup's watermark row (created at 0 the first time)."""
    query = select(MentionBucketWatermark).where(MentionBucketWatermark.name == WATERMARK)
    mark = session.scalar(query.with_for_update() if lock else query)
    if mark is None:
        session.execute(
            dialect_insert(session, MentionBucketWatermark)
            .values(name=WATERMARK, last_id=0, updated_at=None)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        mark = session.scalars(query.with_for_update() if lock else query).one()
    return mark


def _add(session: Session, counts: dict[Key, Counter[str]]) -> None:
    rows = [
        {"bucket": b, "brand": brand, "topic": topic, **{m: c.get(m, 0) for m in METRICS}}
        for (b, brand, topic), c in counts.items()
    ]
    if not rows:
        return
    # One statement, many parameter sets: compiled once and cached, however many rows.
    insert = dialect_insert(session, MentionBucket.__table__)
    upsert = insert.on_conflict_do_update(
        index_elements=["bucket", "brand", "topic"],
        set_={m: getattr(MentionBucket.__table__.c, m) + getattr(insert.excluded, m) for m in METRICS},
    )
    connection = session.connection()
    for start in range(0, len(rows), UPSERT_ROWS):
        connection.execute(upsert, rows[start : start + UPSERT_ROWS])


def fill(session: Session, config: Config, now: datetime) -> int:
    """Add the settled triage results past the watermark to the rollup; returns how many it added."""
    mark = watermark(session, lock=True)
    cutoff = now - timedelta(minutes=config.early_warning.settle_minutes)
    added = 0
    while True:
        rows = _triaged(session, mark.last_id, CHUNK)
        settled = []
        for row in rows:
            if row.triaged_at >= cutoff:
                break
            settled.append(row)
        if settled:
            _add(session, count(config, settled))
            mark.last_id = settled[-1].triage_id
            added += len(settled)
        if len(settled) < CHUNK:
            break
    mark.updated_at = now
    session.flush()
    return added


def live(session: Session, config: Config) -> dict[Key, Counter[str]]:
    """The counts of the triage results the rollup does not hold yet (the last few minutes)."""
    return count(config, _triaged(session, watermark(session).last_id))


def read(
    session: Session, brand: str, buckets: Iterable[datetime], topics: Iterable[str] | None = None
) -> dict[Key, Counter[str]]:
    """The rollup's counts of some buckets (and some topics, or all of them)."""
    wanted = sorted(set(buckets))
    if not wanted:
        return {}
    query = select(MentionBucket).where(MentionBucket.brand == brand, MentionBucket.bucket.in_(wanted))
    if topics is not None:
        query = query.where(MentionBucket.topic.in_(sorted(set(topics))))
    return {
        (row.bucket, row.brand, row.topic): Counter({m: getattr(row, m) for m in METRICS})
        for row in session.scalars(query)
    }


def first_bucket(session: Session, brand: str) -> datetime | None:
    """The oldest bucket the rollup holds for a brand: windows before it have no history to compare with."""
    return session.scalar(select(func.min(MentionBucket.bucket)).where(MentionBucket.brand == brand))


def merged(*parts: dict[Key, Counter[str]]) -> dict[Key, Counter[str]]:
    """Several sets of bucket counts added together."""
    total: dict[Key, Counter[str]] = {}
    for part in parts:
        for key, counts in part.items():
            total.setdefault(key, Counter()).update(counts)
    return total


def triage_changed(
    session: Session, config: Config, mention: Mention, triage: TriageResult, category: str, sentiment: str
) -> None:
    """Move a corrected mention between the rollup's counts (its category and sentiment before the correction)."""
    if triage.id is None or triage.id > watermark(session).last_id:
        return  # not in the rollup yet: it is counted live with its new values
    before, after = (
        Triaged(triage.id, triage.created_at, mention.created_at, mention.text, c, s, triage.labels, triage.reasons)
        for c, s in ((category, sentiment), (triage.category, triage.sentiment))
    )
    if flags(before) == flags(after):
        return
    taken_out = {key: Counter({m: -n for m, n in counts.items()}) for key, counts in count(config, [before]).items()}
    _add(session, merged(taken_out, count(config, [after])))


def topics_in(counts: dict[Key, Counter[str]]) -> Iterator[str]:
    """The topics some bucket counts name."""
    return iter({topic for (_b, _brand, topic) in counts})
