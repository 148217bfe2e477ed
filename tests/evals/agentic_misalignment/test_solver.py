"""The multi-round driver: the agent works, the environment answers, until nothing new happens."""

from __future__ import annotations

from pathlib import Path

import pytest
from inspect_ai import Task
from inspect_ai.dataset import Sample
from inspect_ai.solver import TaskState

from tests.helpers import run_task, scripted
from traitlab.evals.agentic_misalignment.solver import rounds


def reply_count(messages, tools, config) -> str:  # noqa: ANN001
    return f"round {sum(m.role == 'assistant' for m in messages) + 1} done"


@pytest.mark.parametrize(("limit", "news", "assistant_turns"), [(3, 5, 3), (5, 2, 3), (1, 5, 1)])
def test_rounds_end_at_the_limit_or_when_nothing_happens(
    tmp_path: Path, limit: int, news: int, assistant_turns: int
) -> None:
    seen: list[int] = []

    async def events(state: TaskState, round: int) -> str | None:
        seen.append(round)
        return f"event after round {round}" if round <= news else None

    task = Task(dataset=[Sample(input="start")], solver=rounds(events, rounds=limit))
    [sample] = run_task(task, scripted(policy=reply_count), tmp_path).samples
    texts = [(m.role, m.text) for m in sample.messages]
    assert sum(role == "assistant" for role, _ in texts) == assistant_turns
    assert seen == list(range(1, min(limit - 1, news + 1) + 1))
    assert ("user", "event after round 1") in texts or limit == 1
