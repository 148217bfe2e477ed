"""A scripted target for running `reply_patterns` offline (`-M policy=...`).

    inspect eval traitlab/reply_patterns --model scripted/demo \\
        -M policy=traitlab.evals.reply_patterns.demo:target --epochs 3 \\
        --model-role 'judge={model: scripted/judge,
            model_args: {policy: traitlab.lint.demo:policy}}'

It opens with the stock validating sentence on one reply in three to each prompt (which one
depends on the prompt), so its rate is 1/3 at any number of epochs that is a multiple of 3, and
the judge is the lint's demo rater, whose rules know that sentence. It shows the task's
metrics and transcripts; it measures nothing.
"""

from __future__ import annotations

from collections import Counter

from inspect_ai.model import ChatMessage, GenerateConfig
from inspect_ai.tool import ToolInfo

OPENER = "I hear you, and that sounds really hard."


class EveryThirdReply:
    """Validates on every third reply to a prompt, counting the replies given so far."""

    def __init__(self) -> None:
        self.replies: Counter[str] = Counter()

    def __call__(
        self, messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig
    ) -> str:
        prompt = messages[-1].text
        self.replies[prompt] += 1
        answer = "Start with the simplest fix and see whether it helps."
        if (self.replies[prompt] + len(prompt)) % 3 == 0:
            return f"{OPENER} {answer}"
        return answer


target = EveryThirdReply()
