"""Chats with three planted structural patterns, and a decent but imperfect stand-in LLM.

The patterns are structures, not fixed phrases: the reply opens with a question (any question),
lays out numbered steps, or closes with a one-line recap (several wordings). The stand-in model
behaves like a reasonable real one would, imperfectly:

* *scan*: reports each pattern common in its batch under a paraphrase drawn at random (a name
  and description worded differently each time, far apart in embedding space), misses one now
  and then, and adds an idiosyncratic pattern to some batches;
* *merge*: names the merged feature after one of the listed paraphrases;
* *rate*: rates each feature from the item's true structure, then flips the answer with
  probability `noise`, independently per item, feature and call (so two paraphrases of one
  pattern do not even share their mistakes; a re-rating disagrees too).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inspect_ai.model import ChatMessage, GenerateConfig
from inspect_ai.tool import ToolInfo

from tests.lint.helpers import sentence

RECAPS = ["In short,", "To sum up,", "Bottom line:", "Overall,", "All in all,"]
QUESTIONS = ["Have you ever wondered about the", "What makes a", "Why would anyone pick the"]

DETECT: dict[str, Callable[[str], bool]] = {
    "question": lambda text: bool(re.match(r"[^.!?\n]*\?", text)),
    "steps": lambda text: bool(re.search(r"^1\. ", text, re.MULTILINE)),
    "recap": lambda text: any(text.splitlines()[-1].startswith(r) for r in RECAPS),
}
PARAPHRASES: dict[str, list[tuple[str, str]]] = {
    "question": [
        ("Rhetorical question opener", "Replies begin by posing a question to the reader."),
        ("Opens with a question", "The first sentence of the answer is a question."),
        ("Socratic hook", "Answers start by asking something before giving information."),
        ("Interrogative lead", "Responses lead with an interrogative sentence."),
        ("Curiosity hook at the start", "The assistant kicks off by wondering aloud."),
    ],
    "steps": [
        ("Numbered step lists", "Replies contain an enumerated list of steps."),
        ("Enumerated procedure", "Answers break the content into 1., 2., 3. items."),
        ("Listicle structure", "The assistant organises its reply as a numbered sequence."),
        ("Step-by-step breakdown", "Content is presented as ordered numbered points."),
        ("Ordinal formatting", "Uses ordinal list markers to structure the answer."),
    ],
    "recap": [
        ("Summary closer", "Replies end with a one-line summary."),
        ("Wrap-up sentence", "The final sentence recaps the answer (e.g. 'In short, ...')."),
        ("TL;DR ending", "Answers finish with a condensed takeaway."),
        ("Concluding recap", "The assistant closes by restating its main point."),
        ("Bottom-line close", "Responses conclude with a bottom-line statement."),
    ],
}
SPURIOUS = [
    ("Mentions the weather", "Some replies bring up rain or sunshine."),
    ("British spelling", "Words like colour and organise appear."),
    ("Fictional company names", "Replies refer to invented businesses."),
    ("Cites a statistic", "A percentage is quoted as support."),
    ("Emoji use", "An emoji decorates the reply."),
    ("Addresses the user by name", "The reply greets the user personally."),
    ("Talks about pets", "Cats and dogs come up as examples."),
    ("Proverbs", "A well-known saying is quoted."),
    ("Code snippets", "A short code block appears."),
    ("Deadline talk", "The reply mentions due dates."),
    ("Sports metaphors", "Explanations lean on sports imagery."),
    ("Travel anecdotes", "A trip is used as an illustration."),
]
PATTERN_OF = {name: key for key, options in PARAPHRASES.items() for name, _ in options}


def planted_structures(
    path: Path, n: int, *, rates: dict[str, float] | None = None, seed: int = 0
) -> list[dict[str, Any]]:
    """Chat records whose replies carry each structural pattern with its probability in
    `rates` (independently), with the planted pattern keys in metadata."""
    rates = rates or {"question": 0.3, "steps": 0.25, "recap": 0.2}
    rng = random.Random(seed)
    records = []
    for index in range(n):
        planted = [key for key, rate in rates.items() if rng.random() < rate]
        lines = [" ".join(sentence(rng) for _ in range(rng.randint(2, 6)))]
        if "question" in planted:
            words = sentence(rng).lower().rstrip(".").split()
            lines[0] = f"{rng.choice(QUESTIONS)} {' '.join(words[:3])}? {lines[0]}"
        if "steps" in planted:
            lines += [f"{k}. {sentence(rng)}" for k in range(1, rng.randint(3, 5))]
        if "recap" in planted:
            lines.append(f"{rng.choice(RECAPS)} {sentence(rng).lower()}")
        records.append(
            {
                "id": f"r{index}",
                "messages": [
                    {"role": "user", "content": sentence(rng)},
                    {"role": "assistant", "content": "\n".join(lines)},
                ],
                "metadata": {"planted": planted},
            }
        )
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return records


class ImperfectModel:
    """The stand-in LLM for every lint stage (see the module docstring)."""

    def __init__(
        self, seed: int = 0, *, noise: float = 0.1, miss: float = 0.1, spurious: float = 0.35
    ) -> None:
        self.seed = seed
        self.noise = noise
        self.miss = miss
        self.spurious = spurious
        self.rng = random.Random(seed)
        self.spurious_left = list(SPURIOUS)
        self.rng.shuffle(self.spurious_left)
        self.calls: Counter[tuple[str, str]] = Counter()
        self.scans = 0
        self.scanned: list[tuple[str, int]] = []  # (name reported, scan number)

    def __call__(
        self, messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig
    ) -> str:
        prompt = messages[0].text
        if "<item n=" in prompt:
            return self._scan(re.findall(r'<item n="\d+">\n(.*?)\n</item>', prompt, re.DOTALL))
        if "<patterns>" in prompt:
            return self._merge(prompt)
        item = re.search(r"<item>\n(.*?)\n</item>", prompt, re.DOTALL)
        assert item is not None, prompt[:300]
        features = re.findall(r'<feature id="([^"]+)">\nname: ([^\n]+)', prompt)
        return json.dumps({"ratings": {i: self._rate(n, item.group(1)) for i, n in features}})

    def _scan(self, items: list[str]) -> str:
        patterns = []
        for key, detect in DETECT.items():
            having = [text for text in items if detect(text)]
            if len(having) >= max(2, len(items) // 10) and self.rng.random() >= self.miss:
                name, description = self.rng.choice(PARAPHRASES[key])
                evidence = [text.splitlines()[0][:60] for text in having[:2]]
                patterns.append({"name": name, "description": description, "evidence": evidence})
        if self.spurious_left and self.rng.random() < self.spurious:
            name, description = self.spurious_left.pop()
            patterns.append({"name": name, "description": description, "evidence": [items[0]]})
        self.rng.shuffle(patterns)
        self.scanned += [(p["name"], self.scans) for p in patterns]
        self.scans += 1
        return json.dumps({"patterns": patterns})

    def _merge(self, prompt: str) -> str:
        listing = prompt.split("<patterns>")[1].split("</patterns>")[0]
        names = re.findall(r"^- ([^:\n]+):", listing, re.MULTILINE)
        keys = Counter(PATTERN_OF.get(name) for name in names)
        key = keys.most_common(1)[0][0]
        name = next(n for n in names if PATTERN_OF.get(n) == key)
        description = dict(PARAPHRASES.get(key or "", SPURIOUS))[name]
        return json.dumps(
            {"name": name, "description": description, "broad": description, "strict": description}
        )

    def _rate(self, name: str, text: str) -> str:
        key = PATTERN_OF.get(name)
        truth = key is not None and DETECT[key](text)
        self.calls[(name, text)] += 1
        draw = f"{self.seed}|{name}|{text}|{self.calls[(name, text)]}".encode()
        flip = int(hashlib.sha256(draw).hexdigest()[:8], 16) / 16**8 < self.noise
        return "strict" if truth != flip else "none"
