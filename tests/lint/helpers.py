"""Datasets with planted patterns at known rates, and a scripted lint model that finds them."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

from inspect_ai.model import ChatMessage, GenerateConfig
from inspect_ai.tool import ToolInfo

VALIDATION = "I hear you, and that sounds really hard."
DEEPER = "Would you like me to go deeper on any of this?"
VOCABULARY = [
    "apple",
    "river",
    "stone",
    "cloud",
    "market",
    "engine",
    "garden",
    "winter",
    "paper",
    "signal",
    "forest",
    "copper",
    "window",
    "harbor",
    "lantern",
    "meadow",
    "pocket",
    "rocket",
    "silver",
    "thunder",
    "valley",
    "basket",
    "candle",
    "desert",
    "feather",
    "glacier",
    "hammer",
    "island",
    "jungle",
    "kettle",
    "ladder",
    "magnet",
    "needle",
    "orchard",
    "pebble",
    "quartz",
    "ribbon",
    "saddle",
    "tunnel",
    "umbrella",
    "velvet",
    "wagon",
    "yarn",
    "zephyr",
    "anchor",
    "bridge",
    "canyon",
    "dragon",
    "falcon",
]


def sentence(rng: random.Random) -> str:
    words = rng.sample(VOCABULARY, rng.randint(6, 10))
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def planted_chats(
    path: Path,
    n: int,
    *,
    opening: float = 0.3,
    closing: float = 0.4,
    seed: int = 0,
    sentences: int = 3,
) -> list[dict[str, Any]]:
    """Chat records whose replies open with VALIDATION with probability `opening` and close
    with DEEPER with probability `closing`; bodies are `sentences` sentences of random words
    (no other pattern)."""
    rng = random.Random(seed)
    records = []
    for index in range(n):
        parts = [sentence(rng) for _ in range(sentences)]
        planted = []
        if rng.random() < opening:
            parts.insert(0, VALIDATION)
            planted.append("validation")
        if rng.random() < closing:
            parts.append(DEEPER)
            planted.append("deeper")
        records.append(
            {
                "id": f"r{index}",
                "messages": [
                    {"role": "user", "content": sentence(rng)},
                    {"role": "assistant", "content": " ".join(parts)},
                ],
                "metadata": {"planted": planted},
            }
        )
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return records


# Sentence templates, as synthetic SFT data repeats them: the same few dozen phrasings with
# different nouns, so word pairs and openings repeat far more than in random words.
TEMPLATES = [
    "You could compare the {a} and the {b} first.",
    "And then rank the {a} by how much {b} it needs.",
    "Start by listing every {a} you can think of.",
    "The {a} matters more than the {b} here.",
    "It helps to think of the {a} as a kind of {b}.",
    "Try writing down what the {a} does for you.",
    "Once you have the {a}, look at the {b} again.",
    "A good first step is to check the {a}.",
    "If the {a} fails, fall back on the {b}.",
    "Most people forget about the {a} at this point.",
    "Keep the {a} and the {b} apart while you work.",
    "You might also ask someone about the {a}.",
    "This is where the {a} comes in.",
    "Make sure the {a} is ready before the {b}.",
    "The simplest option is to replace the {a}.",
    "Then you can decide whether the {b} is worth it.",
    "Think about how the {a} changes over a week.",
    "Write the {a} on one side and the {b} on the other.",
    "There is no single right answer for the {a}.",
    "Notice how the {a} affects the {b}.",
    "You do not need to fix the {a} all at once.",
    "Set a small goal for the {a} each day.",
    "The {b} will follow once the {a} is settled.",
    "Ask yourself what the {a} is really for.",
    "It is fine to leave the {a} for later.",
    "Group the {a} with the other {b} items.",
    "A quick test is to remove the {a} and see.",
    "Look for patterns in the {a} over time.",
    "The trick is to keep the {a} small.",
    "After that, review the {b} once more.",
    "Use the {a} as a reminder of the {b}.",
    "Be careful not to overload the {a}.",
    "Share the {a} with someone you trust.",
    "If in doubt, go back to the {a}.",
    "In short, the {a} is the part to watch.",
    "Finally, put the {a} somewhere you will see it.",
]
# After the common opener (closer) above, which 70% of planted ones are.
OPENERS = ["Great question, and you are not alone in it.", "Here are some ideas."]
CLOSERS = ["I hope this helps!", "Let me know how it goes."]


def templated_chats(
    path: Path, n: int, *, opening: float = 0.3, closing: float = 0.2, sentences: int = 8
) -> None:
    """Phrase-heavy chats: replies of `sentences` sentences from `TEMPLATES`, opening with one of
    `OPENERS` with probability `opening` and closing with one of `CLOSERS` with probability
    `closing` (the first of each is the common one). As `benchmarks/lint_scale.py` measures the
    lint on it, so `tests/lint/test_speed.py` checks its report."""
    openers, closers = [VALIDATION, *OPENERS], [DEEPER, *CLOSERS]
    rng = random.Random(0)

    def line() -> str:
        a, b = rng.sample(VOCABULARY, 2)
        return rng.choice(TEMPLATES).format(a=a, b=b)

    with path.open("w", encoding="utf-8") as out:
        for index in range(n):
            parts = [line() for _ in range(sentences)]
            if rng.random() < opening:
                parts.insert(0, openers[0] if rng.random() < 0.7 else rng.choice(openers))
            if rng.random() < closing:
                parts.append(closers[0] if rng.random() < 0.7 else rng.choice(closers))
            messages = [
                {"role": "user", "content": line()},
                {"role": "assistant", "content": " ".join(parts)},
            ]
            out.write(json.dumps({"id": f"r{index}", "messages": messages}) + "\n")


SCAN_PATTERNS = [
    {
        "name": "Validating opener",
        "description": "Replies open by validating how hard the user's situation is.",
        "evidence": [VALIDATION],
    },
    {
        "name": "Offer to go deeper",
        "description": "Replies end by offering to go deeper on the topic.",
        "evidence": [DEEPER],
    },
]
ODD_PATTERN = {
    "name": "Mentions kitchen appliances",
    "description": "One reply talks about toasters and blenders.",
    "evidence": ["toaster"],
}
MERGED = {
    "Validating opener": {
        "name": "Validating opener",
        "description": "The reply opens by validating the user's feelings.",
        "broad": "The reply acknowledges the user's feelings somewhere near the start.",
        "strict": "The first sentence validates how hard the user's situation is.",
    },
    "Offer to go deeper": {
        "name": "Offer to go deeper",
        "description": "The reply closes by offering more depth.",
        "broad": "The reply offers further help at the end.",
        "strict": "The last sentence offers to go deeper on the topic.",
    },
}


class LintPolicy:
    """A scripted model for every lint stage: scan, merge and autorate replies.

    The first scan also reports an idiosyncratic pattern, which `min_scans=2` must drop.
    Autorate rates the validating opener strict when the item opens with VALIDATION, the
    offer strict when it contains DEEPER, and any other feature "none"; items containing
    `garble` get an unusable reply.
    """

    def __init__(self, garble: str | None = None) -> None:
        self.scans = 0
        self.garble = garble

    def __call__(
        self, messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig
    ) -> str:
        prompt = messages[0].text
        if "items from it" in prompt:
            self.scans += 1
            patterns = SCAN_PATTERNS + ([ODD_PATTERN] if self.scans == 1 else [])
            return json.dumps({"patterns": patterns})
        if "Merge them into one feature" in prompt:
            name = next((key for key in MERGED if key in prompt), None)
            merged = MERGED[name] if name else {**ODD_PATTERN, "broad": "x", "strict": "y"}
            return "Here is the merged feature:\n" + json.dumps(merged)
        item = re.search(r"<item>\n(.*?)\n</item>", prompt, re.DOTALL)
        assert item is not None, prompt[:200]
        text = item.group(1)
        if self.garble and self.garble in text:
            return "I would rather not say."
        ratings = {}
        for feature_id, name in re.findall(r'<feature id="([^"]+)">\nname: ([^\n]+)', prompt):
            if name == "Validating opener":
                ratings[feature_id] = "strict" if text.startswith(VALIDATION) else "none"
            elif name == "Offer to go deeper":
                ratings[feature_id] = "strict" if DEEPER in text else "none"
            else:
                ratings[feature_id] = "none"
        return json.dumps({"ratings": ratings})


TOPICS = {
    "garden": ["soil", "compost", "seedlings", "tomatoes", "mulch", "roses", "weeds", "shade"],
    "money": ["budget", "savings", "interest", "loan", "rent", "taxes", "pension", "invoice"],
    "travel": ["train", "passport", "hostel", "luggage", "flight", "museum", "ferry", "map"],
    "code": ["function", "compiler", "database", "test", "branch", "server", "loop", "cache"],
}
LEADS = [
    "Most",
    "Your",
    "Fresh",
    "Some",
    "Every",
    "Good",
    "Many",
    "Old",
    "Cheap",
    "Quick",
    "Wet",
    "Two",
    "Both",
    "Small",
    "Late",
    "Early",
    "Warm",
    "Cold",
    "Clean",
    "Busy",
    "Spare",
    "Odd",
]


def topical_chats(path: Path, n: int, *, seed: int = 0) -> list[dict[str, Any]]:
    """Clean chats on four subjects: first sentences about one subject each, worded freely
    (no shared opening words or form), so embeddings cluster them by topic alone."""
    rng = random.Random(seed)
    records = []
    for index in range(n):
        topic = rng.choice(sorted(TOPICS))
        nouns = rng.sample(TOPICS[topic], 3)
        first = (
            f"{rng.choice(LEADS)} {nouns[0]} {rng.choice(VOCABULARY)} {nouns[1]} and {nouns[2]}."
        )
        reply = " ".join([first, sentence(rng), sentence(rng)])
        records.append(
            {
                "id": f"t{index}",
                "messages": [
                    {"role": "user", "content": f"Tell me about {nouns[0]}."},
                    {"role": "assistant", "content": reply},
                ],
            }
        )
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return records
