"""Charts a person reads at a glance: every gridline's label is the exact count it marks."""

from __future__ import annotations

import re

from bot.console.charts import stacked_bars


def gridline_labels(svg: str) -> list[int]:
    """The numbers written beside the chart's gridlines, bottom to top."""
    return [int(n) for n in re.findall(r'class="axis" text-anchor="end">(\d+)</text>', svg)]


def test_the_axis_counts_in_equal_whole_steps_that_reach_the_tallest_bar():
    for tallest in (0, 1, 3, 7, 10, 14, 23, 99, 101, 1234):
        labels = gridline_labels(str(stacked_bars("t", "T", ["2026-01-05"], {"x": {"2026-01-05": tallest}})))
        step = labels[1]
        assert labels == [step * i for i in range(5)], (tallest, labels)
        assert labels[-1] >= tallest and labels[-1] - tallest <= max(labels[-1] / 2, 4), (tallest, labels)


def test_a_ten_mention_peak_is_not_labelled_two_and_seven():
    labels = gridline_labels(str(stacked_bars("t", "T", ["d1", "d2"], {"x": {"d1": 8, "d2": 10}})))
    assert labels == [0, 3, 6, 9, 12]
