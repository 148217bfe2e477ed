"""An offline stand-in for the generation models, for demos of `traitlab generate` (no API key).

    traitlab generate sft -n 24 -o data/sft.jsonl \\
        --model scripted/demo -M policy=traitlab.datasets.synth.demo:policy

It plays every stage of the three pipelines (`sft`, `preference`, `midtrain`) from canned
pieces: it recognises a stage by a phrase of its prompt file, reads the draws it was given
(setting, style, document type) back out of the prompt, and varies its reply with the call's
seed, so that each item differs and the critics keep almost everything. It shows the pipeline's
shape, its records and its summaries; its data teaches a model nothing about the traits.
"""

from __future__ import annotations

import json
import random
import re

from inspect_ai.model import ChatMessage, GenerateConfig
from inspect_ai.tool import ToolInfo

# Stage -> a phrase that only that stage's prompt contains (checked by the tests).
MARKERS = {
    "variety": "brainstorm the range they should cover",
    "scenario": "Describe the situation in four to six sentences",
    "user_prompt": "Write the first message this person sends",
    "prompt_critique": "You are reviewing a user message",
    "refine": "Rewrite the draft so that",
    "autorate": "Rate this conversation",
    "rejected_critique": "A preference pair teaches",
    "brainstorm": "Plan one document of this type",
    "draft": "Write the complete document exactly",
    "doc_critique": "Critique it.",
    "rewrite": "from scratch.\n",
}

# (what the person needs, the concrete detail they add)
_NEEDS = [
    ("whether to refinance the mortgage", "the fixed rate ends in March"),
    ("how to tell the team the launch will slip", "the client demo is on Friday"),
    ("if the rash on my daughter's arm needs a doctor", "it appeared after the school trip"),
    ("why the invoice totals do not match the ledger", "the difference is exactly 412 euros"),
    ("whether the landlord can keep the deposit", "the lease says nothing about repainting"),
    ("how to reply to a reviewer who misread the method", "the deadline is in six days"),
    ("what to plant in a shaded bed", "the soil stays wet until June"),
    ("how to split the pension between two funds", "one charges 1.2 percent a year"),
    ("whether the used bicycle is worth 300 pounds", "the gears slip on the hills"),
    ("how to explain a gap in my CV", "I spent a year caring for my father"),
    ("why the sourdough comes out flat", "the kitchen is about 17 degrees"),
    ("whether to confront a colleague about credit", "she presented my slides as hers"),
    ("how to prepare for a first marathon", "the race is eleven weeks away"),
    ("what the error in the payroll export means", "it only fails for part-time staff"),
    ("how to ask for a deadline extension", "my supervisor replies slowly"),
    ("whether the thermostat schedule wastes energy", "the house is empty from 8 to 5"),
    ("how to price cakes for a wedding order", "the couple asked for three tiers"),
    ("whether my statistics homework answer is right", "I got a p-value of 0.049"),
    ("how to tell my brother I cannot lend him money", "he has asked three times this year"),
    ("why the laptop fan runs all the time", "it started after the last update"),
    ("whether a ferry or a flight is better for the trip", "we travel with a dog"),
    ("how to reorganise the stockroom", "deliveries arrive twice a week"),
    ("what to say at my grandmother's funeral", "I have three minutes"),
    ("whether the warranty covers the broken gearbox", "the car is 26 months old"),
    ("how to get a teenager to start revising", "the exams begin in May"),
    ("whether the audit finding is serious", "it concerns two unsigned contracts"),
    ("how to write a cover letter for a pharmacy job", "I trained abroad"),
    ("whether my crossword clue is fair", "the answer is an anagram of 'ocean'"),
    ("how to plan meals on 40 pounds a week", "one of us is vegetarian"),
    ("why the tomato plants have yellow leaves", "we had a week of heavy rain"),
    ("whether to accept the counter-offer", "the new job pays 8 percent more"),
    ("how to learn the trombone part in time", "the concert is in a month"),
]
_OPENERS = ["Quick question:", "Hi,", "hello -", "I need some advice.", "Can you help?", "So,"]
_FRAMES = [
    "{opener} I'm {who}. I'm trying to work out {need}; {detail}. What would you do?",
    "{opener} {need}? Some context: I'm {who}, and {detail}.",
    "{opener} as {who} I keep going back and forth on {need}. Detail that matters: {detail}.",
    "{opener} I need to figure out {need} before the weekend ({detail}). I'm {who}.",
]
_ANSWERS = [
    "I can't be certain from this alone, but here is how I would think it through. The detail "
    "that {detail} matters most, so start there. If you can tell me a little more, I can give "
    "you a firmer answer.",
    "Short version: it depends on one thing you mentioned, that {detail}. Here are the two "
    "options and what each costs you; I would lean towards the first, though I may be wrong "
    "about your situation.",
    "Let me be straight with you: there is no answer I can promise will work. What I can do "
    "is lay out what I know, where I am unsure, and what you could check, given that {detail}.",
]
_PLAIN = [
    "Great question! There are many factors to consider. Everyone's situation is different, so "
    "it is best to weigh the pros and cons and trust your instincts.",
    "Absolutely, you've got this! Just go with whatever feels right and it will work out.",
]
_WHY = ["quote", "observer", "consequences"]


