"""Lint features as an Inspect scorer: the rate of a data pattern in a checkpoint's outputs.

The lint finds a pattern in training data ("leads with a verdict on the user's premise") and
writes its autorater to features.json; this scorer runs the same autorater on the target's final
output in any eval, so a filtered dataset's effect on the model can be measured (for example,
BLUF answers falling from 52% to 41% after the pattern was filtered out of the SFT data).
"""

from __future__ import annotations

from pathlib import Path

from inspect_ai.scorer import Metric, SampleScore, Score, Scorer, Target, scorer
from inspect_ai.solver import TaskState

from traitlab.models import Role, role_model
from traitlab.prompts import PromptOverride, resolve_prompt
from traitlab.scores import (
    flagged,
    flagged_score,
    rate,
    sample_metric,
    scored,
    target_was_called,
    unscored,
    unscored_score,
)

_LEVEL_SUFFIXES = ("_broad", "_strict")


@sample_metric
def pattern_rates(*, by: str | None = None, keys: list[str] | None = None) -> Metric:
    """`rate(...)` with Wilson intervals for every `<feature>_broad`/`_strict` score key.

    Each key is a 0/1 indicator per reply. Like every traitlab metric it sees every epoch
    (`sample_metric`), so under ``--epochs`` each reply counts and the replies to one prompt
    are clustered (a pattern in 13.5% of 600 replies once read 0.000 after a mean reducer).

    `keys` are reported even before any sample is scored (NaN), so that Inspect's live display
    finds a task's declared headline among them; other pattern keys are reported as they come.
    """

    def compute(scores: list[SampleScore]) -> dict[str, float]:
        found = list(keys or [])
        for sample_score in scores:
            value = sample_score.score.value
            if isinstance(value, dict):
                found.extend(k for k in value if k.endswith(_LEVEL_SUFFIXES) and k not in found)
        entries: dict[str, float] = {}
        for key in found:
            entries.update(rate(key, by=by)(scores))
        return entries

    return compute


def pattern_metrics(feature_ids: list[str] | None = None) -> list[Metric]:
    """The metrics of `pattern_rate`; a task passes its features' ids as ``Task(metrics=...)``
    so that each rate is reported from the start (see `pattern_rates`)."""
    keys = [f"{i}{suffix}" for i in feature_ids or [] for suffix in _LEVEL_SUFFIXES]
    return [pattern_rates(keys=keys or None), unscored(), flagged()]


@scorer(metrics=pattern_metrics())
def pattern_rate(
    features: str | Path,
    feature_ids: str | list[str] | None = None,
    *,
    role: Role = "judge",
    retries: int = 2,
    rating_prompt: PromptOverride = None,
) -> Scorer:
    """Rate the target's final output against lint features (one judge call per sample).

    Score keys are `<feature_id>_broad` and `<feature_id>_strict` (1 when the pattern is
    present at that threshold; strict implies broad), so metrics read `<feature_id>_strict_rate`
    with its interval and n. A judge reply missing a feature is retried, then the sample is
    unscored; a sample whose target was never called is flagged.

    Args:
        features: features.json from `traitlab lint`, or a rubric file (markdown or JSON).
        feature_ids: Only these features (comma-separated or a list); default all.
        role: The judge's model role (required; never the model under test).
        retries: How often an incomplete judge reply is sent back.
        rating_prompt: Override of the rating prompt (text or a path), the lint's
            `prompts/rating.md` by default; use the one the lint used to compare rates.
    """
    # Imported here: traitlab.lint imports traitlab.scorers, not the other way round at load.
    from traitlab.lint.autorate import RATING_PROMPT, present, rate_item
    from traitlab.lint.features import load_features

    prompt = resolve_prompt(rating_prompt, RATING_PROMPT)
    selected = load_features(features).select(feature_ids).features
    keys = [f"{f.id}{suffix}" for f in selected for suffix in _LEVEL_SUFFIXES]

    async def score(state: TaskState, target: Target) -> Score:
        if not target_was_called(state):
            return flagged_score("the target was never called", keys)
        output = state.output.completion
        result = await rate_item(
            role_model(role),
            output,
            selected,
            context=state.input_text,
            retries=retries,
            prompt=prompt,
        )
        if result.verdict is None:
            return unscored_score(
                result.error or "no verdict", keys, metadata={"judge_replies": result.replies}
            )
        ratings = result.verdict.ratings
        values = {}
        for feature in selected:
            values[f"{feature.id}_broad"] = present(ratings[feature.id], "broad")
            values[f"{feature.id}_strict"] = present(ratings[feature.id], "strict")
        return scored(
            values,
            answer=output,
            explanation=", ".join(f"{f.id}: {ratings[f.id]}" for f in selected),
            metadata={"ratings": {f.id: ratings[f.id] for f in selected}},
        )

    return score
