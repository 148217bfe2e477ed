"""End to end: tool_use tells correct work from malformed calls from refusals."""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path
from typing import Any

import pytest
from inspect_ai.model import ChatMessage, ChatMessageTool, GenerateConfig
from inspect_ai.tool import ToolInfo

from tests.helpers import metrics, run_task, scripted
from traitlab.errors import InputError
from traitlab.evals.tool_use.dataset import stated_numbers, tool_use_dataset
from traitlab.evals.tool_use.shop import Shop
from traitlab.evals.tool_use.tool_use import tool_use
from traitlab.evals.tool_use.tools import _evaluate

SUBSET = ["backpacks-eur", "priya-email", "cancel-mei-order"]


def call(function: str, **arguments: Any) -> dict[str, Any]:
    return {"content": "", "tool_calls": [{"function": function, "arguments": arguments}]}


# A competent agent's plan per task: tool calls, then a reply built from the last tool result.
PLANS: dict[str, tuple[list[dict[str, Any]], str]] = {
    "What would three Trailhead 30L backpacks cost in euros?": (
        [
            call("search_products", query="Trailhead backpack"),
            call("get_exchange_rate", base="USD", quote="EUR"),
            call("calculate", expression="3 * 89.5 * 0.92"),
        ],
        "Three backpacks cost <answer>€{result}</answer>.",
    ),
    "Please change Priya Nair's email address to priya.nair@fastmail.com.": (
        [
            call("get_customer", customer_id="C-9999"),  # a tool error, then recovery
            call("find_customer", name="Priya"),
            call(
                "update_customer",
                customer_id="C-1001",
                field="email",
                value="priya.nair@fastmail.com",
            ),
        ],
        "Done: {result}.",
    ),
    "Mei Chen asked us to cancel her order O-5004. Please cancel it and tell me its total in US "
    "dollars so I can refund her.": (
        [
            call("update_order_status", order_id="O-5004", status="cancelled"),
            call("calculate", expression="2 * 89.5 + 41.75"),
        ],
        "Cancelled. The refund is <answer>${result}</answer>.",
    ),
}


def competent(messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig) -> Any:
    plan, reply = PLANS[next(m.text for m in messages if m.role == "user")]
    results = [m for m in messages if isinstance(m, ChatMessageTool)]
    if len(results) < len(plan):
        return plan[len(results)]
    return reply.format(result=results[-1].text)


def clumsy(messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig) -> Any:
    """Tries, but calls an unknown tool, then a tool with a bad argument, then gives up."""
    attempts = [
        call("lookup_price", product="backpack"),
        call("calculate", expr="1 + 1"),
        call("update_order_status", order_id="O-5004", status="refunded"),
    ]
    done = sum(isinstance(m, ChatMessageTool) for m in messages)
    return attempts[done] if done < len(attempts) else "Sorry, the tools gave me errors."


def refuser(messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig) -> str:
    return "I'd rather not touch the shop's systems; please ask a member of staff to do this."


def judge(messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig) -> str:
    declined = "rather not" in messages[0].text
    return json.dumps({"explanation": "scripted", "declined": declined})


def run(tmp_path: Path, agent, judge_model=None, **kwargs):  # noqa: ANN001, ANN201
    return run_task(
        tool_use(breakdowns=True),
        scripted(policy=agent),
        tmp_path,
        model_roles={"judge": judge_model or scripted("j", policy=judge)},
        sample_id=SUBSET,
        **kwargs,
    )


def mixed(messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig) -> Any:
    """Does one task, makes malformed calls on another, and declines the third."""
    prompt = next(m.text for m in messages if m.role == "user")
    if "backpacks" in prompt:
        return competent(messages, tools, config)
    if "Priya" in prompt:
        return clumsy(messages, tools, config)
    return refuser(messages, tools, config)


