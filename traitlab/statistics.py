"""95% intervals for the numbers traitlab reports: Wilson for rates, bootstrap for means.

Checkpoints often differ by a few points; a rate over 40 samples without an interval invites
reading noise as progress. These helpers are plain functions so that metrics, the lint report
and `traitlab report` compute intervals the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from typing import Final, Literal, NamedTuple

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


def worst_case_bounds(successes: float, graded: int, missing: int) -> tuple[float, float]:
    """The rate over graded and missing observations if every missing one were a failure (low)
    or a success (high).

    A judge that refuses exactly the harmful transcripts leaves a rate over the graded ones that
    looks safe; these bounds say how far the unscored observations could move it, whatever the
    reason they are missing (DESIGN principle 12). NaN bounds when there is nothing at all.
    """
    total = graded + missing
    if total <= 0:
        return math.nan, math.nan
    return successes / total, (successes + missing) / total


def corrected_prevalence(
    positives: int,
    n: int,
    *,
    sensitivity: tuple[int, int],
    specificity: tuple[int, int],
    confidence: float = 0.95,
    resamples: int = 4000,
    seed: int = 0,
) -> Interval:
    """Prevalence corrected for a rater's measured error (Rogan and Gladen, 1978).

    ``(p_obs + spec - 1) / (sens + spec - 1)``, clamped to [0, 1], where `p_obs` is the share of
    `n` items the rater called positive, and sensitivity and specificity were measured against
    an independent reference: ``sensitivity=(rater_yes, reference_yes)`` counts the items the
    reference calls positive and how many of them the rater called positive too;
    ``specificity=(rater_no, reference_no)`` likewise for the reference's negatives.

    The interval is a parametric bootstrap that draws all three shares from their Jeffreys
    posteriors (Beta(x + 1/2, m - x + 1/2)), so it carries the uncertainty of the error
    estimates as well as of the observed share: twenty reference labels cannot make a
    correction certain. Draws where the rater is no better than chance (sens + spec <= 1)
    leave the prevalence unidentified and count as anything from 0 to 1. When the reference
    holds no positives (or no negatives) the plug-in estimate is undefined and the estimate is
    the bootstrap median. NaN when the rater is no better than chance on the measured shares.
    """
    if n <= 0:
        return NAN_INTERVAL
    if not 0 <= positives <= n:
        raise ValueError(f"positives ({positives}) must lie in [0, n={n}]")
    for name, (hits, total) in (("sensitivity", sensitivity), ("specificity", specificity)):
        if not 0 <= hits <= total:
            raise ValueError(f"{name} ({hits} of {total}) must have 0 <= hits <= total")
    rng = np.random.default_rng(seed)

    def draws(hits: int, total: int) -> np.ndarray:
        return rng.beta(hits + 0.5, total - hits + 0.5, size=resamples)

    observed, sens, spec = draws(positives, n), draws(*sensitivity), draws(*specificity)
    denominator = sens + spec - 1
    identified = denominator > 0
    corrected = np.clip((observed + spec - 1) / np.where(identified, denominator, 1.0), 0.0, 1.0)
    # An unidentified draw could be any prevalence: it widens both tails.
    alpha = (1 - confidence) / 2
    unidentified = 1.0 - identified.mean()
    if unidentified >= alpha:
        low, high = 0.0, 1.0
    else:
        kept = np.sort(corrected[identified])
        # The unidentified draws sit at both ends; take the quantiles of the rest accordingly.
        share = (alpha - unidentified / 2) / (1 - unidentified)
        low, high = (float(v) for v in np.quantile(kept, [max(share, 0.0), 1 - max(share, 0.0)]))
    if sensitivity[1] and specificity[1]:
        sens_hat, spec_hat = sensitivity[0] / sensitivity[1], specificity[0] / specificity[1]
        if sens_hat + spec_hat <= 1:
            return Interval(math.nan, low, high, n)
        estimate = (positives / n + spec_hat - 1) / (sens_hat + spec_hat - 1)
        estimate = min(1.0, max(0.0, estimate))
    else:
        estimate = float(np.median(corrected[identified])) if identified.any() else math.nan
    return Interval(estimate, min(low, estimate), max(high, estimate), n)


ORDINAL_WEIGHTS: Final = "quadratic"
"""The one kappa weighting for ordinal grades across traitlab: a judge's agreement with a second
judge in an eval (`judge2_kappa`) and with labels in `judge_check` is then the same statistic."""


class Agreement(NamedTuple):
    """How far two graders agree over the same items."""

    kappa: Interval
    """Cohen's kappa (weighted when asked), with a bootstrap 95% interval over items."""
    accuracy: Interval
    """The share of items both graders put in the same category (Wilson)."""
    categories: list
    """The category order of `confusion`."""
    confusion: list[list[int]]
    """Counts: rows are the first grader's categories, columns the second's."""