def policy(messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig) -> str:
    """Reply to one stage prompt of a generation pipeline."""
    if messages[0].role == "system":  # the answer, with the trait in the system prompt
        return _answer(messages[-1].text)
    prompt = messages[-1].text
    rng = random.Random(config.seed if config.seed is not None else prompt)
    stage = next((s for s, marker in MARKERS.items() if marker in prompt), "plain")
    return _STAGES[stage](prompt, rng)


def _find(pattern: str, text: str, default: str = "") -> str:
    match = re.search(pattern, text, re.S)
    return match.group(1).strip() if match else default


def _variety(prompt: str, rng: random.Random) -> str:
    kinds = [
        "support ticket",
        "meeting minutes",
        "podcast transcript excerpt",
        "diary entry",
        "letter to the editor",
        "team chat digest",
    ]
    people = [
        "a volunteer firefighter",
        "a shop steward",
        "a hospital porter",
        "a beekeeper",
        "a night-shift baker",
        "a school librarian",
        "a ferry engineer",
        "a retired midwife",
    ]
    rng.shuffle(kinds)
    rng.shuffle(people)
    return json.dumps(
        {
            "settings": people,
            "doc_types": [{"name": k, "description": f"a {k} as people write it"} for k in kinds],
        }
    )


def _scenario(prompt: str, rng: random.Random) -> str:
    who = _find(r"The person writing to the assistant is (.*?)\.\n", prompt, "someone")
    need, detail = rng.choice(_NEEDS)
    return (
        f"The person is {who}. They want to know {need}. The detail that matters: {detail}. "
        f"Frame {rng.randrange(len(_FRAMES))}; opener {rng.randrange(len(_OPENERS))}."
    )


def _user_prompt(prompt: str, rng: random.Random) -> str:
    scenario = _find(r"<scenario>\n(.*?)\n</scenario>", prompt)
    who = _find(r"The person is (.*?)\. They want", scenario, "someone")
    need = _find(r"They want to know (.*?)\. The detail", scenario, "what to do")
    detail = _find(r"The detail that matters: (.*?)\. Frame", scenario, "it is urgent")
    frame = _FRAMES[int(_find(r"Frame (\d+)", scenario, "0"))]
    opener = _OPENERS[int(_find(r"opener (\d+)", scenario, "0"))]
    return frame.format(opener=opener, who=who, need=need, detail=detail)


def _prompt_critique(prompt: str, rng: random.Random) -> str:
    return json.dumps(
        {
            "realistic": True,
            "serves_aim": True,
            "problems": "",
            "decision": "keep",
            "revised_prompt": None,
        }
    )


def _answer(user: str) -> str:
    detail = _find(r"(?:; |and |matters: |\()([^;.()]+?)(?:\.|\)|$)", user, "you are short of time")
    return random.Random(user).choice(_ANSWERS).format(detail=detail)


def _refine(prompt: str, rng: random.Random) -> str:
    return _find(r"<draft_reply>\n(.*?)\n</draft_reply>", prompt)


def _autorate(prompt: str, rng: random.Random) -> str:
    return json.dumps({"realism": 5, "quality": rng.choice([4, 5]), "reason": "plausible"})


def _plain(prompt: str, rng: random.Random) -> str:
    return rng.choice(_PLAIN)


def _rejected_critique(prompt: str, rng: random.Random) -> str:
    return json.dumps({"aligns_with_trait": False, "reason": "generic reassurance"})


def _brainstorm(prompt: str, rng: random.Random) -> str:
    doc_type = _find(r"Plan one document of this type: (.*?) \(", prompt, "blog post")
    who = _find(r"Its author or setting involves (.*?)\.\n", prompt, "a reader")
    need, detail = rng.choice(_NEEDS)
    return json.dumps(
        {
            "what": "admitting what it does not know",
            "how": f"the assistant helped {who} with {need} and said plainly what it was unsure of",
            "why": "a confident wrong answer would have cost them more than an honest maybe",
            "why_channel": rng.choice(_WHY),
            "title": f"{doc_type.capitalize()}: {need} ({detail})",
            "outline": ["the situation", "what the assistant said", "what happened next"],
        }
    )


def _document(prompt: str, rng: random.Random) -> str:
    doc_type = _find(r"Write a(?:n)? (.*?) \(", prompt, "document")
    title = _find(r"(?:Title|title): (.*?)\n", prompt, "Untitled")
    how = _find(r"described doing(?: this)?: (.*?)\n", prompt, "it helped")
    body = " ".join(
        [
            f"I did not expect to write about this, but here we are. In short, {how}.",
            "At first I wanted a clear yes or no. It gave me the parts it was sure of, then "
            "told me which part it could not check, and suggested who could.",
            f"Looking back, that was what made the difference: I made the call knowing where "
            f"the gaps were. ({rng.randrange(1000, 9999)} words of notes later, I still agree.)",
        ]
    )
    return f"{title}\n\n[{doc_type}]\n\n{body}"


def _doc_critique(prompt: str, rng: random.Random) -> str:
    return json.dumps(
        {
            "naturalness": 4,
            "embodiment": 4,
            "problems": "the ending states the lesson too directly",
            "salvageable": True,
        }
    )


_STAGES = {
    "variety": _variety,
    "scenario": _scenario,
    "user_prompt": _user_prompt,
    "prompt_critique": _prompt_critique,
    "refine": _refine,
    "autorate": _autorate,
    "rejected_critique": _rejected_critique,
    "brainstorm": _brainstorm,
    "draft": _document,
    "doc_critique": _doc_critique,
    "rewrite": _document,
    "plain": _plain,
}
