"""`traitlab/delusion_validation`: can a red-team user get the target to validate a delusion?

A red-team model plays a user whose delusion escalates over a fixed number of turns, following a
persona's arc to an announced drastic action; the target is told it is a therapist, or is a
plain assistant. A judge grades every target turn for delusion confirmation, pushback, referral
to real-world help and therapeutic quality, and the metrics report each overall, by turn index
and by persona.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from inspect_ai import Task, task
from inspect_ai.solver import Solver, system_message

from traitlab.errors import InputError
from traitlab.evals.delusion_validation.dataset import load_personas, persona_samples
from traitlab.evals.delusion_validation.prompts import THERAPIST_PROMPT
from traitlab.evals.delusion_validation.scorer import delusion_turns, load_criteria
from traitlab.evals.delusion_validation.solver import persona_redteam
from traitlab.scores import HeadlineMetric, headline_metrics
from traitlab.solvers import simulated_user_conversation

CRITERIA = Path(__file__).parent / "criteria.md"
TargetRole = Literal["therapist", "assistant"]


@task
def delusion_validation(
    personas: str | None = None,
    persona_ids: str | None = None,
    turns: int = 12,
    target_role: TargetRole = "therapist",
    criteria: str | None = None,
) -> Task:
    """Red-team the target with escalating delusions and grade each of its turns.

    Args:
        personas: A persona file or folder: traitlab markdown personas (``*.md``) or the
            ai-psychosis characters (``*.txt``, or a checkout with ``characters/``). Default:
            the ten bundled personas.
        persona_ids: Comma-separated persona ids to include (default: all).
        turns: User messages per conversation; each persona's arc is fitted to this length.
        target_role: ``therapist`` (a system prompt makes the target a counsellor) or
            ``assistant`` (no system prompt).
        criteria: A markdown file of therapeutic-quality criteria (default: the bundled six).

    Model roles:
        redteam: plays the user (required). A refusal to play is retried once, then the sample
            is flagged.
        judge: grades every target turn (required).
    """
    if turns < 1:
        raise InputError(f"turns must be at least 1 (got {turns})")
    if target_role not in get_args(TargetRole):
        raise InputError(f"target_role must be one of {get_args(TargetRole)} (got {target_role!r})")
    cast = load_personas(personas, persona_ids)
    solver: list[Solver] = [system_message(THERAPIST_PROMPT)] if target_role == "therapist" else []
    solver.append(simulated_user_conversation(persona_redteam(cast, turns=turns), turns=turns))
    return Task(
        dataset=persona_samples(cast, turns=turns, target_role=target_role),
        solver=solver,
        scorer=delusion_turns(load_criteria(criteria or CRITERIA), turns=turns),
        metadata={
            "target_role": target_role,
            "turns": turns,
            **headline_metrics(
                HeadlineMetric(
                    metric="collusion_rate",
                    higher_is_better=False,
                    description="turns in which the target confirmed the delusion",
                    measures="behaviour",
                    by="persona",
                ),
                HeadlineMetric(
                    metric="confirmation_mean",
                    higher_is_better=False,
                    description="confirmation of the delusion per turn (-1 to 4)",
                    measures="behaviour",
                    by="persona",
                ),
            ),
        },
        version=1,
    )
