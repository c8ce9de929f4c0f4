"""A generated stream of triaged mentions, written straight into the tables (the classifier is not what is tested).

The stream has daily seasonality (quiet nights, busy afternoons), a mix of everyday topics, a share of negative
mentions, rare outage and churn reports and a little spam, drawn from a seeded random generator; bursts of outage
complaints or spam can be laid on top.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bot.storage.models import Account, Customer, Identity, Mention, TriageResult

SPAM_REASON = "rule: spam pattern → monitor, no response"
WORDS = (
    "invoice delivery parcel router plan upgrade contract store website password login discount price coverage "
    "signal speed billing technician appointment order refund shipping tracking warranty battery screen charger "
    "voucher points membership roaming modem fibre installation support chat manager hours"
).split()
PHRASES = (
    "@acme question about my {a} and the {b}",
    "@acme is the {a} included with the {b}?",
    "loving the new {a} from @acme, the {b} is great",
    "@acme my {a} is still not sorted, the {b} is a mess",
    "@acme how do I change the {a} on my {b}",
    "thinking about the {a} deal from acme, anyone tried the {b}?",
)


@dataclass
class Line:
    """One mention to write and how it was triaged."""

    at: datetime
    text: str
    sentiment: str = "neutral"
    category: str = "question"
    outage: bool = False
    churn: bool = False
    spam: bool = False


def rate_per_minute(moment: datetime, base: float) -> float:
    """Mentions per minute at a time of day: a quarter of `base` at 4 am, `base` times 1.75 at 4 pm."""
    phase = 2 * math.pi * ((moment.hour + moment.minute / 60) - 10) / 24
    return base * (1.0 + 0.75 * math.sin(phase))


def steady(start: datetime, end: datetime, base: float = 1.0, seed: int = 1) -> list[Line]:
    """An ordinary stream between two times: Poisson arrivals minute by minute at the day's rate."""
    rng = random.Random(seed)
    lines = []
    moment = start
    while moment < end:
        for _ in range(_poisson(rng, rate_per_minute(moment, base))):
            at = moment + timedelta(seconds=rng.uniform(0, 59))
            text = rng.choice(PHRASES).format(a=rng.choice(WORDS), b=rng.choice(WORDS))
            roll = rng.random()
            if roll < 0.02:
                lines.append(Line(at, "win free followers now, crypto giveaway", "neutral", "other", spam=True))
            elif roll < 0.03:
                lines.append(
                    Line(
                        at,
                        f"@acme no {rng.choice(WORDS)} here today, is it down?",
                        "negative",
                        "complaint",
                        outage=True,
                    )
                )
            elif roll < 0.04:
                lines.append(
                    Line(
                        at,
                        f"@acme cancelling my {rng.choice(WORDS)}, moving elsewhere",
                        "negative",
                        "complaint",
                        churn=True,
                    )
                )
            else:
                negative = rng.random() < 0.25
                lines.append(
                    Line(
                        at,
                        text,
                        "negative" if negative else rng.choice(("neutral", "positive")),
                        "complaint" if negative else "question",
                    )
                )
        moment += timedelta(minutes=1)
    return lines


OUTAGE_TEXTS = (
    "@acme internet down again in {town}, no connection at all",
    "is acme internet down? nothing works in {town} since this morning",
    "@acme my internet is dead, whole street in {town} offline",
    "acme internet outage in {town}?? working from home is impossible",
)
TOWNS = ("Leeds", "Bristol", "Cardiff", "York", "Bath", "Derby", "Hull", "Exeter")


def outage_burst(start: datetime, count: int = 40, minutes: float = 15, seed: int = 2) -> list[Line]:
    """`count` outage complaints spread over `minutes` from `start`."""
    rng = random.Random(seed)
    return [
        Line(
            start + timedelta(seconds=rng.uniform(0, minutes * 60)),
            rng.choice(OUTAGE_TEXTS).format(town=rng.choice(TOWNS)),
            "negative",
            "complaint",
            outage=True,
        )
        for _ in range(count)
    ]


def spam_wave(start: datetime, count: int = 60, minutes: float = 15, seed: int = 3) -> list[Line]:
    """A wave of spam mentions from `start`."""
    rng = random.Random(seed)
    return [
        Line(
            start + timedelta(seconds=rng.uniform(0, minutes * 60)),
            f"@acme crypto giveaway!!! free followers, click here to win {rng.randint(1, 999)}",
            "negative",
            "other",
            spam=True,
        )
        for _ in range(count)
    ]


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


class Writer:
    """Writes lines as stored, triaged mentions of one account (ids from the database, as the pipeline's are)."""

    def __init__(self, session: Session, account_name: str | None = None):
        account = session.scalar(
            select(Account).where(Account.name == account_name) if account_name else select(Account)
        )
        if account is None:
            account = Account(name="stream", platform="x", created_at=datetime(2026, 1, 1))
            session.add(account)
        customer = Customer(display_name="Stream", created_at=datetime(2026, 1, 1))
        identity = Identity(customer=customer, platform="x", platform_user_id="stream-author", handle="@someone")
        session.add_all([customer, identity])
        session.flush()
        self.account_id, self.identity_id = account.id, identity.id
        self.count = 0

    def write(self, session: Session, lines: list[Line]) -> None:
        """Store the lines, each with its triage written 30 seconds after the mention."""
        if not lines:
            return
        lines = sorted(lines, key=lambda line: line.at)
        rows = []
        for line in lines:
            self.count += 1
            rows.append(
                {
                    "account_id": self.account_id,
                    "platform": "x",
                    "platform_id": f"gen-{self.count}",
                    "thread_key": f"gen-{self.count}",
                    "channel": "public",
                    "identity_id": self.identity_id,
                    "text": line.text,
                    "addressed_to_brand": True,
                    "created_at": line.at,
                    "fetched_at": line.at,
                    "raw": {},
                    "status": "processed",
                }
            )
        connection = session.connection()  # Core statements: no ORM bookkeeping for thousands of rows
        ids = (
            connection.execute(insert(Mention.__table__).returning(Mention.id, sort_by_parameter_order=True), rows)
            .scalars()
            .all()
        )
        connection.execute(
            insert(TriageResult.__table__),
            [
                {
                    "mention_id": mention_id,
                    "language": "en",
                    "category": line.category,
                    "sentiment": line.sentiment,
                    "needs_response": not line.spam,
                    "mode": "reactive",
                    "level": "monitor" if line.spam else "investigate",
                    "priority": 0.3,
                    "confidence": 0.9,
                    "confidences": {},
                    "low_confidence": False,
                    "reasons": [SPAM_REASON] if line.spam else [],
                    "labels": {"outage": "yes" if line.outage else "no", "churn_risk": "yes" if line.churn else "no"},
                    "model": "generated",
                    "created_at": line.at + timedelta(seconds=30),
                }
                for mention_id, line in zip(ids, lines, strict=True)
            ],
        )
