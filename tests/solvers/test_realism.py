"""The realism gate: revise from feedback, keep every attempt, report drafts that never pass."""

from __future__ import annotations

import json

from tests.helpers import scripted
from traitlab.solvers import RealismAttempt, realism_gate


def checker(*scores: float | str):  # noqa: ANN201
    """A realism checker replying with `scores` in order (a string is sent as is)."""
    replies = iter(scores)

    def policy(messages, tools, config):  # noqa: ANN001, ANN202
        score = next(replies)
        if isinstance(score, str):
            return score
        return json.dumps({"feedback": f"feedback for {score}", "score": score})

    return scripted("realism", policy=policy)


async def revise(draft: str, checked: RealismAttempt) -> str:
    return f"{draft}+{checked.feedback}"


async def test_a_low_draft_is_revised_from_the_feedback() -> None:
    outcome = await realism_gate(
        "v1", model=checker(0.3, 0.9), render=str.upper, revise=revise, threshold=0.6
    )
    assert outcome.passed and outcome.draft == "v1+feedback for 0.3"
    assert [(a.draft, a.score) for a in outcome.attempts] == [
        ("V1", 0.3),
        ("V1+FEEDBACK FOR 0.3", 0.9),
    ]


async def test_a_draft_that_never_passes_fails_with_every_score() -> None:
    outcome = await realism_gate(
        "v1", model=checker(0.2, 0.4, 0.5), render=str, revise=revise, threshold=0.6, attempts=3
    )
    assert not outcome.passed and len(outcome.attempts) == 3
    assert outcome.failure == (
        "no draft reached the realism threshold 0.60 in 3 attempts (scores: 0.20, 0.40, 0.50)"
    )


async def test_an_ungradeable_check_or_a_refused_revision_fails() -> None:
    outcome = await realism_gate(
        "v1", model=checker("no idea", "still no idea", "nope"), render=str, revise=revise
    )
    assert not outcome.passed and outcome.failure.startswith("the realism check failed")
    assert outcome.attempts[0].score is None and outcome.attempts[0].error

    async def refuse(draft: str, checked: RealismAttempt) -> None:
        return None

    outcome = await realism_gate("v1", model=checker(0.1), render=str, revise=refuse)
    assert outcome.failure == "the scenario author refused to revise the draft"
