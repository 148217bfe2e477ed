"""Metrics over what the judging core records: verified findings and two judges' agreement.

Both read the score metadata `judge_sample` writes (`VERIFICATION_KEY`, `AGREEMENT_KEY`), so a
scorer gets them by listing the metrics, whatever its own values are.
"""

from __future__ import annotations

import math
from typing import Any

from inspect_ai.scorer import Metric, SampleScore

from traitlab.judging._grade import AGREEMENT_KEY, VERIFICATION_KEY
from traitlab.scores import group_label, interval_entries, metric_name, sample_metric
from traitlab.statistics import ORDINAL_WEIGHTS, agreement


@sample_metric
def verification() -> Metric:
    """How many positive findings the verifier confirmed, and how many it did not.

    ``findings_verified``: confirmed; ``findings_unverified``: not confirmed, or the verifier
    gave no usable answer. Each unverified finding left the measures it supports unscored, so a
    large count says the judge's positive findings were often out of context (or the verifier
    refused): read the unscored samples' bounds with that in mind.
    """

    def compute(scores: list[SampleScore]) -> dict[str, float]:
        checks = [
            check for s in scores for check in (s.score.metadata or {}).get(VERIFICATION_KEY) or []
        ]
        confirmed = sum(check.get("confirmed") is True for check in checks)
        return {
            "findings_verified": float(confirmed),
            "findings_unverified": float(len(checks) - confirmed),
        }

    return compute


def _integer_scale(levels: set[Any]) -> list[int]:
    """Every integer from the lowest grade seen to the highest: a grade no judge gave still keeps
    its place on the scale, so 1 against 4 is not scored as a near miss."""
    return list(range(int(min(levels)), int(max(levels)) + 1))


def _category(value: Any) -> Any:
    """A grade as a category: booleans as 0/1 (so they match grades given as numbers)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and (math.isnan(value) or value.is_integer()):
        return None if math.isnan(value) else int(value)
    return value


@sample_metric
def judge_agreement(*, seed: int = 0) -> Metric:
    """Agreement of the judge with the second judge (`judge2`) per measure, where it graded.

    Entries, per measure (``measure=NAME``; per-turn keys ``NAME[turn=N]`` pool into ``NAME``):
    ``judge2_kappa`` (Cohen's kappa; for integer grades with more than two levels weighted as
    `traitlab.statistics.ORDINAL_WEIGHTS`, over every integer from the lowest grade to the
    highest, as judge_check weights its ordinal measures) and ``judge2_accuracy`` (exact
    agreement), each with its 95% interval and n (pairs where both judges have a grade; the
    bootstrap resamples samples, so a conversation's turns and a sample's epochs move
    together), and ``judge2_disagreements`` (pairs that differ; each sample lists its own under
    ``judge2_disagreements`` in the score metadata). Overall,
    ``judge2_samples``: samples the second judge was asked about (0 when it is not bound).
    """

    def compute(scores: list[SampleScore]) -> dict[str, float]:
        pairs: dict[str, tuple[list[Any], list[Any], list[object]]] = {}
        asked = 0
        for sample_score in scores:
            record = (sample_score.score.metadata or {}).get(AGREEMENT_KEY)
            if not record:
                continue
            asked += 1
            for name, pair in record.items():
                judge, judge2, clusters = pairs.setdefault(name.split("[", 1)[0], ([], [], []))
                judge.append(_category(pair.get("judge")))
                judge2.append(_category(pair.get("judge2")))
                clusters.append(sample_score.sample_id)
        entries = {"judge2_samples": float(asked)}
        for measure, (judge, judge2, clusters) in sorted(pairs.items()):
            levels = {v for v in [*judge, *judge2] if v is not None}
            ordinal = len(levels) > 2 and all(
                isinstance(v, int | float) and float(v).is_integer() for v in levels
            )
            result = agreement(
                judge,
                judge2,
                weights=ORDINAL_WEIGHTS if ordinal else None,
                categories=_integer_scale(levels) if ordinal else None,
                clusters=clusters,
                seed=seed,
            )
            group = group_label("measure", measure)
            entries.update(interval_entries("judge2_kappa", result.kappa, group))
            entries.update(interval_entries("judge2_accuracy", result.accuracy, group))
            differ = sum(
                a is not None and b is not None and a != b
                for a, b in zip(judge, judge2, strict=True)
            )
            entries[metric_name("judge2_disagreements", group)] = float(differ)
        return entries

    return compute
