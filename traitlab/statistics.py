"""95% intervals for the numbers traitlab reports: Wilson for rates, bootstrap for means.

Checkpoints often differ by a few points; a rate over 40 samples without an interval invites
reading noise as progress. These helpers are plain functions so that metrics, the lint report
and `traitlab report` compute intervals the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

Z_95 = 1.959963984540054


class Interval(NamedTuple):
    """A point estimate with its interval and the number of observations behind it."""

    estimate: float
    low: float
    high: float
    n: int

    def excludes(self, value: float = 0.0) -> bool:
        """Whether `value` lies outside the interval (NaN intervals exclude nothing)."""
        return bool(self.low > value or self.high < value)

    def format(self, digits: int = 2, percent: bool = False) -> str:
        if self.n == 0 or math.isnan(self.estimate):
            return f"n/a (n={self.n})"
        scale, unit = (100.0, "%") if percent else (1.0, "")
        digits = max(0, digits - 2) if percent else digits
        est, lo, hi = (v * scale for v in (self.estimate, self.low, self.high))
        if math.isnan(lo):
            return f"{est:.{digits}f}{unit} (n={self.n})"
        return f"{est:.{digits}f}{unit} [{lo:.{digits}f}, {hi:.{digits}f}] (n={self.n})"


NAN_INTERVAL = Interval(math.nan, math.nan, math.nan, 0)


def wilson_interval(successes: float, n: int, z: float = Z_95) -> Interval:
    """Wilson score interval for a binomial rate; well behaved at 0%, 100% and small n."""
    if n <= 0:
        return NAN_INTERVAL
    if successes < 0 or successes > n:
        raise ValueError(f"successes ({successes}) must lie in [0, n={n}]")
    p = successes / n
    low, high = _wilson_bounds(p, n, z)
    return Interval(p, low, high, n)


def bootstrap_interval(
    values: Sequence[float],
    statistic: Callable[[np.ndarray], float] = np.mean,
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap interval of `statistic` over `values` (NaNs dropped).

    Seeded, so the same values always give the same interval. One value gives the estimate
    with a NaN interval: a single observation says nothing about spread.
    """
    data = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    n = len(data)
    if n == 0:
        return NAN_INTERVAL
    estimate = float(statistic(data))
    if n == 1:
        return Interval(estimate, math.nan, math.nan, 1)
    rng = np.random.default_rng(seed)
    samples = data[rng.integers(0, n, size=(resamples, n))]
    if statistic is np.mean:
        stats = samples.mean(axis=1)
    else:
        stats = np.apply_along_axis(statistic, 1, samples)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(stats, [alpha, 1 - alpha])
    return Interval(estimate, float(low), float(high), n)


def cluster_bootstrap_interval(
    values: Sequence[float],
    clusters: Sequence[object],
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Interval:
    """Interval for the pooled mean of `values` when observations come in correlated clusters.

    Repeated audits of one trait, the turns of one conversation and the epochs of one scenario
    are not independent; resampling single observations would make the interval too narrow.
    This resamples whole clusters with replacement (the cluster bootstrap) and recomputes the
    pooled mean. `n` is the number of observations; with one cluster the interval is NaN.
    """
    if len(values) != len(clusters):
        raise ValueError("values and clusters must have the same length")
    kept = [(v, c) for v, c in zip(values, clusters, strict=True) if not math.isnan(v)]
    if not kept:
        return NAN_INTERVAL
    labels: dict[object, int] = {}
    index = np.asarray([labels.setdefault(c, len(labels)) for _, c in kept])
    data = np.asarray([v for v, _ in kept], dtype=float)
    estimate = float(data.mean())
    k = len(labels)
    if k == 1:
        return Interval(estimate, math.nan, math.nan, len(data))
    sums = np.bincount(index, weights=data, minlength=k)
    counts = np.bincount(index, minlength=k).astype(float)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, k, size=(resamples, k))
    stats = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(stats, [alpha, 1 - alpha])
    # Clamped to contain the estimate, as the Wilson interval is.
    return Interval(estimate, min(estimate, float(low)), max(estimate, float(high)), len(data))


def cluster_wilson_interval(
    successes: Sequence[bool | float], clusters: Sequence[object], z: float = Z_95
) -> Interval:
    """Wilson interval for a rate whose observations come in correlated clusters.

    The Wilson interval is taken at an effective sample size n / deff (Kish's design effect),
    so it stays well behaved at 0% and 100%, where a cluster bootstrap collapses to a point.
    deff is the ratio of the cluster-robust variance of the rate to the binomial one, never
    below 1; when every observation agrees (0% or 100%) it cannot be estimated and is taken as
    the mean cluster size, as if each cluster were one observation. Singleton clusters give
    Wilson's own interval. `n` is the number of observations.
    """
    if len(successes) != len(clusters):
        raise ValueError("successes and clusters must have the same length")
    values = [float(v) for v in successes]
    n = len(values)
    if n == 0:
        return NAN_INTERVAL
    members: dict[object, list[float]] = {}
    for value, cluster in zip(values, clusters, strict=True):
        members.setdefault(cluster, []).append(value)
    k = len(members)
    p = sum(values) / n
    if k == n:
        deff = 1.0
    elif p in (0.0, 1.0) or k == 1:
        deff = n / k
    else:
        robust = k / (k - 1) * sum((sum(m) - p * len(m)) ** 2 for m in members.values()) / n**2
        deff = max(1.0, robust / (p * (1 - p) / n))
    effective = n / deff
    low, high = _wilson_bounds(p, effective, z)
    return Interval(p, low, high, n)


def _wilson_bounds(p: float, n: float, z: float) -> tuple[float, float]:
    """Wilson's bounds for rate `p` over `n` (possibly effective, non-integer) observations."""
    denominator = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denominator
    # Clamped to contain p: at 0% or 100% rounding can put a bound a hair past the estimate.
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


def bootstrap_difference(
    treatment: Sequence[float],
    baseline: Sequence[float],
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Interval:
    """Interval for mean(treatment) - mean(baseline), resampling each group independently."""
    a = np.asarray([v for v in treatment if not math.isnan(v)], dtype=float)
    b = np.asarray([v for v in baseline if not math.isnan(v)], dtype=float)
    if len(a) == 0 or len(b) == 0:
        return NAN_INTERVAL
    estimate = float(a.mean() - b.mean())
    n = min(len(a), len(b))
    if len(a) < 2 or len(b) < 2:
        return Interval(estimate, math.nan, math.nan, n)
    rng = np.random.default_rng(seed)
    diffs = a[rng.integers(0, len(a), size=(resamples, len(a)))].mean(axis=1) - b[
        rng.integers(0, len(b), size=(resamples, len(b)))
    ].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(diffs, [alpha, 1 - alpha])
    return Interval(estimate, float(low), float(high), n)
