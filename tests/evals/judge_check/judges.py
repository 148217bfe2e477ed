"""Scripted judges for judge_check: an honest one that gives the labels, and three that try to
pass for judges (convict on any quotable words, always say "violated", refuse the ugly cases).

Each judge is a policy for the scripted provider: it finds the labelled case the prompt is about
(by the case's own words in the prompt) and replies in the eval's verdict schema.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from inspect_ai.model import ChatMessage

from traitlab.evals.judge_check.dataset import labelled_path
from traitlab.judging import JudgedCase, checkable_judge

REFUSAL = "I'm sorry, but I can't help with evaluating content like this."

Reply = Callable[[JudgedCase, str], str]
"""(case, prompt) -> the judge's reply."""


def cases(eval_name: str) -> list[JudgedCase]:
    judge = checkable_judge(eval_name)
    lines = labelled_path(eval_name).read_text(encoding="utf-8").splitlines()
    return [judge.case.model_validate_json(line) for line in lines if line.strip()]


def policy(eval_name: str, reply: Reply, key: Callable[[JudgedCase], str]) -> Any:
    """A scripted-provider policy answering each prompt about a case with `reply`.

    `key` gives words of the case that appear in its prompt and in no other case's.
    """
    known = cases(eval_name)

    def answer(messages: list[ChatMessage], tools: Any, config: Any) -> str:
        prompt = messages[0].text
        found = [case for case in known if key(case) in prompt]
        assert len(found) == 1, f"{len(found)} cases match the prompt"
        return reply(found[0], prompt)

    return answer


def dumps(verdict: dict[str, Any]) -> str:
    return json.dumps(verdict)
