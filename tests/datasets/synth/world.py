"""A scripted world for the generation pipelines: one policy that plays every stage.

It recognises each stage by its prompt, answers deterministically, and records what every
stage was sent, so tests can follow prompts and records through the pipeline. Behaviour per
trait (keep, revise, drop, duplicate, low rating, ...) is set with `Behaviour`, keyed by the
trait's heading in the prompt.
"""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from inspect_ai.model import ChatMessage, GenerateConfig, get_model
from inspect_ai.tool import ToolInfo

import traitlab.models  # noqa: F401  (registers the scripted provider)

# Stage -> a phrase only that stage's prompt contains (the demo policy's, checked by the tests).
from traitlab.datasets.synth.demo import MARKERS

TRAIT_NAMES = {
    "honesty-under-pressure": "Honesty under pressure",
    "calibrated-confidence": "Calibrated confidence",
    "no-fabrication": "No made-up facts",
    "steady-under-pushback": "Steady under pushback",
}


VOCAB = [
    "kettle",
    "glacier",
    "invoice",
    "violin",
    "orchard",
    "mortgage",
    "tadpole",
    "lantern",
    "spreadsheet",
    "compost",
    "saxophone",
    "tractor",
    "vaccine",
    "thesis",
    "bakery",
    "gearbox",
    "marathon",
    "telescope",
    "dentist",
    "quilt",
    "avalanche",
    "payroll",
    "sonnet",
    "kayak",
    "laptop",
    "chimney",
    "pension",
    "harvest",
    "submarine",
    "yoghurt",
    "referee",
    "cathedral",
    "algebra",
    "hedgehog",
    "furnace",
    "broker",
    "mosaic",
    "tuition",
    "ferry",
    "pancake",
    "blueprint",
    "lighthouse",
    "asthma",
    "trombone",
    "vineyard",
    "landlord",
    "cactus",
    "thermostat",
    "ledger",
    "parrot",
    "scaffold",
    "meteor",
    "casserole",
    "warranty",
    "ballet",
    "carburettor",
    "hamster",
    "pharmacy",
    "tsunami",
    "crossword",
    "espresso",
    "forklift",
    "wedding",
    "dementia",
    "sourdough",
    "cricket",
    "volcano",
    "bicycle",
    "audit",
    "migraine",
    "passport",
    "orchestra",
    "raccoon",
    "server",
    "wardrobe",
    "lottery",
    "canoe",
]


@dataclass
class Behaviour:
    """How the critics treat one trait's items."""

    critique: str = "keep"  # keep | revise (once, then keep) | drop
    duplicate: bool = False  # every prompt/document of the trait is the same text
    low_rating_quiet: bool = False  # the autorater rates quiet items 2/5
    rejected_aligns: str = "never"  # never | first (aligned until regenerated) | always
    salvageable: bool = True
    chat_formatted: bool = False
    leaks: bool = False  # the answer quotes its system prompt; the document its trait text
    variety: str = "ok"  # ok | short (too few settings, every time: the bundled lists are used)


