"""`traitlab/smoke`: one question per trait, graded by a judge against the trait's statement.

A minimal end-to-end check of the wiring (traits document -> dataset -> target -> judge ->
metrics with intervals) that runs offline with the scripted provider. It says little about a
model's character: for that use the trait audit and the other behavioural evals.
"""

from __future__ import annotations

from inspect_ai import Task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.solver import generate

from traitlab.evals import task
from traitlab.evals.smoke.scorer import rubric_judge
from traitlab.prompts import load_prompt, resolve_prompt
from traitlab.scores import (
    HeadlineMetric,
    flagged,
    headline_metrics,
    headline_view,
    rate,
    unscored,
)
from traitlab.traits import TraitsDocument

HEADLINE = headline_metrics(
    HeadlineMetric(
        metric="met_rate",
        higher_is_better=True,
        description="answers that commit to acting on the trait",
        measures="behaviour",
        by="trait_id",
    ),
)


@task
def smoke(
    traits: str | None = None,
    trait_ids: str | None = None,
    question_prompt: str | None = None,
    rubric_prompt: str | None = None,
    judge_prompt: str | None = None,
    breakdowns: bool = False,
) -> Task:
    """Ask the target about each trait and have a judge check its answer.

    Args:
        traits: Path of a traits document (default: the bundled example).
        trait_ids: Comma-separated trait ids to include (default: all).
        question_prompt: What the target is asked, as text or a file (``$statement``);
            replaces ``prompts/question.md``.
        rubric_prompt: The rubric per trait, as text or a file (``$statement``,
            ``$rationale``); replaces ``prompts/rubric.md``.
        judge_prompt: The judge's prompt, as text or a file (``$rubric``, ``$prompt``,
            ``$response``); replaces ``prompts/rubric_judge.md``.
        breakdowns: Log every scorer's own metrics, with each per-trait entry (default
            false: the headline with its interval, n and bounds, and the unscored and flagged
            counts; `traitlab report` shows the breakdowns either way).

    Model roles:
        judge: grades each answer (required).
    """
    document = TraitsDocument.load(traits)
    question = resolve_prompt(question_prompt, load_prompt(__file__, "question"))
    rubric = resolve_prompt(rubric_prompt, load_prompt(__file__, "rubric"))
    samples = [
        Sample(
            id=trait.id,
            input=question.render(statement=trait.statement),
            metadata={
                "trait_id": trait.id,
                "rubric": rubric.render(
                    statement=trait.statement, rationale=trait.rationale or "(none given)"
                ),
            },
        )
        for trait in document.select(trait_ids)
    ]
    return Task(
        dataset=MemoryDataset(samples, name="smoke"),
        solver=generate(),
        scorer=rubric_judge(prompt=judge_prompt),
        metadata={
            "traits_document": document.source,
            **HEADLINE,
        },
        version=1,
        **headline_view(
            HEADLINE, [rate("met", stderr=True), unscored(), flagged()], breakdowns=breakdowns
        ),
    )
