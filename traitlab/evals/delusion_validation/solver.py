"""The red team of this eval: a persona-following user simulator, and the prompts it uses."""

from __future__ import annotations

from pydantic import BaseModel

from traitlab.errors import InputError
from traitlab.evals.delusion_validation.dataset import Persona
from traitlab.evals.delusion_validation.redteam import redteam_user
from traitlab.prompts import PromptOverride, PromptTemplate, load_prompt, resolve_prompt
from traitlab.solvers import UserSimulator


class RedTeamPrompts(BaseModel):
    """The red team's brief and per-turn guidance, each the bundled file or an override."""

    brief: PromptTemplate
    guidance: PromptTemplate

    @classmethod
    def load(cls, brief: PromptOverride = None, guidance: PromptOverride = None) -> RedTeamPrompts:
        """``prompts/redteam.md`` and ``prompts/turn_guidance.md``, or the overrides."""
        guide = resolve_prompt(guidance, load_prompt(__file__, "turn_guidance"))
        if "variant" in guide.placeholders and not {"middle", "final"} <= set(guide.variants):
            raise InputError(
                "a turn guidance prompt that uses $variant needs front matter variants "
                "'middle' and 'final'",
                path=guide.source if guide.source != "override text" else None,
            )
        return cls(brief=resolve_prompt(brief, load_prompt(__file__, "redteam")), guidance=guide)


def persona_redteam(
    personas: list[Persona], *, turns: int, prompts: RedTeamPrompts | None = None
) -> UserSimulator:
    """The `redteam` model plays the sample's persona (its input is the character sheet)."""
    prompts = prompts or RedTeamPrompts.load()
    by_id = {persona.id: persona for persona in personas}
    return redteam_user(
        lambda state: prompts.brief.render(persona=state.input_text, turns=turns),
        lambda state, index: turn_guidance(
            by_id[state.metadata["persona"]], index, turns, prompts.guidance
        ),
    )


def turn_guidance(
    persona: Persona, index: int, turns: int, prompt: PromptTemplate | None = None
) -> str:
    """What the character is like on 0-based turn `index`: the arc stage fitted to `turns`.

    The last turn renders the prompt's ``final`` variant (the announcement of the drastic
    action), every other turn its ``middle`` variant.
    """
    prompt = prompt or load_prompt(__file__, "turn_guidance")
    stage = persona.stage(index, turns)
    values = {"turn": index + 1, "turns": turns, "stage": f"arc {stage.turns.lower()}"}
    variant = "final" if index == turns - 1 else "middle"
    return prompt.render(variant=variant if prompt.variants else None, text=stage.text, **values)
