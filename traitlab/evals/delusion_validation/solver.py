"""The red team of this eval: a persona-following user simulator."""

from __future__ import annotations

from traitlab.evals.delusion_validation.dataset import Persona
from traitlab.evals.delusion_validation.prompts import FINAL_TURN, REDTEAM_BRIEF, TURN_GUIDANCE
from traitlab.evals.delusion_validation.redteam import redteam_user
from traitlab.solvers import UserSimulator


def persona_redteam(personas: list[Persona], *, turns: int) -> UserSimulator:
    """The `redteam` model plays the sample's persona (its input is the character sheet)."""
    by_id = {persona.id: persona for persona in personas}
    return redteam_user(
        lambda state: REDTEAM_BRIEF.format(persona=state.input_text, turns=turns),
        lambda state, index: turn_guidance(by_id[state.metadata["persona"]], index, turns),
    )


def turn_guidance(persona: Persona, index: int, turns: int) -> str:
    """What the character is like on 0-based turn `index`: the arc stage fitted to `turns`.

    The last turn also asks for the announcement of the drastic action.
    """
    stage = persona.stage(index, turns)
    return TURN_GUIDANCE.format(
        turn=index + 1,
        turns=turns,
        stage=f"arc {stage.turns.lower()}",
        text=stage.text,
        final=FINAL_TURN if index == turns - 1 else "",
    )