def agreement(
    a: Sequence[Hashable | None],
    b: Sequence[Hashable | None],
    *,
    weights: Literal["linear", "quadratic"] | None = None,
    categories: Sequence[Hashable] | None = None,
    clusters: Sequence[object] | None = None,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Agreement:
    """Agreement of grader `a` with grader `b` (or with reference labels) over the same items.

    Cohen's kappa corrects raw agreement for what two graders with these marginals would reach
    by chance; a judge that always says "violated" agrees often on a mostly violating set and
    still gets kappa 0. For ordinal scales (a 0-4 confirmation grade) `weights` gives partial
    credit to near misses (linear or quadratic in the distance between category positions in
    `categories`, which must then be given). Pairs with a missing grade (None or NaN) on either
    side are dropped: count them apart. The interval resamples items, or whole `clusters`
    (turns of one conversation) when given; kappa is NaN where it is undefined (both graders
    constant on one category), and its interval skips resamples where it is.
    """
    if len(a) != len(b) or (clusters is not None and len(clusters) != len(a)):
        raise ValueError("a, b (and clusters) must have the same length")
    if weights is not None and categories is None:
        raise ValueError("weighted kappa needs the categories in order")
    groups = clusters if clusters is not None else range(len(a))
    pairs = [
        (x, y, g)
        for x, y, g in zip(a, b, groups, strict=True)
        if not (_is_missing(x) or _is_missing(y))
    ]
    order = list(categories) if categories is not None else _category_order(pairs)
    position = {category: index for index, category in enumerate(order)}
    unknown = {v for x, y, _ in pairs for v in (x, y) if v not in position}
    if unknown:
        raise ValueError(f"grades outside the categories {order}: {sorted(map(str, unknown))}")
    k = len(order)
    if not pairs or k == 0:
        return Agreement(NAN_INTERVAL, NAN_INTERVAL, order, [[0] * k for _ in range(k)])
    labels: dict[object, int] = {}
    cell = np.asarray([position[x] * k + position[y] for x, y, _ in pairs])
    group = np.asarray([labels.setdefault(g, len(labels)) for _, _, g in pairs])
    # Per-cluster confusion counts: a resample of clusters sums their rows.
    per_group = np.zeros((len(labels), k * k))
    np.add.at(per_group, (group, cell), 1.0)
    distance = np.abs(np.subtract.outer(np.arange(k), np.arange(k))) / max(k - 1, 1)
    weight = {None: (distance == 0).astype(float), "linear": 1 - distance}.get(
        weights, 1 - distance**2
    )
    table = per_group.sum(axis=0)
    estimate = float(_kappa(table[None, :], weight, k)[0])
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(labels), size=(resamples, len(labels)))
    stats = _kappa(per_group[picks].sum(axis=1), weight, k)
    stats = stats[~np.isnan(stats)]
    if len(labels) < 2 or not len(stats) or math.isnan(estimate):
        kappa = Interval(estimate, math.nan, math.nan, len(pairs))
    else:
        alpha = (1 - confidence) / 2
        low, high = np.quantile(stats, [alpha, 1 - alpha])
        low, high = min(estimate, float(low)), max(estimate, float(high))
        kappa = Interval(estimate, low, high, len(pairs))
    matches = int(sum(x == y for x, y, _ in pairs))
    confusion = table.reshape(k, k).astype(int).tolist()
    return Agreement(kappa, wilson_interval(matches, len(pairs)), order, confusion)