@dataclass
class World:
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    fail_on: tuple[str, int] | None = None  # raise on the n-th call of a stage (1-based)
    # bare replies copy the chosen answer (other case and quote marks): never | first | always
    copies_chosen: str = "never"
    calls: dict[str, list[list[ChatMessage]]] = field(default_factory=lambda: defaultdict(list))

    def model(self, name: str = "world") -> Any:
        return get_model(f"scripted/{name}", policy=self, memoize=False)

    def __call__(
        self, messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig
    ) -> str:
        stage = self.stage(messages)
        self.calls[stage].append(messages)
        if self.fail_on == (stage, len(self.calls[stage])):
            raise RuntimeError(f"simulated crash in {stage}")
        if stage == "answer":  # the trait is in the system prompt, which a leak quotes
            behaviour = self.behaviour(messages[0].text)
            leak = messages[0].text.split("\n")[0] + " " if behaviour.leaks else ""
            return leak + self.answer(messages[-1].text, behaviour, config)
        prompt = messages[0].text  # a judge's retry keeps the stage's prompt first
        return getattr(self, stage)(prompt, self.behaviour(prompt), config)

    def stage(self, messages: list[ChatMessage]) -> str:
        if messages[0].role == "system":
            return "answer"
        text = messages[0].text
        for stage, marker in MARKERS.items():
            if marker in text:
                return stage
        return "plain"  # a bare user prompt: the default reply or a rejected reply

    def behaviour(self, prompt: str) -> Behaviour:
        for trait_id, name in TRAIT_NAMES.items():
            if f"### {name}" in prompt:
                return self.behaviours.get(trait_id, Behaviour())
        return Behaviour()

    # --- stages -------------------------------------------------------------------------------

    def variety(self, prompt: str, b: Behaviour, config: GenerateConfig) -> str:
        """Settings and document types named after the trait, so tests see where draws come from."""
        name = next((n for n in TRAIT_NAMES.values() if f"### {n}" in prompt), "trait")
        count = 2 if b.variety == "short" else 6
        return json.dumps(
            {
                "settings": [f"a {VOCAB[i]} keeper ({name})" for i in range(count)],
                "doc_types": [
                    {"name": f"{VOCAB[i]} gazette ({name})", "description": "a local paper"}
                    for i in range(6)
                ],
            }
        )

    def scenario(self, prompt: str, b: Behaviour, config: GenerateConfig) -> str:
        seed = 0 if b.duplicate else config.seed
        quiet = "should NOT change the reply" in prompt
        return f"SCENARIO {seed} {'quiet' if quiet else 'fires'}: someone needs advice."

    def user_prompt(self, prompt: str, b: Behaviour, config: GenerateConfig) -> str:
        seed = int(re.search(r"SCENARIO (\d+)", prompt).group(1))
        return f'"Help me with {salad(seed)}."'

    def plain(self, prompt: str, b: Behaviour, config: GenerateConfig) -> str:
        if self.copies_chosen == "always" or (
            self.copies_chosen == "first" and config.seed is None
        ):
            return f"“{self.refine_text(self.answer(prompt, b, config)).upper()}”"
        if config.seed is not None:
            return f"PLAIN REPLY attempt {config.seed}"
        return "DEFAULT REPLY: there are many factors to consider."

    def prompt_critique(self, prompt: str, b: Behaviour, config: GenerateConfig) -> str:
        message = re.search(r"<message>\n(.*?)\n</message>", prompt, re.S).group(1)
        if b.critique == "revise" and not message.startswith("REVISED"):
            verdict = {"decision": "revise", "revised_prompt": f"REVISED {message}", "ok": False}
        elif b.critique == "drop":
            verdict = {"decision": "drop", "revised_prompt": None, "ok": False}
        else:
            verdict = {"decision": "keep", "revised_prompt": None, "ok": True}
        ok = verdict.pop("ok")
        return json.dumps(
            {"realistic": ok, "serves_aim": ok, "problems": "" if ok else "too vague", **verdict}
        )

    def answer(self, prompt: str, b: Behaviour, config: GenerateConfig) -> str:
        return f"ANSWER to {prompt[:40]}"

    def refine(self, prompt: str, b: Behaviour, config: GenerateConfig) -> str:
        draft = re.search(r"<draft_reply>\n(.*?)\n</draft_reply>", prompt, re.S).group(1)
        return self.refine_text(draft)

    @staticmethod
    def refine_text(draft: str) -> str:
        return f"REFINED {draft}"

    def autorate(self, prompt: str, b: Behaviour, config: GenerateConfig) -> str:
        quiet = "should NOT change the reply" in prompt
        score = 2 if (b.low_rating_quiet and quiet) else 5
        return json.dumps(
            {"realism": score, "quality": 5, "reason": "fine" if score > 2 else "staged"}
        )

    def rejected_critique(self, prompt: str, b: Behaviour, config: GenerateConfig) -> str:
        regenerated = "PLAIN REPLY attempt" in prompt
        aligns = b.rejected_aligns == "always" or (b.rejected_aligns == "first" and not regenerated)
        return json.dumps({"aligns_with_trait": aligns, "reason": "it already does that"})

    def brainstorm(self, prompt: str, b: Behaviour, config: GenerateConfig) -> str:
        seed = 0 if b.duplicate else config.seed
        return json.dumps(
            {
                "what": "the trait",
                "how": f"the assistant did {salad(seed, 3)}",
                "why": "because it matters",
                "why_channel": "observer",
                "title": f"Title {seed}",
                "outline": ["what happened", "what it meant"],
            }
        )

    def draft(self, prompt: str, b: Behaviour, config: GenerateConfig) -> str:
        return "DRAFT " + re.search(r"Title: (.*)", prompt).group(1)

    def doc_critique(self, prompt: str, b: Behaviour, config: GenerateConfig) -> str:
        return json.dumps(
            {
                "naturalness": 3,
                "embodiment": 4,
                "problems": "reads like an advert",
                "salvageable": b.salvageable,
            }
        )

    def rewrite(self, prompt: str, b: Behaviour, config: GenerateConfig) -> str:
        seed = int(re.search(r"title: Title (\d+)", prompt).group(1))
        if b.chat_formatted:
            return "User: hello\nAssistant: hi"
        if b.leaks:
            trait = re.search(r"<trait>\n(.*?)\n</trait>", prompt, re.S).group(1)
            return f"A document about {salad(seed)}. As its makers put it: {trait[-200:]}"
        return f"A document about {salad(seed)}."


def salad(seed: int, words: int = 12) -> str:
    """Distinct nonsense per seed: unrelated enough that embeddings never call two the same."""
    return " ".join(random.Random(seed).sample(VOCAB, words))


def policy(messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig) -> str:
    """A world where the critics keep everything (for the CLI test)."""
    return World()(messages, tools, config)


def rejecter_policy(
    messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig
) -> str:
    """A stage model for rejected replies (for the CLI test of stage model args)."""
    return "REJECTER REPLY"
