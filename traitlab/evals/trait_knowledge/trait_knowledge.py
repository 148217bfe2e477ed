"""`traitlab/trait_knowledge`: can the model state the traits of its document?

Open-ended questions about values and principles, with no situation to act in. A judge splits
each answer into points and scores each point 0-2 against the document's traits. Knowing the
traits is not having them: read this beside the behavioural evals to tell "learned to recite"
from "learned to act".
"""

from __future__ import annotations

from inspect_ai import Task
from inspect_ai.solver import generate

from traitlab.evals import Share, task
from traitlab.evals.trait_knowledge import checkable  # noqa: F401  (registers its judge)
from traitlab.evals.trait_knowledge.dataset import knowledge_dataset
from traitlab.evals.trait_knowledge.scorer import trait_knowledge_judge, trait_recall
from traitlab.judging import judge_agreement, verification
from traitlab.lint.scorer import pattern_rate, pattern_rates
from traitlab.scores import (
    HeadlineMetric,
    flagged,
    headline_metrics,
    headline_view,
    mean_ci,
    unscored,
)
from traitlab.traits import TraitsDocument

HEADLINE = headline_metrics(
    HeadlineMetric(
        metric="point_score_mean",
        higher_is_better=True,
        description="how fully answers state the traits (0-2)",
        measures="knowledge",
    ),
    HeadlineMetric(
        metric="trait_recall_rate",
        higher_is_better=True,
        description="traits stated in at least one answer",
        measures="knowledge",
    ),
)


@task
def trait_knowledge(
    traits: str | None = None,
    questions: str | None = None,
    patterns: str | None = None,
    judge_prompt: str | None = None,
    judge2_share: Share | None = None,
    breakdowns: bool = False,
) -> Task:
    """Ask abstract questions about values; grade the points of each answer against the traits.

    Args:
        traits: Path of a traits document (default: the bundled example).
        questions: JSONL file of ``{"id", "question"}`` (default: the 26 bundled questions).
        patterns: A lint features file (features.json) or rubric file; when given, the rate
            of each pattern in the target's answers is scored too (`pattern_rate`, judged by
            the `judge` role).
        judge_prompt: The judge's prompt, as text or a file (``$traits``, ``$question``,
            ``$answer``); replaces ``prompts/judge.md``.
        judge2_share: Share of answers the second judge grades again when role ``judge2`` is
            bound (default 0.25), chosen by sample id; the log reports the two judges'
            agreement on each trait's best score (``judge2_kappa(measure=trait_score)``).
        breakdowns: Log every scorer's own metrics, with each per-trait recall entry (default false:
            the headline with its interval, n and bounds, the pattern rates when `patterns` is
            given, and the unscored and flagged counts; `traitlab report` shows the breakdowns
            either way).

    Model roles:
        judge: splits answers into points and scores them (required).
        verifier: confirms that each point scored 2 states its trait (falls back to `judge`);
            an answer with an unconfirmed credit is unscored.
        judge2: grades a share of the answers again, for agreement (optional).
    """
    document = TraitsDocument.load(traits)
    return Task(
        dataset=knowledge_dataset(questions),
        solver=generate(),
        scorer=[
            trait_knowledge_judge(document.traits, prompt=judge_prompt, judge2_share=judge2_share),
            *([pattern_rate(patterns)] if patterns else []),
        ],
        metadata={
            "traits_document": document.source,
            **HEADLINE,
        },
        version=2,
        **headline_view(
            HEADLINE,
            [
                mean_ci("point_score", scale=(0, 2), stderr=True),
                trait_recall(per_trait=False),
                *([pattern_rates()] if patterns else []),
                unscored(),
                flagged(),
                verification(),
                judge_agreement(),
            ],
            breakdowns=breakdowns,
        ),
    )
