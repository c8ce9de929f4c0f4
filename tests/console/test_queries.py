"""The console's queries stay fast on a desk with a huge backlog."""

from __future__ import annotations

from bot.console import queries

PROBLEM = "@acme my internet has been down since this morning and it's still not working"


def test_a_huge_queue_is_counted_up_to_a_cap_and_shown_with_a_plus(desk, monkeypatch):
    monkeypatch.setattr(queries, "QUEUE_COUNT_CAP", 3)
    for number in range(5):
        desk.mention(PROBLEM, author=f"@c{number}", id=f"big-{number}")
    desk.poll()

    with desk.session() as session:
        page = queries.queue(session, queries.QueueFilters(), page=1, size=2)
        filtered = queries.queue(session, queries.QueueFilters(platform="x"), page=1, size=2)
    assert (page.total, page.capped, page.shown_total) == (3, True, "3+")
    assert len(page.rows) == 2 and page.pages == 2
    assert (filtered.total, filtered.capped) == (3, True)  # a filter on the case counts through the join, capped too


def test_a_short_queue_is_counted_exactly(desk):
    desk.mention(PROBLEM, author="@ana", id="one")
    desk.poll()

    with desk.session() as session:
        page = queries.queue(session, queries.QueueFilters(), page=1, size=50)
    assert (page.capped, page.shown_total) == (False, str(page.total))
    assert page.total == len(page.rows) >= 1
