"""Rate-limit headers from X (x-rate-limit-*) and Meta (X-App-Usage, X-Business-Use-Case-Usage), and when to slow down."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

# X: below this share of the window's calls left, polls are spread out over the time to the reset.
X_SLOW_DOWN_SHARE = 0.10
# Meta: usage percentages (0-100) at which we slow down, and at which we stop calling until access is regained.
META_SLOW_DOWN_PERCENT = 75.0
META_STOP_PERCENT = 95.0
META_DEFAULT_BLOCK_SECONDS = 300.0


@dataclass
class RateLimitState:
    """What the platform last said about one endpoint's (or one app's) budget."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: datetime | None = None
    usage_percent: float | None = None
    regain_seconds: float | None = None
    updated_at: datetime | None = None

    def wait_seconds(self, now: datetime) -> float | None:
        """Seconds to wait before calling again when the budget is spent, else None."""
        if self.remaining is not None and self.remaining <= 0 and self.reset_at and self.reset_at > now:
            return (self.reset_at - now).total_seconds()
        if self.usage_percent is not None and self.usage_percent >= META_STOP_PERCENT:
            if self.regain_seconds:
                return (
                    self.regain_seconds - (now - self.updated_at).total_seconds()
                    if self.updated_at
                    else self.regain_seconds
                )
            if self.updated_at and (now - self.updated_at).total_seconds() < META_DEFAULT_BLOCK_SECONDS:
                return META_DEFAULT_BLOCK_SECONDS - (now - self.updated_at).total_seconds()
        return None

    def suggested_interval(self, now: datetime) -> float | None:
        """A poll interval that keeps us under the limit when little budget is left, else None."""
        if self.limit and self.remaining is not None and self.reset_at and self.reset_at > now:
            if self.remaining < self.limit * X_SLOW_DOWN_SHARE:
                return (self.reset_at - now).total_seconds() / max(self.remaining, 1)
        if self.usage_percent is not None and self.usage_percent >= META_SLOW_DOWN_PERCENT:
            # From 75 % to 95 %, stretch the interval up to five minutes.
            share = min(
                1.0, (self.usage_percent - META_SLOW_DOWN_PERCENT) / (META_STOP_PERCENT - META_SLOW_DOWN_PERCENT)
            )
            return 60.0 + 240.0 * share
        return None

    def as_dict(self) -> dict[str, Any]:
        """For `python -m bot status` and the console."""
        data = asdict(self)
        for key in ("reset_at", "updated_at"):
            if data[key] is not None:
                data[key] = data[key].isoformat()
        return {k: v for k, v in data.items() if v is not None}


def _epoch_to_naive_utc(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC).replace(tzinfo=None)


def parse_x_headers(headers: Mapping[str, str], now: datetime) -> RateLimitState | None:
    """x-rate-limit-limit / -remaining / -reset (epoch seconds) into a state; None when absent or garbled."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if "x-rate-limit-remaining" not in lowered:
        return None
    try:
        state = RateLimitState(updated_at=now, remaining=int(lowered["x-rate-limit-remaining"]))
        if "x-rate-limit-limit" in lowered:
            state.limit = int(lowered["x-rate-limit-limit"])
        if "x-rate-limit-reset" in lowered:
            state.reset_at = _epoch_to_naive_utc(float(lowered["x-rate-limit-reset"]))
    except (TypeError, ValueError, OverflowError, OSError):
        log.warning("ignoring unreadable x-rate-limit headers")
        return None
    return state


def x_retry_after(headers: Mapping[str, str], now: datetime, default: float = 60.0) -> float:
    """Seconds until x-rate-limit-reset (at least 1), or default when the header is missing."""
    state = parse_x_headers({"x-rate-limit-remaining": "0", **dict(headers)}, now)
    if state is None or state.reset_at is None:
        return default
    return max(1.0, (state.reset_at - now).total_seconds())


def _usage_numbers(entry: Any) -> tuple[float | None, float | None]:
    """The highest usage percentage in one usage object, and its minutes to regain access if given."""
    if not isinstance(entry, dict):
        return None, None
    numbers = [
        float(entry[k])
        for k in ("call_count", "total_time", "total_cputime", "acc_id_util_pct")
        if isinstance(entry.get(k), (int, float))
    ]
    regain = entry.get("estimated_time_to_regain_access")
    return (max(numbers) if numbers else None), (float(regain) if isinstance(regain, (int, float)) else None)


def parse_meta_headers(headers: Mapping[str, str], now: datetime) -> RateLimitState | None:
    """X-App-Usage and X-Business-Use-Case-Usage into one state holding the worst usage seen."""
    lowered = {k.lower(): v for k, v in headers.items()}
    worst: float | None = None
    regain_minutes: float | None = None
    for name in ("x-app-usage", "x-page-usage", "x-ad-account-usage", "x-business-use-case-usage"):
        if name not in lowered:
            continue
        try:
            data = json.loads(lowered[name])
        except ValueError:
            log.warning("ignoring unreadable %s header", name)
            continue
        entries: list[Any] = []
        if name == "x-business-use-case-usage" and isinstance(data, dict):
            for value in data.values():
                entries.extend(value if isinstance(value, list) else [value])
        else:
            entries.append(data)
        for entry in entries:
            usage, regain = _usage_numbers(entry)
            if usage is not None and (worst is None or usage > worst):
                worst = usage
            if regain:
                regain_minutes = max(regain_minutes or 0.0, regain)
    if worst is None and regain_minutes is None:
        return None
    return RateLimitState(
        usage_percent=worst, updated_at=now, regain_seconds=regain_minutes * 60.0 if regain_minutes else None
    )


class RateLimitTracker:
    """The last rate-limit state per endpoint of one account, read by the listener before each call."""

    def __init__(self) -> None:
        self.states: dict[str, RateLimitState] = {}

    def record(self, endpoint: str, state: RateLimitState | None) -> None:
        """Remember what the platform said about this endpoint."""
        if state is not None:
            self.states[endpoint] = state

    def wait_seconds(self, endpoint: str, now: datetime) -> float | None:
        """Seconds until this endpoint may be called again, or None when it may be called now."""
        states = [s for s in (self.states.get(endpoint), self.states.get("*")) if s is not None]
        waits = [w for w in (s.wait_seconds(now) for s in states) if w is not None and w > 0]
        return max(waits) if waits else None

    def suggested_interval(self, now: datetime) -> float | None:
        """The longest poll interval any endpoint asks for to stay under its limit, or None."""
        values = [v for v in (s.suggested_interval(now) for s in self.states.values()) if v]
        return max(values) if values else None

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every endpoint's state, for status displays."""
        return {endpoint: state.as_dict() for endpoint, state in sorted(self.states.items())}
