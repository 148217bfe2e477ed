"""Compare the judge's verdicts with the labels: agreement per measure, and what went unparsed.

Each sample is one labelled case with one or more graded items (a conversation, each turn of a
conversation, each order of a pair). Its score holds, per measure, the share of its parsed items
on which the judge gave the label, and how many of its items the judge left without a verdict
(`unparsed_items`); its metadata holds every item's label beside the judge's verdict, which is
what `agreement_with_labels` pools.

A verdict the judge could not give (an unparseable reply, a refusal, a finding whose quote failed
the eval's evidence rule) is never counted as agreement or as disagreement: the item is left out
of kappa and accuracy and counted in `unparsed_share`, and the accuracy's worst and best cases
over those items are reported beside it. A case with no verdict at all is unscored.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable
from typing import Any

from inspect_ai.scorer import Metric, SampleScore, Score, Scorer, Target, scorer
from inspect_ai.solver import TaskState
from inspect_ai.util import store_as

from traitlab.evals.judge_check.solver import JudgeVerdicts
from traitlab.judging import Measure
from traitlab.scores import (
    UNSCORED_NOTE_SHARE,
    flagged,
    interval_entries,
    metric_name,
    sample_metric,
    scored,
    unscored,
    unscored_score,
)
from traitlab.statistics import ORDINAL_WEIGHTS, agreement, worst_case_bounds

logger = logging.getLogger(__name__)

UNPARSED = "unparsed_items"


def _agree_key(measure: str) -> str:
    return f"{measure}_agree"


@sample_metric
def agreement_with_labels(*, seed: int = 0) -> Metric:
    """Cohen's kappa and accuracy of the judge against the labels, per measure, pooled over items.

    Reads the measures (in order, the first the headline) and each item's label and verdict from
    the samples' metadata. Entries: `agreement_kappa` and `agreement_accuracy` for the headline
    measure, `agreement_kappa(measure=X)` and `agreement_accuracy(measure=X)` for each, all with
    `_ci_low`, `_ci_high` and `_n` (n = items with both a label and a verdict); kappa is
    quadratic-weighted for ordinal measures and its interval a bootstrap over cases (the turns of
    one conversation are not independent); accuracy's interval is Wilson's. `confusion(X:
    label=a, judge=b)` counts each cell. `unparsed_share` is the share of items the judge gave no
    verdict for, and `agreement_accuracy_worst_low`/`_worst_high` the accuracy if every one of
    them had disagreed/agreed (the worst-case bounds of every traitlab rate). Every epoch counts
    (`sample_metric`), clustered with its case.
    """

    def compute(scores: list[SampleScore]) -> dict[str, float]:
        measures = _measures(scores)
        rows = [
            (sample.sample_id, row)
            for sample in scores
            for row in (sample.score.metadata or {}).get("comparison", [])
        ]
        entries: dict[str, float] = {}
        for number, measure in enumerate(measures):
            mine = [
                (case, r)
                for case, r in rows
                if r["measure"] == measure.name and r["label"] is not None
            ]
            result = agreement(
                [r["label"] for _, r in mine],
                [r["verdict"] for _, r in mine],
                weights=ORDINAL_WEIGHTS if measure.scale == "ordinal" else None,
                categories=measure.categories,
                clusters=[case for case, _ in mine],
                seed=seed,
            )
            unparsed = sum(r["verdict"] is None for _, r in mine)
            graded = len(mine) - unparsed
            agreed = result.accuracy.estimate * graded if graded else 0.0
            bounds = worst_case_bounds(agreed, graded, unparsed)
            groups = (
                [None, f"measure={measure.name}"] if number == 0 else [f"measure={measure.name}"]
            )
            for group in groups:
                entries.update(interval_entries("agreement_kappa", result.kappa, group))
                entries.update(
                    interval_entries("agreement_accuracy", result.accuracy, group, bounds)
                )
            for i, label in enumerate(result.categories):
                for j, verdict in enumerate(result.categories):
                    cell = f"{measure.name}: label={_show(label)}, judge={_show(verdict)}"
                    entries[metric_name("confusion", cell)] = float(result.confusion[i][j])
            if number == 0:
                share = unparsed / len(mine) if mine else float("nan")
                entries["unparsed_share"] = share
                if share > UNSCORED_NOTE_SHARE:
                    logger.warning(
                        f"the judge gave no usable verdict on {unparsed} of {len(mine)} items: "
                        "its agreement over the rest may flatter it (read "
                        "agreement_accuracy_worst_low and unparsed_share)"
                    )
        entries[UNPARSED] = float(
            sum(len((sample.score.metadata or {}).get("errors", {})) for sample in scores)
        )
        return entries

    return compute


def _measures(scores: list[SampleScore]) -> list[Measure]:
    for sample in scores:
        declared = (sample.sample_metadata or {}).get("measures")
        if declared:
            return [Measure.model_validate(m) for m in declared]
    return []


def _show(value: Hashable) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


@scorer(metrics=[agreement_with_labels(), unscored(), flagged()])
def label_agreement() -> Scorer:
    """Set the judge's verdict on each item of the case beside the label.

    Value keys: `<measure>_agree` (share of the case's parsed, labelled items where the judge
    gave the label; NaN when none) and `unparsed_items`. A case where the judge gave no verdict
    on any item is unscored with the judge's reason. Metadata: `comparison` (item, measure,
    label, verdict, agree) and `errors` (item -> why it has no verdict).
    """

    async def score(state: TaskState, target: Target) -> Score:
        measures = [Measure.model_validate(m) for m in state.metadata["measures"]]
        labels: dict[str, dict[str, Any]] = state.metadata["labels"]
        verdicts = store_as(JudgeVerdicts).items
        comparison: list[dict[str, Any]] = []
        errors: dict[str, str] = {}
        partial: dict[str, str] = {}
        for item, expected in labels.items():
            verdict = verdicts.get(item)
            values = verdict.values if verdict is not None else None
            if values is None:
                errors[item] = (verdict.error if verdict else None) or "no verdict"
            elif verdict is not None and verdict.error:
                partial[item] = verdict.error
            for measure in measures:
                given = None if values is None else values.get(measure.name)
                label = expected.get(measure.name)
                comparison.append(
                    {
                        "item": item,
                        "measure": measure.name,
                        "label": label,
                        "verdict": given,
                        "agree": None if given is None or label is None else given == label,
                    }
                )
        metadata = {"comparison": comparison, "errors": errors, "partly_unparsed": partial}
        keys = [_agree_key(m.name) for m in measures]
        explanation = _explanation(comparison, errors, verdicts, partial)
        if len(errors) == len(labels):
            return unscored_score(
                "; ".join(f"{item}: {error}" for item, error in errors.items()),
                [*keys, UNPARSED],
                explanation=explanation,
                metadata={**metadata, UNPARSED: len(errors)},
            )
        values: dict[str, float] = {UNPARSED: len(errors)}
        for measure in measures:
            agreed = [
                r["agree"]
                for r in comparison
                if r["measure"] == measure.name and r["agree"] is not None
            ]
            values[_agree_key(measure.name)] = sum(agreed) / len(agreed) if agreed else float("nan")
        return scored(
            values,
            explanation=explanation,
            answer=_verdict_line(comparison),
            metadata=metadata,
        )

    return score


def _verdict_line(comparison: list[dict[str, Any]]) -> str:
    """The judge's verdicts in one line (the viewer's answer column)."""
    return "; ".join(
        f"{r['item']} {r['measure']}={_show(r['verdict'])}"
        for r in comparison
        if r["verdict"] is not None
    )


def _explanation(
    comparison: list[dict[str, Any]],
    errors: dict[str, str],
    verdicts: dict[str, Any],
    partial: dict[str, str],
) -> str:
    lines = []
    for row in comparison:
        if row["label"] is None or row["item"] in errors:
            continue
        mark = "no verdict" if row["verdict"] is None else "agrees" if row["agree"] else "DISAGREES"
        lines.append(
            f"{row['item']} {row['measure']}: label {_show(row['label'])}, "
            f"judge {_show(row['verdict'])} ({mark})"
        )
    lines += [f"{item}: no verdict ({error})" for item, error in errors.items()]
    lines += [f"{item}: some measures without a verdict ({why})" for item, why in partial.items()]
    lines += [
        f"judge on {item}: {verdict.explanation}"
        for item, verdict in verdicts.items()
        if verdict.explanation
    ]
    return "\n".join(lines)