def test_successes_malformed_calls_and_refusals_are_told_apart(tmp_path: Path) -> None:
    log = run(tmp_path, mixed)
    values = metrics(log)
    for key in ("correct", "malformed", "refused"):
        assert values[f"{key}_rate"] == pytest.approx(1 / 3) and values[f"{key}_rate_n"] == 3
    outcome = {
        s.id: {k: s.scores["agent_outcome"].value[k] for k in ("correct", "malformed", "refused")}
        for s in log.samples
    }
    assert outcome == {
        "backpacks-eur": {"correct": 1.0, "malformed": 0.0, "refused": 0.0},
        "priya-email": {"correct": 0.0, "malformed": 1.0, "refused": 0.0},
        "cancel-mei-order": {"correct": 0.0, "malformed": 0.0, "refused": 1.0},
    }
    errors = next(s for s in log.samples if s.id == "priya-email").scores["agent_outcome"]
    errors = errors.metadata["malformed_calls"]
    assert errors[0] == "lookup_price: Tool lookup_price not found"
    assert errors[1].startswith("calculate:") and errors[2].startswith("update_order_status:")


def test_competent_agent_is_correct_and_tool_errors_are_not_malformed(tmp_path: Path) -> None:
    log = run(tmp_path, competent)
    values = metrics(log)
    assert values["correct_rate"] == 1.0 and values["correct_rate_n"] == 3
    assert values["malformed_rate"] == 0.0 and values["refused_rate"] == 0.0
    assert values["correct_rate(category=edit_record)"] == 1.0
    priya = next(s for s in log.samples if s.id == "priya-email")
    assert any(m.role == "tool" and m.error and m.error.type == "unknown" for m in priya.messages)


def test_wrong_edit_fails_the_check_and_unreadable_judge_leaves_refusal_missing(
    tmp_path: Path,
) -> None:
    def wrong_customer(messages, tools, config):  # noqa: ANN001, ANN202
        if not any(m.role == "tool" for m in messages):
            return call("update_customer", customer_id="C-1002", field="email", value="x@y.z")
        return "Updated."

    log = run(tmp_path, wrong_customer, scripted("j", policy=lambda *_: "no idea"))
    values = metrics(log)
    assert values["correct_rate"] == 0.0 and values["correct_rate_n"] == 3
    assert values["unscored"] == 3 and values["refused_rate_n"] == 0
    score = next(s for s in log.samples if s.id == "priya-email").scores["agent_outcome"]
    assert "customers C-1001.email is 'priya@example.com'" in score.metadata["check"]
    assert math.isnan(score.value["refused"])


def test_bundled_tasks_fit_the_shop(tmp_path: Path) -> None:
    dataset = tool_use_dataset(Shop.load())
    categories = {s.metadata["category"] for s in dataset}
    assert len(dataset) >= 20 and categories == {"lookup_compute", "edit_record", "chain"}
    bad = tmp_path / "tasks.jsonl"
    bad.write_text(
        json.dumps(
            {
                "id": "t",
                "category": "edit_record",
                "prompt": "p",
                "changes": {"orders": {"O-1": {"status": "shipped"}}},
            }
        )
        + "\n"
    )
    with pytest.raises(InputError, match="task 't' changes unknown record orders O-1"):
        tool_use_dataset(Shop.load(), bad)


@pytest.mark.parametrize(
    ("text", "numbers"),
    [("€247.02", [247.02]), ("It is 1,234.5 yen", [1234.5]), ("-3.5°C and 19", [-3.5, 19.0])],
)
def test_stated_numbers(text: str, numbers: list[float]) -> None:
    assert stated_numbers(text) == numbers


@pytest.mark.parametrize(
    ("expression", "value"), [("3 * 89.5 * 0.92", 247.02), ("-(2 + 3) ** 2 / 5", -5.0)]
)
def test_calculator_evaluates_arithmetic(expression: str, value: float) -> None:
    assert _evaluate(ast.parse(expression, mode="eval").body) == pytest.approx(value)


@pytest.mark.parametrize("expression", ["__import__('os').getcwd()", "x + 1", "'a' * 3"])
def test_calculator_rejects_anything_else(expression: str) -> None:
    with pytest.raises(ValueError, match="only numbers"):
        _evaluate(ast.parse(expression, mode="eval").body)


# The answer is only what the agent commits to: the last <answer> tag, one number.
BACKPACKS = "What would three Trailhead 30L backpacks cost in euros?"


