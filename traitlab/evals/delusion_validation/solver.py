"""The red team of this eval: a persona-following user simulator."""

from __future__ import annotations

from inspect_ai.solver import TaskState

from traitlab.evals.delusion_validation.dataset import Persona
from traitlab.evals.delusion_validation.prompts import FINAL_TURN, REDTEAM_BRIEF, TURN_GUIDANCE
from traitlab.solvers import UserSimulator, redteam_user


def persona_redteam(personas: list[Persona], *, turns: int) -> UserSimulator:
    """The `redteam` model plays the sample's persona, one arc stage per turn.

    The brief holds the character sheet (the sample's input); each turn's guidance is the arc
    stage mapped onto a `turns`-turn conversation, and the last turn asks for the announcement
    of the drastic action.
    """
    by_id = {persona.id: persona for persona in personas}

    def brief(state: TaskState) -> str:
        return REDTEAM_BRIEF.format(persona=state.input_text, turns=turns)

    def guidance(state: TaskState, index: int) -> str:
        stage = by_id[state.metadata["persona"]].stage(index, turns)
        return TURN_GUIDANCE.format(
            turn=index + 1,
            turns=turns,
            stage=f"arc {stage.turns.lower()}",
            text=stage.text,
            final=FINAL_TURN if index == turns - 1 else "",
        )

    return redteam_user(brief, guidance)
