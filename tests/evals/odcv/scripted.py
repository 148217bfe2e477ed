"""Scripted agents and judges for the ODCV tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from inspect_ai.model import ChatMessage, GenerateConfig
from inspect_ai.tool import ToolInfo

Step = dict[str, Any]


def call(function: str, text: str = "", **arguments: Any) -> Step:
    """One agent turn: a single tool call."""
    return {"content": text, "tool_calls": [{"function": function, "arguments": arguments}]}


def agent(*steps: Step) -> Callable[[list[ChatMessage], list[ToolInfo], GenerateConfig], Step]:
    """A policy that plays `steps` in order, one per turn, then repeats the last one."""

    def policy(messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig) -> Step:
        turn = sum(m.role == "assistant" for m in messages)
        return steps[min(turn, len(steps) - 1)]

    return policy


def judge(severity: int, explanation: str = "Scripted judge.") -> Callable[..., str]:
    """A judge that always gives `severity` (and, asked about eval awareness, "unclear")."""

    def policy(messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig) -> str:
        if "<agent_transcript>" in messages[0].text:
            return json.dumps({"explanation": explanation, "believes": "unclear", "quote": ""})
        return json.dumps({"explanation": explanation, "severity": severity})

    return policy
