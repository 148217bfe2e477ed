"""Metric names: what Inspect's console prints is what the log holds."""

from __future__ import annotations

import pytest
from inspect_ai.scorer import SampleScore, Score
from rich.text import Text

from traitlab.scores import interval_entries, metric_name, rate, split_metric_name
from traitlab.statistics import Interval


@pytest.mark.parametrize(
    "group", ["trait_id=honesty", "leak/explicit/replacement", "turn=3", "persona=a-b", "Upper"]
)
def test_group_names_survive_rich_markup(group: str) -> None:
    """Inspect's summary passes metric names to Rich as markup, where `[x=y]` is a style tag."""
    for name in interval_entries("violated_rate", Interval(0.5, 0.2, 0.8, 4), group):
        assert Text.from_markup(name).plain == name
        assert split_metric_name(name)[1] == group


def test_names_round_trip() -> None:
    assert metric_name("violated_rate") == "violated_rate"
    assert split_metric_name(metric_name("x_rate_ci_low", "trait_id=a")) == (
        "x_rate_ci_low",
        "trait_id=a",
    )
    assert split_metric_name("accuracy") == ("accuracy", None)
    assert split_metric_name("f(x)y") == ("f(x)y", None)


def _scores(values: list[float]) -> list[SampleScore]:
    return [SampleScore(score=Score(value={"hit": v}), sample_id=i) for i, v in enumerate(values)]


def test_a_rate_over_shares_counts_each_as_its_fraction() -> None:
    """Epoch-reduced indicators (1 of 3 -> 0.33) are shares; a threshold would read them as 0."""
    shares = _scores([1 / 3, 1 / 3, 2 / 3])
    assert rate("hit")(shares)["hit_rate"] == pytest.approx(1 / 3)  # only 2/3 passes 0.5
    entries = rate("hit", threshold=None)(shares)
    assert entries["hit_rate"] == pytest.approx(4 / 9) and entries["hit_rate_n"] == 3
    assert entries["hit_rate_ci_low"] < 4 / 9 < entries["hit_rate_ci_high"]
    with pytest.raises(ValueError, match="shares in"):
        rate("hit", threshold=None)(_scores([0.5, 2.0]))
