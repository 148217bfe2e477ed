"""Metric names: what Inspect's console prints is what the log holds."""

from __future__ import annotations

import pytest
from rich.text import Text

from traitlab.scores import interval_entries, metric_name, split_metric_name
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
