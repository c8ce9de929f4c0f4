"""The spike rollup follows people: a corrected sentiment moves its mention's count, before or after it is rolled up."""

from __future__ import annotations

from sqlalchemy import select

from bot.console import actions
from bot.early_warning import buckets
from bot.storage.models import Mention, MentionBucket


def all_topics_row(desk) -> tuple[int, int]:
    """(mentions, negative) of the rollup's all-topics rows."""
    with desk.session() as session:
        rows = session.scalars(select(MentionBucket).where(MentionBucket.topic == "")).all()
        return sum(r.mentions for r in rows), sum(r.negative for r in rows)


def test_a_negative_mention_corrected_to_neutral_leaves_the_negative_count(desk):
    desk.mention("@acme my internet is down again, not working at all", id="n-1", author="@ana")
    desk.poll()
    desk.clock.advance(minutes=desk.config.early_warning.settle_minutes + 1)
    with desk.session() as session:
        assert buckets.fill(session, desk.config, desk.clock.now()) == 1
        mention = session.scalars(select(Mention)).one()
        assert mention.triage.sentiment == "negative"
        mention_id = mention.id
    assert all_topics_row(desk) == (1, 1)

    with desk.session() as session:
        actions.correct_triage(session, mention_id, "sentiment", "neutral", "maria", desk.clock.now(), desk.config)

    assert all_topics_row(desk) == (1, 0)
    with desk.session() as session:  # and the rollup agrees with counting the mention afresh
        fresh = buckets.count(desk.config, [buckets._triaged(session, 0)[0]])
        assert sum(c["negative"] for (_b, _brand, topic), c in fresh.items() if topic == "") == 0


def test_a_correction_before_the_rollup_is_counted_live_with_its_new_values(desk):
    desk.mention("@acme my internet is down again, not working at all", id="n-1", author="@ana")
    desk.poll()
    with desk.session() as session:
        mention_id = session.scalars(select(Mention.id)).one()
        actions.correct_triage(session, mention_id, "sentiment", "neutral", "maria", desk.clock.now(), desk.config)
    assert all_topics_row(desk) == (0, 0)  # nothing rolled up, nothing moved
    with desk.session() as session:
        live = buckets.live(session, desk.config)
        assert sum(c["negative"] for (_b, _brand, topic), c in live.items() if topic == "") == 0
        assert sum(c["mentions"] for (_b, _brand, topic), c in live.items() if topic == "") == 1
    desk.clock.advance(minutes=desk.config.early_warning.settle_minutes + 1)
    with desk.session() as session:
        buckets.fill(session, desk.config, desk.clock.now())
    assert all_topics_row(desk) == (1, 0)
