from __future__ import annotations

import math

import numpy as np
import pytest

from traitlab.statistics import (
    bootstrap_difference,
    bootstrap_interval,
    cluster_bootstrap_interval,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        (5, 10, 0.2366, 0.7634),
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (1, 100, 0.0018, 0.0545),
    ],
)
def test_wilson_known_values(successes: int, n: int, low: float, high: float) -> None:
    interval = wilson_interval(successes, n)
    assert interval.estimate == pytest.approx(successes / n)
    assert (interval.low, interval.high) == pytest.approx((low, high), abs=1e-4)
    assert interval.n == n


def test_wilson_edge_cases() -> None:
    assert math.isnan(wilson_interval(0, 0).estimate)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


@pytest.mark.parametrize("n", [3, 6, 7, 10, 13, 25])
def test_wilson_contains_the_estimate_at_the_extremes(n: int) -> None:
    none, every = wilson_interval(0, n), wilson_interval(n, n)
    assert none.low == 0.0 and not none.excludes(0.0)
    assert every.high == 1.0 and not every.excludes(1.0)


def test_bootstrap_mean_is_seeded_and_covers_the_mean() -> None:
    values = list(np.random.default_rng(1).normal(3.0, 1.0, size=200))
    first, second = bootstrap_interval(values), bootstrap_interval(values)
    assert first == second
    assert first.low < 3.0 < first.high
    assert first.high - first.low == pytest.approx(2 * 1.96 / math.sqrt(200), rel=0.25)


def test_bootstrap_degenerate_inputs() -> None:
    assert bootstrap_interval([]).n == 0
    single = bootstrap_interval([2.0, math.nan])
    assert single.estimate == 2.0 and single.n == 1 and math.isnan(single.low)
    constant = bootstrap_interval([1.0] * 5)
    assert (constant.low, constant.high) == (1.0, 1.0)


def test_bootstrap_difference_separates_planted_gap() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(1.0, 0.5, 100), rng.normal(0.0, 0.5, 100)
    assert bootstrap_difference(a, b).excludes(0.0)
    assert not bootstrap_difference(b, rng.normal(0.0, 0.5, 100)).excludes(0.0)


def test_cluster_bootstrap_is_wider_than_the_naive_interval_for_correlated_clusters() -> None:
    # Ten conversations whose turns all agree: ten independent observations, not a hundred.
    values = [float(c % 2) for c in range(10) for _ in range(10)]
    clusters = [c for c in range(10) for _ in range(10)]
    clustered = cluster_bootstrap_interval(values, clusters)
    naive = bootstrap_interval(values)
    assert clustered.estimate == naive.estimate == 0.5 and clustered.n == 100
    assert (clustered.high - clustered.low) > 2 * (naive.high - naive.low)
    # Independent clusters of one observation each match the plain bootstrap's width.
    single = cluster_bootstrap_interval(values, list(range(100)))
    assert abs((single.high - single.low) - (naive.high - naive.low)) < 0.05


def test_cluster_bootstrap_edge_cases() -> None:
    one = cluster_bootstrap_interval([1.0, 0.0, 1.0], ["a", "a", "a"])
    assert one.estimate == 2 / 3 and math.isnan(one.low) and one.n == 3
    assert cluster_bootstrap_interval([math.nan], ["a"]).n == 0
    with pytest.raises(ValueError, match="same length"):
        cluster_bootstrap_interval([1.0], [])
