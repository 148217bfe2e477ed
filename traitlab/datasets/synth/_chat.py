"""SFT chats and preference pairs: realistic prompts, trait-shaped answers, honest filters.

Prompt phase (shared): scenario -> user prompt -> critique, with the reply of a model without
the trait as evidence -> revise (and critique again) or drop. Response phase: answer with the
trait in the system prompt -> refine in a separate context -> autorater filter. The record keeps
only the user prompt and the refined answer; the system prompt never reaches the output.
Preference pairs add a rejected reply written without the trait, checked to differ from the
chosen one (`traitlab.text.alike`) and not to embody the trait.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from inspect_ai.model import GenerateConfig
from pydantic import BaseModel, Field

from traitlab.datasets.synth._config import GenerateOptions
from traitlab.datasets.synth._prompts import aim
from traitlab.datasets.synth._run import Drop, Item, Stages, with_system
from traitlab.records import ChatRecord, Message, PreferenceRecord
from traitlab.text import ALIKE, alike

PROMPT_STAGES = ("scenario", "user_prompt", "default_response", "prompt_critique")
RESPONSE_STAGES = ("answer", "refine", "autorate")


class PromptCritique(BaseModel):
    realistic: bool = Field(description="a real person would plausibly send exactly this message")
    serves_aim: bool = Field(description="the message serves its aim, judging by the default reply")
    problems: str = Field(description="the concrete problems (empty when there are none)")
    decision: Literal["keep", "revise", "drop"]
    revised_prompt: str | None = Field(
        default=None, description="the improved message, when the decision is revise"
    )

    def problem(self) -> str | None:
        if self.decision == "revise" and not (self.revised_prompt or "").strip():
            return "a 'revise' decision needs a revised_prompt"
        if self.decision == "keep" and not (self.realistic and self.serves_aim):
            return "'keep' needs both realistic and serves_aim to be true"
        return None


class Autorating(BaseModel):
    realism: int = Field(ge=1, le=5)
    quality: int = Field(ge=1, le=5)
    reason: str = Field(description="one or two sentences on the main strengths and weaknesses")


class RejectedCheck(BaseModel):
    aligns_with_trait: bool = Field(description="the rejected reply already embodies the trait")
    reason: str


@dataclass
class Prompt:
    """A user prompt that survived its critique, with how it got there."""

    text: str
    scenario: str
    rounds: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Response:
    text: str
    draft: str
    rating: Autorating


async def make_prompt(run: Stages, item: Item, max_revisions: int) -> Prompt | Drop:
    """Scenario -> user prompt -> critique and revise until kept, or drop."""
    trait = item.chunk.text
    variant = "fires" if item.fires else "quiet"
    scenario = await run.prompted(
        "scenario", seed=item.seed, trait=trait, setting=item.setting, variant=variant
    )
    text = await run.prompted("user_prompt", scenario=scenario, style=item.style)
    prompt = Prompt(text=_unquote(text), scenario=scenario)
    for _ in range(max_revisions + 1):
        if not prompt.text:
            return Drop("user_prompt", "empty user prompt")
        default_reply = await run.text("default_response", prompt.text)
        critique = await run.judged(
            "prompt_critique",
            PromptCritique,
            trait=trait,
            aim=aim(item.fires),
            prompt=prompt.text,
            default_reply=default_reply,
        )
        if isinstance(critique, Drop):
            return critique
        prompt.rounds.append(
            {"prompt": prompt.text, "default_reply": default_reply, **critique.model_dump()}
        )
        if critique.decision == "keep":
            return prompt
        if critique.decision == "drop":
            return Drop("prompt_critique", f"dropped: {critique.problems}")
        prompt.text = _unquote(critique.revised_prompt or "")
    return Drop(
        "prompt_critique", f"still rejected after {max_revisions} revisions: {critique.problems}"
    )


async def respond(run: Stages, item: Item, prompt: Prompt, min_rating: int) -> Response | Drop:
    """Answer with the trait in the system prompt, refine in a fresh context, autorate."""
    trait, goal = item.chunk.text, aim(item.fires)
    system = run.prompts["answer"].render(trait=trait)
    draft = await run.text("answer", with_system(system, prompt.text))
    refined = await run.prompted("refine", trait=trait, aim=goal, prompt=prompt.text, answer=draft)
    if not refined:
        return Drop("refine", "empty reply")
    rating = await run.judged(
        "autorate", Autorating, trait=trait, aim=goal, prompt=prompt.text, answer=refined
    )
    if isinstance(rating, Drop):
        return rating
    if min(rating.realism, rating.quality) < min_rating:
        return Drop(
            "autorate", f"realism {rating.realism}, quality {rating.quality}: {rating.reason}"
        )
    return Response(text=refined, draft=draft, rating=rating)


def provenance(run: Stages, item: Item, stages: tuple[str, ...], **outputs: Any) -> dict[str, Any]:
    """Record metadata: which traits, which draws, which models, and every stage's output."""
    return {
        "trait_ids": item.chunk.trait_ids,
        "chunk_id": item.chunk.id,
        "index": item.index,
        "fires": item.fires,
        "setting": item.setting,
        "style": item.style,
        "variety": item.drawn_from,
        "models": run.used(item, stages),
        "stages": outputs,
    }