def _kappa(tables: np.ndarray, weight: np.ndarray, k: int) -> np.ndarray:
    """Weighted kappa of each row of `tables` (flattened k x k confusion counts)."""
    counts = tables.reshape(-1, k, k)
    total = counts.sum(axis=(1, 2))
    observed = (counts * weight).sum(axis=(1, 2)) / total
    expected_table = counts.sum(axis=2)[:, :, None] * counts.sum(axis=1)[:, None, :]
    expected = (expected_table * weight).sum(axis=(1, 2)) / total**2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(expected < 1 - 1e-12, (observed - expected) / (1 - expected), np.nan)


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _category_order(pairs: list[tuple[object, object, object]]) -> list:
    seen = {v for x, y, _ in pairs for v in (x, y)}
    try:
        return sorted(seen)  # type: ignore[type-var]
    except TypeError:
        return sorted(seen, key=str)


def ratio_difference(
    treatment: Sequence[tuple[float, float]],
    baseline: Sequence[tuple[float, float]],
    *,
    clusters: Sequence[object] | None = None,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Interval:
    """Interval for sum(t)/count(t) - sum(b)/count(b), each item a (sum, count) pair.

    A metric pooled over units of a sample (the graded turns of a conversation) is a ratio of
    sums, not a mean of per-sample shares; a difference must estimate the difference of the
    metric as displayed, so it is taken on the same ratio. With `clusters`, the two sequences
    are paired (item i of each is the same sample) and whole clusters are resampled together;
    without, each side is resampled on its own. With every count 1 this is the difference of
    means. `n` is the number of pairs (paired) or the smaller side (unpaired).
    """
    a = np.asarray(treatment, dtype=float).reshape(-1, 2)
    b = np.asarray(baseline, dtype=float).reshape(-1, 2)
    if not len(a) or not len(b) or a[:, 1].sum() <= 0 or b[:, 1].sum() <= 0:
        return NAN_INTERVAL
    estimate = float(a[:, 0].sum() / a[:, 1].sum() - b[:, 0].sum() / b[:, 1].sum())
    rng = np.random.default_rng(seed)
    alpha = (1 - confidence) / 2
    if clusters is not None:
        if not (len(clusters) == len(a) == len(b)):
            raise ValueError("paired sides and clusters must have the same length")
        labels: dict[object, int] = {}
        index = np.asarray([labels.setdefault(c, len(labels)) for c in clusters])
        k = len(labels)
        if k < 2:
            return Interval(estimate, math.nan, math.nan, len(a))
        sums = np.stack(
            [np.bincount(index, weights=col, minlength=k) for col in (*a.T, *b.T)], axis=1
        )
        picked = sums[rng.integers(0, k, size=(resamples, k))].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            stats = picked[:, 0] / picked[:, 1] - picked[:, 2] / picked[:, 3]
        n = len(a)
    else:
        if len(a) < 2 or len(b) < 2:
            return Interval(estimate, math.nan, math.nan, min(len(a), len(b)))
        pa = a[rng.integers(0, len(a), size=(resamples, len(a)))].sum(axis=1)
        pb = b[rng.integers(0, len(b), size=(resamples, len(b)))].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            stats = pa[:, 0] / pa[:, 1] - pb[:, 0] / pb[:, 1]
        n = min(len(a), len(b))
    stats = stats[np.isfinite(stats)]
    low, high = np.quantile(stats, [alpha, 1 - alpha])
    return Interval(estimate, min(estimate, float(low)), max(estimate, float(high)), n)
