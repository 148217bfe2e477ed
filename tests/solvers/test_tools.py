from __future__ import annotations

from pathlib import Path

from inspect_ai import Task
from inspect_ai.dataset import Sample
from inspect_ai.solver import generate, use_tools
from inspect_ai.tool import ToolError, tool

from tests.helpers import run_task, scripted
from traitlab.solvers import ToolLog, recorded


@tool
def lookup():  # noqa: ANN201
    @recorded("lookup")
    async def execute(key: str) -> str:
        """Look a key up.

        Args:
            key: The key.
        """
        if key == "missing":
            raise ToolError("no such key")
        return key.upper()

    return execute


def test_calls_and_errors_are_recorded_in_the_store(tmp_path: Path) -> None:
    def policy(messages, tools, config):  # noqa: ANN001, ANN202
        assert tools[0].parameters.properties["key"].description == "The key."
        done = sum(m.role == "tool" for m in messages)
        if done < 2:
            key = ["abc", "missing"][done]
            return {
                "content": "",
                "tool_calls": [{"function": "lookup", "arguments": {"key": key}}],
            }
        return "done"

    task = Task(dataset=[Sample(input="go")], solver=[use_tools(lookup()), generate()])
    log = run_task(task, scripted(policy=policy), tmp_path)
    calls = log.samples[0].store_as(ToolLog).calls
    assert [(c.tool, c.arguments, c.result, c.error) for c in calls] == [
        ("lookup", {"key": "abc"}, "ABC", None),
        ("lookup", {"key": "missing"}, None, "no such key"),
    ]