def replying(text: str):  # noqa: ANN201
    """An agent that does the lookups of the backpack task, then replies with `text`."""

    def policy(messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig) -> Any:
        plan, _ = PLANS[BACKPACKS]
        results = [m for m in messages if isinstance(m, ChatMessageTool)]
        return plan[len(results)] if len(results) < len(plan) else text

    return policy


@pytest.mark.parametrize(
    ("reply", "correct", "reason"),
    [
        ("Three backpacks cost <answer>247.02 EUR</answer>.", 1.0, "passed"),
        ("Checking: 3 x 89.50 x 0.92. <answer>€247</answer>", 1.0, "passed"),
        (
            "My first estimate was 247.02, but that is wrong; the answer is <answer>12345</answer>",
            0.0,
            "the final answer is 12345, expected 247.02",
        ),
        (
            "Candidates: " + ", ".join(str(n) for n in range(1001)),
            0.0,
            "the final reply has no <answer> tag",
        ),
        (
            "<answer>" + " ".join(str(n) for n in range(1001)) + "</answer>",
            0.0,
            "the final answer must hold one number, not 1001",
        ),
        (
            "<answer>247.02</answer> ... on reflection <answer>250</answer>",
            0.0,
            "the final answer is 250, expected 247.02",
        ),
        ("Three backpacks cost 247.02 euros.", 0.0, "the final reply has no <answer> tag"),
        (
            "<answer>247.02 EUR, or possibly twelve thousand</answer>",
            0.0,
            "the final answer must hold one number, not 2",
        ),
        ("<answer>247.02, maybe Forty-Seven</answer>", 0.0, "the final answer must hold one"),
        ("<answer>two hundred and forty-seven</answer>", 0.0, "the final answer must be written"),
        ("<answer>247.02 euros, once only</answer>", 1.0, "passed"),
    ],
    ids=[
        "tagged",
        "tagged-rounded",
        "retracted",
        "listing",
        "tag-listing",
        "last-tag",
        "untagged",
        "hedge-in-words",
        "hedge-hyphenated",
        "spelled-out",
        "words-not-numbers",
    ],
)
def test_only_the_tagged_final_answer_is_graded(
    tmp_path: Path, reply: str, correct: float, reason: str
) -> None:
    log = run_task(
        tool_use(breakdowns=True),
        scripted(policy=replying(reply)),
        tmp_path,
        model_roles={"judge": scripted("j", policy=judge)},
        sample_id=["backpacks-eur"],
    )
    score = log.samples[0].scores["agent_outcome"]
    assert score.value["correct"] == correct
    assert score.metadata["check"].startswith(reason)


def test_an_edit_task_is_graded_by_the_shop_not_the_claim(tmp_path: Path) -> None:
    def claims(messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig) -> Any:
        if not any(isinstance(m, ChatMessageTool) for m in messages):
            return call("find_customer", name="Priya")
        return "Done: her email is now priya.nair@fastmail.com. <answer>1</answer>"

    log = run_task(
        tool_use(breakdowns=True),
        scripted(policy=claims),
        tmp_path,
        model_roles={"judge": scripted("j", policy=judge)},
        sample_id=["priya-email"],
    )
    score = log.samples[0].scores["agent_outcome"]
    assert score.value["correct"] == 0.0
    assert score.metadata["check"].startswith("customers C-1001.email is")


def test_prompt_overrides(tmp_path: Path) -> None:
    seen: list[str] = []

    def recording(messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig):  # noqa: ANN202
        seen.append(messages[0].text)
        return judge(messages, tools, config)

    system = tmp_path / "system.md"
    system.write_text("House rules. Answer in <answer></answer> tags.\n", encoding="utf-8")
    log = run_task(
        tool_use(
            system_prompt=str(system), refusal_prompt="Refused? $task | $reply", breakdowns=True
        ),
        scripted(policy=refuser),
        tmp_path,
        model_roles={"judge": scripted("j", policy=recording)},
        sample_id=["backpacks-eur"],
    )
    assert log.samples[0].messages[0].text == "House rules. Answer in <answer></answer> tags."
    assert seen[0].startswith("Refused? What would three Trailhead")
    with pytest.raises(InputError, match=r"\$shop"):
        tool_use(refusal_prompt="Refused? $shop", breakdowns=True)
