"""One backoff for the poller, the outbox and database faults."""

from __future__ import annotations

from bot import backoff


def test_a_wait_grows_by_three_quarters_per_failure_and_stops_at_the_ceiling():
    waits = [backoff.delay(n, 10.0, 600.0, jitter=False) for n in range(1, 12)]
    assert waits[:3] == [10.0, 17.5, 30.625]
    assert waits[-1] == 600.0 and all(a <= b for a, b in zip(waits, waits[1:], strict=False))


def test_jitter_keeps_each_wait_between_80_and_100_percent_so_retries_do_not_line_up():
    waits = {round(backoff.delay(3, 10.0, 600.0), 6) for _ in range(200)}
    assert len(waits) > 100 and min(waits) >= 0.8 * 30.625 and max(waits) <= 30.625
