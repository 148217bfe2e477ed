from __future__ import annotations

import json
from pathlib import Path

import pytest
from inspect_ai import Task
from inspect_ai.dataset import Sample
from inspect_ai.model import ChatMessageUser, ModelOutput, get_model
from inspect_ai.scorer import includes
from inspect_ai.solver import generate, use_tools
from inspect_ai.tool import tool

from tests.helpers import run_task, scripted
from traitlab.errors import InputError
from traitlab.models import ScriptedModelAPI, load_replies


def echo_policy(messages, tools, config):  # noqa: ANN001, ANN201  (policy signature)
    return f"echo: {messages[-1].text}"


@tool
def add():  # noqa: ANN201
    async def execute(a: int, b: int) -> int:
        """Add two numbers.

        Args:
            a: First number.
            b: Second number.
        """
        return a + b

    return execute


async def test_replies_are_served_in_order_with_usage() -> None:
    model = scripted(replies=["first", {"content": "second"}])
    first = await model.generate([ChatMessageUser(content="hi there")])
    second = await model.generate("again")
    assert (first.completion, second.completion) == ("first", "second")
    assert (
        first.usage is not None and first.usage.input_tokens > 0 and first.usage.output_tokens > 0
    )
    with pytest.raises(RuntimeError, match="ran out of replies after 2"):
        await model.generate("third")


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
async def test_replies_from_file(tmp_path: Path, fmt: str) -> None:
    replies = [
        "a",
        {"content": "b", "tool_calls": [{"function": "add", "arguments": {"a": 1, "b": 2}}]},
    ]
    path = tmp_path / f"replies.{fmt}"
    if fmt == "json":
        path.write_text(json.dumps(replies))
    else:
        path.write_text("\n".join(json.dumps(r) for r in replies) + "\n")
    model = get_model("scripted/file", replies=str(path), memoize=False)
    assert (await model.generate("x")).completion == "a"
    output = await model.generate("y")
    call = output.message.tool_calls[0]
    assert (call.function, call.arguments) == ("add", {"a": 1, "b": 2})
    assert output.stop_reason == "tool_calls"


def test_bad_replies_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('"ok"\n{not json\n')
    with pytest.raises(InputError, match=r"bad.jsonl:2: invalid JSON"):
        load_replies(path)
    with pytest.raises(InputError, match="cannot read scripted replies"):
        load_replies(tmp_path / "missing.json")
    # A judge verdict as a bare object is not a reply object; it must not become an empty reply.
    path.write_text('"ok"\n{"explanation": "fine", "met": true}\n')
    with pytest.raises(InputError, match=r"bad.jsonl:2: a reply is a string .*explanation"):
        load_replies(path)
    path.write_text(json.dumps([{"content": "a", "score": 3}]))
    with pytest.raises(InputError, match="score: Extra inputs are not permitted"):
        load_replies(path)


async def test_policy_by_import_path_and_async_callable() -> None:
    model = get_model("scripted/p", policy="tests.test_models:echo_policy", memoize=False)
    assert (await model.generate("hello")).completion == "echo: hello"

    async def policy(messages, tools, config):  # noqa: ANN001, ANN202
        return ModelOutput.from_content(model="x", content=f"{len(messages)} messages")

    assert (await scripted(policy=policy).generate("hi")).completion == "1 messages"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, "exactly one of"),
        ({"replies": ["a"], "policy": echo_policy}, "exactly one of"),
        ({"policy": "no_such_module:fn"}, "cannot import scripted policy"),
        ({"replies": ["a"], "temperature_typo": 1}, "unknown model args"),
    ],
)
def test_bad_model_args(args: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        ScriptedModelAPI("x", **args)


def test_tool_calls_run_through_a_task_offline(tmp_path: Path, no_network: None) -> None:
    def policy(messages, tools, config):  # noqa: ANN001, ANN202
        assert [t.name for t in tools] == ["add"]
        if messages[-1].role == "tool":
            return f"The answer is {messages[-1].text}."
        return {"content": "", "tool_calls": [{"function": "add", "arguments": {"a": 2, "b": 40}}]}

    task = Task(
        dataset=[Sample(input="What is 2 + 40?", target="42")],
        solver=[use_tools(add()), generate()],
        scorer=includes(),
    )
    log = run_task(task, scripted(policy=policy), tmp_path)
    assert log.results.scores[0].metrics["accuracy"].value == 1.0
    sample = log.samples[0]
    assert [m.role for m in sample.messages] == ["user", "assistant", "tool", "assistant"]
    assert log.stats.model_usage["scripted/model"].input_tokens > 0
