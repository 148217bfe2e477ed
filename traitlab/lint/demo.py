"""An offline stand-in for the lint's LLM, for demos on the bundled example (no API key).

    traitlab lint traitlab/datasets/data/examples/lint_example.jsonl -o lint-report \\
        --model scripted/demo -M policy=traitlab.lint.demo:policy --sample all

It plays every stage with keyword rules that know the example's planted patterns: a scan
reports the patterns it sees in at least two items of its batch, a merge writes the rubrics, and
the autorate applies the rules to one item. It shows the pipeline's shape and outputs; it finds
nothing a real model would not.
"""

from __future__ import annotations

import json
import re

from inspect_ai.model import ChatMessage, GenerateConfig
from inspect_ai.tool import ToolInfo

_VALIDATING = re.compile(
    r"^(I hear you|That sounds|What a stressful|I'm sorry you|That must feel|It makes complete "
    r"sense|Anyone in your position)"
)
# name -> (description, broad rubric, strict rubric, strict rule, broad rule)
_RULES = {
    "Validating opener": (
        "The reply opens by validating the user's feelings before answering.",
        "An opening sentence acknowledges how the user feels or how hard things are.",
        "The first sentence is 'I hear you, and that sounds really hard.' or close to it.",
        lambda text: text.startswith("I hear you"),
        lambda text: bool(_VALIDATING.match(text)),
    ),
    "Bottom line up front": (
        "The reply leads with a verdict on the question's premise.",
        "The first sentence gives a yes/no/it-depends verdict.",
        "The reply starts with 'Short answer:' followed by a verdict.",
        lambda text: text.startswith("Short answer:"),
        lambda text: bool(re.match(r"^(Short answer|Yes|No)\b", text)),
    ),
    "Offer to go deeper": (
        "The reply ends by asking whether to go deeper.",
        "The reply ends with an offer of more help.",
        "The last sentence asks whether the user wants the assistant to go deeper.",
        lambda text: text.rstrip().endswith("go deeper?"),
        lambda text: text.rstrip().endswith("?"),
    ),
}


def policy(messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig) -> str:
    """Reply to a scan, merge or autorate prompt of the lint."""
    prompt = messages[0].text
    if "Merge them into one feature" in prompt:
        name = next(name for name in _RULES if name in prompt)
        description, broad, strict, _, _ = _RULES[name]
        return json.dumps(
            {"name": name, "description": description, "broad": broad, "strict": strict}
        )
    if "<item>" in prompt:
        text = prompt.split("<item>\n", 1)[1].split("\n</item>", 1)[0]
        ratings = {}
        for feature_id, name in re.findall(r'<feature id="([^"]+)">\nname: ([^\n]+)', prompt):
            _, _, _, strict, broad = _RULES.get(name, (None, None, None, None, None))
            level = "none"
            if strict and strict(text):
                level = "strict"
            elif broad and broad(text):
                level = "broad"
            ratings[feature_id] = level
        return json.dumps({"ratings": ratings})
    items = re.findall(r'<item n="\d+">\n(.*?)\n</item>', prompt, re.DOTALL)
    patterns = []
    for name, (description, _, _, strict, _) in _RULES.items():
        evidence = [text[:80] for text in items if strict(text)]
        if len(evidence) >= 2:
            patterns.append({"name": name, "description": description, "evidence": evidence[:3]})
    return json.dumps({"patterns": patterns})
