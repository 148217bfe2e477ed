"""`traitlab/reply_patterns`: how often a model's replies show the patterns the lint found.

The lint finds a pattern in SFT data (every reply opens by validating the user's feelings);
filtering it out should make a model trained on the data produce it less. This task measures
that: short everyday prompts, one reply each, and the lint's own autorater (`pattern_rate`,
the rubrics of a features.json or a rubric file) on every reply. With ``--epochs N`` every
reply counts and the interval is clustered by prompt.
"""

from __future__ import annotations

from pathlib import Path

from inspect_ai import Task
from inspect_ai.solver import generate

from traitlab.evals import task
from traitlab.evals.reply_patterns.dataset import prompt_dataset
from traitlab.lint.features import load_features
from traitlab.lint.scorer import pattern_metrics, pattern_rate
from traitlab.scores import HeadlineMetric, headline_metrics, headline_view

RUBRIC = Path(__file__).parent / "validating_opener.md"


@task
def reply_patterns(
    patterns: str | None = None,
    pattern_ids: str | None = None,
    prompts: str | None = None,
    rating_prompt: str | None = None,
) -> Task:
    """Ask short prompts; rate each reply against lint patterns at both thresholds.

    Args:
        patterns: A lint features file (features.json from `traitlab lint`) or a rubric file
            (default: the bundled `validating_opener.md`).
        pattern_ids: Comma-separated feature ids to rate (default: all in `patterns`).
        prompts: JSONL file of ``{"id", "prompt"}`` (default: the 30 bundled prompts).
        rating_prompt: The rater's prompt, as text or a file; the lint's `prompts/rating.md`
            by default (use the one the lint used, so data and model rates compare).

    With ``--epochs N`` each prompt is answered N times and every reply counts in the metrics
    (n counts replies, whatever ``--epochs-reducer`` says: `traitlab.scores.sample_metric`);
    the replies to one prompt are not independent, so the intervals are clustered by prompt.

    Model roles:
        judge: rates each reply (required; never the model under test).
    """
    features = str(patterns or RUBRIC)
    selected = load_features(features).select(pattern_ids).features
    headline = headline_metrics(
        *(
            HeadlineMetric(
                metric=f"{feature.id}_strict_rate",
                higher_is_better=False,
                description=f"replies that show '{feature.name}' (strict rubric)",
                measures="behaviour",
            )
            for feature in selected
        )
    )
    ids = [feature.id for feature in selected]
    return Task(
        dataset=prompt_dataset(prompts),
        solver=generate(),
        scorer=pattern_rate(features, ids, rating_prompt=rating_prompt),
        metadata={"patterns": features, **headline},
        version=1,
        # The headline rates are reported from the first score of the live display on.
        **headline_view(headline, pattern_metrics(ids), breakdowns=False),
    )
