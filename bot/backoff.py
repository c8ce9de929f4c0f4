"""The one backoff: waits that grow 1.75x per failure up to a ceiling, with jitter so retries do not line up."""

from __future__ import annotations

import random

FACTOR = 1.75


def delay(failures: int, base: float, ceiling: float, jitter: bool = True) -> float:
    """Seconds to wait after the failures-th failure in a row: base x 1.75^(failures-1), at most ceiling;
    with jitter, between 80 and 100 % of that (Errbot's reconnect backoff)."""
    seconds = min(ceiling, base * FACTOR ** max(0, failures - 1))
    return seconds * random.uniform(0.8, 1.0) if jitter else seconds
