"""KPIs (bot/service_levels/kpis.py): volume, response and resolution times, SLA attainment, public closes, topics, CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from bot.service_levels import kpis
from bot.storage.models import Mention


def period(desk, days: int = 7) -> kpis.Period:
    return kpis.Period.last_days(desk.clock.now(), days)


def test_volume_per_day_by_platform_category_sentiment_level_and_language(desk):
    desk.mention("@acme my internet is down, not working", id="a", platform="x")
    desk.mention("@acme la fibra no funciona", id="b", platform="facebook", lang="es", author="@lu")
    desk.clock.advance(days=1)
    desk.mention("@acme thanks, lovely service!", id="c", platform="x", author="@zoe")
    desk.poll()
    with desk.session() as session:
        volume = kpis.volume_per_day(session, period(desk))
    assert volume["platform"] == {"facebook": {"2026-01-05": 1}, "x": {"2026-01-05": 1, "2026-01-06": 1}}
    assert sum(sum(days.values()) for days in volume["category"].values()) == 3
    assert set(volume) == {"platform", "category", "sentiment", "level", "language"}
    assert volume["language"] == {"en": {"2026-01-05": 1, "2026-01-06": 1}, "es": {"2026-01-05": 1}}


def test_first_response_median_and_p90_and_sla_attainment(desk):
    # Ten complaints answered after 5, 10, ... 50 minutes: the 30-minute target is met by six of them.
    for n in range(10):
        desk.mention(f"@acme my internet is down in street {n}, not working", id=f"d-{n}", author=f"@u{n}")
    desk.poll()
    drafts = desk.drafts()
    for draft in drafts:
        desk.clock.advance(minutes=5)
        desk.approve(draft.id)
    with desk.session() as session:
        times = kpis.first_response_times(session, period(desk))
        first, counted, _, _ = kpis.sla_attainment(session, period(desk), desk.clock.now())
    assert times.count == 10
    assert times.median in (25 * 60, 30 * 60)  # nearest rank of 10 values
    assert times.p90 == 45 * 60
    assert counted == 10 and first == 0.6


def test_unanswered_cases_past_their_due_time_count_as_missed(desk):
    desk.mention("@acme my internet is down, not working", id="d-1")
    desk.poll()
    with desk.session() as session:
        assert kpis.sla_attainment(session, period(desk), desk.clock.now())[1] == 0  # not due yet: not counted
    desk.clock.advance(hours=1)
    with desk.session() as session:
        first, counted, _, _ = kpis.sla_attainment(session, period(desk), desk.clock.now())
    assert (first, counted) == (0.0, 1)


def test_resolution_time_and_the_share_of_public_cases_closed_in_public(desk):
    desk.mention("@acme the website has been down all morning, nothing loads", id="o-1")
    desk.mention("@acme the app crashes on start, not working", id="a-1", author="@bo")
    desk.poll()
    for draft in desk.drafts():
        desk.approve(draft.id)
    desk.clock.advance(hours=2)
    close = desk.resolve(desk.case_of("o-1").id, "a replacement ships today")
    desk.approve(close.id)
    desk.resolve(desk.case_of("a-1").id, "fixed in 4.2")  # resolved, its close never approved
    with desk.session() as session:
        summary = kpis.summary(session, period(desk), desk.clock.now())
    assert summary.resolution.count == 2 and summary.resolution.median == 2 * 3600
    assert summary.public_resolved == 2 and summary.public_closed_share == 0.5


def test_top_topics_come_with_example_mentions(desk):
    for n, text in enumerate(["router keeps rebooting", "my router is dead", "new router please", "love the app"]):
        desk.mention(f"@acme {text}", id=f"t-{n}", author=f"@u{n}")
    desk.poll()
    with desk.session() as session:
        topics = kpis.top_topics(session, period(desk), ignore=["acme"])
    assert topics[0].term == "router" and topics[0].mentions == 3
    assert len(topics[0].examples) == 3 and "router" in topics[0].examples[0]["text"]


def test_csv_exports(desk):
    desk.mention("@acme my internet is down, not working", id="d-1")
    desk.poll()
    with desk.session() as session:
        volume = list(csv.reader(io.StringIO(kpis.volume_csv(session, period(desk)))))
        summary = dict(csv.reader(io.StringIO(kpis.summary_csv(session, period(desk), desk.clock.now()))))
    assert volume[0] == ["day", "platform", "category", "sentiment", "level", "language", "mentions"]
    assert volume[1][5] == "en"
    assert volume[1][0] == "2026-01-05" and volume[1][-1] == "1"
    assert summary["mentions"] == "1" and summary["period_end"] == "2026-01-05"


def test_periods_cover_whole_days():
    p = kpis.Period.last_days(datetime(2026, 1, 5, 9, 30), 7)
    assert (p.start, p.end) == (datetime(2025, 12, 30), datetime(2026, 1, 6))
    assert len(p.days()) == 7
    assert kpis.Period.between(datetime(2026, 1, 5).date(), datetime(2026, 1, 1).date()).days()[0] == "2026-01-01"


def test_the_kpi_page_draws_charts_and_exports_csv(browser, console):
    console.mention("@acme my internet is down, not working", id="d-1")
    console.poll()
    browser.login("alex")
    page = browser.get("/kpis").text
    assert page.count('<svg class="chart"') == 5 and "<rect" in page
    assert "Mentions per day by language" in page
    exported = browser.get("/kpis.csv?table=summary")
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    assert "first_response_median_seconds" in exported.text


def test_the_volume_rollup_agrees_with_counting_directly_through_refreshes_and_corrections(desk):
    from bot.console import actions

    for n in range(4):
        desk.mention(f"@acme my internet is down in street {n}, not working", id=f"d-{n}", author=f"@u{n}")
    desk.mention("@acme thanks, lovely service!", id="p-1", author="@zoe")
    desk.poll()
    days = period(desk)

    def direct(session):
        return sorted(kpis._volume_direct(session, days))

    with desk.session() as session:
        assert kpis.refresh_volume(session, desk.clock.now()) == 0  # too fresh: counted live, not yet rolled up
        assert sorted(kpis.volume_rows(session, days)) == direct(session)
    desk.clock.advance(minutes=11)
    with desk.session() as session:
        assert kpis.refresh_volume(session, desk.clock.now()) == 5
        assert kpis.refresh_volume(session, desk.clock.now()) == 0  # nothing is counted twice
    desk.mention("@acme my router is dead, not working", id="d-9", author="@late")
    desk.poll()
    with desk.session() as session:
        mention_id = session.query(Mention).filter_by(platform_id="p-1").one().id
        actions.correct_triage(session, mention_id, "category", "suggestion", "maria", desk.clock.now())
    with desk.session() as session:
        rows = sorted(kpis.volume_rows(session, days))
        assert rows == direct(session)
        assert sum(r[-1] for r in rows) == 6
        assert any(r[2] == "suggestion" for r in rows)


def test_rebuilding_the_volume_rollup_recounts_it_from_the_mentions(desk):
    for n in range(3):
        desk.mention(f"@acme my internet is down in street {n}, not working", id=f"d-{n}", author=f"@u{n}")
    desk.poll()
    desk.clock.advance(minutes=11)
    days = period(desk)
    with desk.session() as session:
        assert kpis.refresh_volume(session, desk.clock.now()) == 3
        counted = sorted(kpis.volume_rows(session, days))
    with desk.session() as session:
        assert kpis.rebuild_volume(session, desk.clock.now()) == 3  # emptied, then every mention counted again
        assert sorted(kpis.volume_rows(session, days)) == counted == sorted(kpis._volume_direct(session, days))
