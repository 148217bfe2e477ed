from __future__ import annotations

import math

import numpy as np
import pytest

from traitlab.statistics import (
    agreement,
    bootstrap_interval,
    cluster_bootstrap_interval,
    corrected_prevalence,
    ratio_difference,
    wilson_interval,
    worst_case_bounds,
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


def test_ratio_difference_separates_planted_gap_unpaired() -> None:
    rng = np.random.default_rng(2)
    a = [(v, 1.0) for v in rng.normal(1.0, 0.5, 100)]
    b = [(v, 1.0) for v in rng.normal(0.0, 0.5, 100)]
    c = [(v, 1.0) for v in rng.normal(0.0, 0.5, 100)]
    assert ratio_difference(a, b).excludes(0.0)
    assert not ratio_difference(b, c).excludes(0.0)


def test_ratio_difference_is_the_difference_of_pooled_rates() -> None:
    """Conversations of unequal length: the pooled rate, not the mean of per-sample shares."""
    treatment = [(1.0, 1.0), (0.0, 11.0), (6.0, 6.0)]  # 7 of 18 turns
    baseline = [(1.0, 1.0), (0.0, 11.0), (0.0, 6.0)]  # 1 of 18 turns
    interval = ratio_difference(treatment, baseline, clusters=["a", "b", "c"])
    assert interval.estimate == pytest.approx(6 / 18)
    assert interval.n == 3
    same = ratio_difference(baseline, baseline, clusters=["a", "b", "c"])
    assert (same.estimate, same.low, same.high) == (0.0, 0.0, 0.0)


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


def test_worst_case_bounds_count_every_missing_observation_both_ways() -> None:
    assert worst_case_bounds(0, 8, 4) == pytest.approx((0.0, 4 / 12))
    assert worst_case_bounds(8, 8, 4) == pytest.approx((8 / 12, 1.0))
    assert worst_case_bounds(3, 8, 0) == pytest.approx((3 / 8, 3 / 8))
    assert all(math.isnan(v) for v in worst_case_bounds(0, 0, 0))


def _simulate_rater(
    truth: np.ndarray, sensitivity: float, specificity: float, rng: np.random.Generator
) -> np.ndarray:
    """A rater whose mistakes are fixed per item (asking it again repeats them)."""
    draw = rng.random(len(truth))
    return np.where(truth, draw < sensitivity, draw >= specificity)


@pytest.mark.parametrize("prevalence", [0.02, 0.05, 0.3])
def test_corrected_prevalence_covers_the_truth_where_the_raw_rate_does_not(
    prevalence: float,
) -> None:
    """A rater with 10% false positives reads a 5% pattern as ~14%; a reference subsample of
    300 items measures its error and the corrected interval covers the truth."""
    covered = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        truth = rng.random(5000) < prevalence
        rated = _simulate_rater(truth, 0.9, 0.9, rng)
        reference = rng.choice(5000, size=300, replace=False)
        ref_truth, ref_rated = truth[reference], rated[reference]
        interval = corrected_prevalence(
            int(rated.sum()),
            len(rated),
            sensitivity=(int((ref_rated & ref_truth).sum()), int(ref_truth.sum())),
            specificity=(int((~ref_rated & ~ref_truth).sum()), int((~ref_truth).sum())),
        )
        raw = wilson_interval(int(rated.sum()), len(rated))
        assert raw.low > truth.mean() or prevalence > 0.2  # the raw rate is biased upward
        covered += interval.low <= truth.mean() <= interval.high
    assert covered >= 18


def test_corrected_prevalence_carries_the_reference_size() -> None:
    small = corrected_prevalence(140, 1000, sensitivity=(9, 10), specificity=(18, 20))
    large = corrected_prevalence(140, 1000, sensitivity=(90, 100), specificity=(180, 200))
    assert small.estimate == pytest.approx(large.estimate)
    assert small.high - small.low > 1.5 * (large.high - large.low)


def test_corrected_prevalence_edges() -> None:
    chance = corrected_prevalence(500, 1000, sensitivity=(5, 10), specificity=(5, 10))
    assert math.isnan(chance.estimate)
    no_positives = corrected_prevalence(30, 1000, sensitivity=(0, 0), specificity=(95, 100))
    assert 0.0 <= no_positives.low <= no_positives.estimate <= no_positives.high <= 1.0
    with pytest.raises(ValueError, match="hits"):
        corrected_prevalence(3, 10, sensitivity=(5, 4), specificity=(1, 1))


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_agreement_kappa_matches_scikit_learn(weights: str | None) -> None:
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(3)
    a = rng.integers(0, 5, size=80)
    b = np.clip(a + rng.integers(-1, 2, size=80), 0, 4)
    result = agreement(list(a), list(b), weights=weights, categories=[0, 1, 2, 3, 4])
    assert result.kappa.estimate == pytest.approx(cohen_kappa_score(a, b, weights=weights))
    assert result.kappa.low < result.kappa.estimate < result.kappa.high
    assert result.accuracy.estimate == pytest.approx(float(np.mean(a == b)))
    assert sum(map(sum, result.confusion)) == 80


def test_agreement_of_a_constant_judge_is_chance_whatever_its_accuracy() -> None:
    labels = ["violated"] * 18 + ["kept"] * 2
    always = agreement(["violated"] * 20, labels)
    assert always.accuracy.estimate == pytest.approx(0.9)
    assert always.kappa.estimate == pytest.approx(0.0)
    # Rows are the judge (kept, violated), columns the labels: it never says "kept".
    assert always.confusion == [[0, 0], [2, 18]]


def test_agreement_drops_missing_pairs_and_checks_categories() -> None:
    result = agreement([1, None, 0, math.nan, 1], [1, 1, 0, 0, 0])
    assert result.kappa.n == 3
    with pytest.raises(ValueError, match="outside the categories"):
        agreement([1, 2], [1, 1], categories=[0, 1])
    with pytest.raises(ValueError, match="categories in order"):
        agreement([1, 2], [1, 1], weights="linear")


def test_agreement_clusters_widen_the_interval() -> None:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 2, size=10)
    a = np.repeat(base, 10)  # ten conversations of ten identical turns
    b = np.repeat(np.where(rng.random(10) < 0.8, base, 1 - base), 10)
    clusters = np.repeat(np.arange(10), 10)
    plain = agreement(list(a), list(b))
    clustered = agreement(list(a), list(b), clusters=list(clusters))
    assert plain.kappa.estimate == pytest.approx(clustered.kappa.estimate)
    width = clustered.kappa.high - clustered.kappa.low
    assert width > 1.5 * (plain.kappa.high - plain.kappa.low)
