"""Spike detection: each metric of each topic in the last window, against what is usual for that time of the week.

The baseline of a metric is its count in the same window shifted back by a day (each of the last `days_back`
days), by a week (each of the last `weeks_back` weeks) and by one window (each of the last `recent_windows`):
daily and weekly seasonality plus today's level. Its centre is the median of those counts and its spread the
median absolute deviation (×1.4826, the standard deviation of normal data), never below the Poisson spread √median
(nor below 1): a few unusual windows in the history move neither. A window is a spike when its count is at least
`threshold_z` spreads above the median, at least `min_ratio` times the median and at least `min_count`; it is back
to normal below `end_z` spreads (docs/early_warning.md explains every constant).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.config import Config, EarlyWarningConfig
from bot.early_warning import buckets
from bot.early_warning.topics import ALL

# Metric names as people read them, and the rollup column each one counts.
METRICS = {"volume": "mentions", "negative": "negative", "outage": "outage", "churn_risk": "churn_risk", "spam": "spam"}
# The most specific metric names an incident: an outage is also negative and also volume.
SPECIFICITY = ("outage", "churn_risk", "negative", "volume")
# 1.4826 × MAD estimates the standard deviation of normally distributed counts.
MAD_TO_SD = 1.4826
# Fewer windows of history than this and nothing is called unusual: there is no "usual" yet.
MIN_SAMPLES = 3


@dataclass
class Reading:
    """One metric of one topic in the current window, with its baseline and what it makes of it."""

    topic: str
    metric: str
    observed: int
    median: float
    spread: float
    samples: int
    threshold: float
    normal_below: float
    share: float | None = None
    usual_share: float | None = None

    @property
    def score(self) -> float:
        """Spreads above the baseline's median."""
        return (self.observed - self.median) / self.spread

    @property
    def spike(self) -> bool:
        """True when the window is unusual enough to open (or keep open) an incident."""
        return self.samples >= MIN_SAMPLES and self.observed >= self.threshold

    @property
    def above_normal(self) -> bool:
        """True while the window is still above normal (the lower, ending threshold)."""
        return self.samples >= MIN_SAMPLES and self.observed > self.normal_below

    def as_dict(self) -> dict[str, object]:
        """The reading as plain data (kept with an incident)."""
        return {
            "topic": self.topic,
            "metric": self.metric,
            "observed": self.observed,
            "median": round(self.median, 2),
            "spread": round(self.spread, 2),
            "threshold": round(self.threshold, 2),
            "samples": self.samples,
            "score": round(self.score, 2),
        }


def baseline(samples: list[int]) -> tuple[float, float]:
    """The median of the history's counts and their robust spread (MAD, at least the Poisson spread)."""
    if not samples:
        return 0.0, 1.0
    median = statistics.median(samples)
    mad = statistics.median(abs(s - median) for s in samples)
    return float(median), max(MAD_TO_SD * mad, math.sqrt(max(median, 1.0)))


def judge(
    settings: EarlyWarningConfig,
    topic: str,
    metric: str,
    observed: int,
    samples: list[int],
    volume: int | None = None,
    volume_samples: list[int] | None = None,
) -> Reading:
    """A window's count against its history's counts: the thresholds of a spike and of normal."""
    median, spread = baseline(samples)
    threshold = max(median + settings.threshold_z * spread, settings.min_ratio * median, settings.min_count)
    reading = Reading(
        topic, metric, observed, median, spread, len(samples), threshold, median + settings.end_z * spread
    )
    if metric == "negative" and volume_samples is not None:
        # A negative spike is a change of tone, not only more mentions: the share of negative ones rises too.
        reading.share = observed / volume if volume else 0.0
        total = sum(volume_samples)
        reading.usual_share = sum(samples) / total if total else 0.0
        if reading.share < reading.usual_share + settings.negative_share_rise:
            reading.threshold = math.inf
    return reading


def window(now: datetime, settings: EarlyWarningConfig) -> list[datetime]:
    """The buckets of the current window: the one now falls in and those just before it."""
    last = buckets.bucket_of(now, settings.bucket_minutes)
    count = settings.window_minutes // settings.bucket_minutes
    return [last - timedelta(minutes=settings.bucket_minutes * i) for i in range(count)][::-1]


def offsets(settings: EarlyWarningConfig) -> list[timedelta]:
    """How far back each window of the baseline lies: days, weeks, then the windows just before."""
    shifts = [timedelta(days=d) for d in range(1, settings.days_back + 1)]
    shifts += [timedelta(weeks=w) for w in range(1, settings.weeks_back + 1) if timedelta(weeks=w) not in shifts]
    shifts += [timedelta(minutes=settings.window_minutes * r) for r in range(1, settings.recent_windows + 1)]
    return shifts


def _sum(counts: dict[buckets.Key, Counter[str]], brand: str, topic: str, when: list[datetime]) -> Counter[str]:
    total: Counter[str] = Counter()
    for moment in when:
        total.update(counts.get((moment, brand, topic), Counter()))
    return total


def read_stream(session: Session, config: Config, now: datetime, also: set[str] | None = None) -> list[Reading]:
    """Every metric of every topic busy enough to spike (and of the topics in `also`) in the window ending now."""
    settings = config.early_warning
    brand = config.brand.name
    current = window(now, settings)
    recent = buckets.live(session, config)
    counts = buckets.merged(buckets.read(session, brand, current), recent)
    busy = {
        topic
        for topic in buckets.topics_in(counts)
        if max(_sum(counts, brand, topic, current).values(), default=0) >= settings.min_count
    }
    topics = busy | (also or set()) | {ALL}
    first = buckets.first_bucket(session, brand)
    if recent:
        oldest_live = min(key[0] for key in recent)
        first = oldest_live if first is None else min(first, oldest_live)
    history = [
        [moment - shift for moment in current]
        for shift in offsets(settings)
        if first is not None and current[0] - shift >= first
    ]
    past = buckets.read(session, brand, [m for w in history for m in w], topics)
    counts = buckets.merged(counts, past)
    readings = []
    for topic in sorted(topics):
        now_counts = _sum(counts, brand, topic, current)
        then_counts = [_sum(counts, brand, topic, w) for w in history]
        volume, volume_samples = now_counts["mentions"], [c["mentions"] for c in then_counts]
        for metric, column in METRICS.items():
            readings.append(
                judge(
                    settings,
                    topic,
                    metric,
                    now_counts[column],
                    [c[column] for c in then_counts],
                    volume,
                    volume_samples,
                )
            )
    return readings
