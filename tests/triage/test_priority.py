"""Priority grows with negativity, urgency, the author's reach and the mention's age."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.triage.priority import score

NOW = datetime(2026, 3, 2, 12, 0)


def priority(sentiment="neutral", negative=0.1, text="@acme hello", followers=None, age_hours=0.0, vip=False) -> float:
    return score(sentiment, negative, text, followers, NOW - timedelta(hours=age_hours), NOW, 10000, vip)[0]


def test_a_negative_mention_comes_before_a_neutral_one():
    assert priority("negative", 0.9) > priority("neutral", 0.1) > priority("positive", 0.0)


def test_urgent_words_in_either_language_raise_the_priority():
    calm = priority(text="@acme my order is late")
    assert priority(text="@acme my order is late, I need it today!!") > calm
    assert priority(text="@acme mi pedido llega tarde, lo necesito hoy, es urgente") > calm


def test_an_author_with_a_large_audience_comes_first_and_a_vip_counts_fully():
    assert priority(followers=50000) > priority(followers=300) > priority(followers=None)
    assert priority(followers=10) < priority(followers=10, vip=True) == priority(followers=10000)


def test_an_older_mention_rises_until_a_day_old():
    assert priority(age_hours=12) > priority(age_hours=1) > priority(age_hours=0)
    assert priority(age_hours=24) == priority(age_hours=72)


def test_the_explanation_names_each_part_and_the_value_stays_between_0_and_1():
    value, explanation = score(
        "negative", 1.0, "urgent!! now!! today", 10**9, NOW - timedelta(days=9), NOW, 10000, True
    )
    assert value == 1.0
    assert explanation == "priority negativity 1.00, urgency 1.00, reach 1.00, age 1.00"
    assert score("positive", 0.0, "thanks", None, None, None)[0] == 0.0
