"""Time as the service sees it: naive UTC, injectable so tests never sleep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current time."""

    def now(self) -> datetime:
        """The current time, naive UTC."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """The current time, naive UTC."""
        return datetime.now(UTC).replace(tzinfo=None)


class FrozenClock:
    """A clock that moves only when told to, for tests and replays."""

    def __init__(self, start: datetime | None = None):
        self._now = start or datetime(2026, 1, 5, 9, 0, 0)

    def now(self) -> datetime:
        """The frozen time."""
        return self._now

    def advance(self, **delta: float) -> datetime:
        """Move forward by a timedelta given as keyword arguments."""
        self._now += timedelta(**delta)
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to a time."""
        self._now = when


def to_utc_naive(value: datetime) -> datetime:
    """Convert an aware datetime to naive UTC; naive ones are taken as UTC already."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value