@dataclass
class _ChatPipeline:
    """The prompt phase both chat pipelines share."""

    options: GenerateOptions

    async def prepare(self, run: Stages, item: Item) -> Prompt | Drop:
        return await make_prompt(run, item, self.options.max_revisions)

    def key(self, candidate: Prompt) -> str:
        return candidate.text


@dataclass
class SFTPipeline(_ChatPipeline):
    """Chats for SFT, with a share of prompts in which the trait should not fire."""

    kind: Literal["sft"] = "sft"
    record_type: type[ChatRecord] = ChatRecord
    stages: tuple[str, ...] = PROMPT_STAGES + RESPONSE_STAGES

    def negative_share(self) -> float:
        return self.options.negative_share

    def key_of(self, record: ChatRecord) -> str:
        return record.turns("user")[0]

    async def complete(self, run: Stages, item: Item, candidate: Prompt) -> ChatRecord | Drop:
        response = await respond(run, item, candidate, self.options.min_rating)
        if isinstance(response, Drop):
            return response
        return ChatRecord(
            id=item.id,
            messages=[
                Message(role="user", content=candidate.text),
                Message(role="assistant", content=response.text),
            ],
            metadata=provenance(
                run,
                item,
                self.stages,
                scenario=candidate.scenario,
                prompt_rounds=candidate.rounds,
                draft_answer=response.draft,
                autorate=response.rating.model_dump(),
            ),
        )


@dataclass
class PreferencePipeline(_ChatPipeline):
    """Preference pairs: the chosen reply as for SFT, a rejected one without the trait."""

    kind: Literal["preference"] = "preference"
    record_type: type[PreferenceRecord] = PreferenceRecord
    stages: tuple[str, ...] = PROMPT_STAGES + RESPONSE_STAGES + ("rejected", "rejected_critique")

    def negative_share(self) -> float:
        # A pair contrasts the trait with its absence, which only means something where it fires.
        return 0.0

    def key_of(self, record: PreferenceRecord) -> str:
        return record.prompt[-1].content

    async def complete(self, run: Stages, item: Item, candidate: Prompt) -> PreferenceRecord | Drop:
        chosen = await respond(run, item, candidate, self.options.min_rating)
        if isinstance(chosen, Drop):
            return chosen
        attempts: list[dict[str, Any]] = []
        reason = ""
        for attempt in range(self.options.max_regenerations + 1):
            # A new seed per regeneration, so neither the cache nor the provider repeats itself.
            config = GenerateConfig(seed=attempt) if attempt else None
            rejected = await run.text("rejected", candidate.text, config=config)
            if alike(rejected, chosen.text):
                # A pair whose replies say the same thing teaches only noise (BDPO raised such a
                # rejected text's log-probability by 10 nats): regenerate, never critique it.
                attempts.append({"rejected": rejected, "same_as_chosen": True})
                continue
            check = await run.judged(
                "rejected_critique",
                RejectedCheck,
                trait=item.chunk.text,
                prompt=candidate.text,
                chosen=chosen.text,
                rejected=rejected,
            )
            if isinstance(check, Drop):
                return check
            attempts.append({"rejected": rejected, **check.model_dump()})
            reason = check.reason
            if rejected and not check.aligns_with_trait:
                return PreferenceRecord(
                    id=item.id,
                    prompt=[Message(role="user", content=candidate.text)],
                    chosen=chosen.text,
                    rejected=rejected,
                    metadata=provenance(
                        run,
                        item,
                        self.stages,
                        scenario=candidate.scenario,
                        prompt_rounds=candidate.rounds,
                        draft_answer=chosen.draft,
                        autorate=chosen.rating.model_dump(),
                        rejected_attempts=attempts,
                    ),
                )
        if all(attempt.get("same_as_chosen") for attempt in attempts):
            return Drop(
                "same_as_chosen",
                f"every rejected reply was (nearly) the chosen one ({len(attempts)} tries, "
                f"{ALIKE:.0%} of words alike or more)",
            )
        return Drop(
            "rejected_critique",
            f"no rejected reply both differed from the chosen one and lacked the trait "
            f"({len(attempts)} tries): {reason}",
        )


def _unquote(text: str) -> str:
    """Models often wrap a requested message in quotation marks; real messages are not."""
    text = text.strip()
    if len(text) >= 2 and _QUOTES.get(text[0]) == text[-1]:
        text = text[1:-1].strip()
    return text


_QUOTES = {'"': '"', "'": "'", "“": "”"}
