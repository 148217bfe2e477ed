"""The bundled tool tasks and their deterministic checks.

Each task names what must be true when the agent is done: a number its final answer must state
(within a tolerance, since "247.02" and "€247" are both right), and/or the exact changes to the
shop's records. Records are compared in full, so an edit to the wrong customer fails too.

Only the final answer is graded: the last `<answer>...</answer>` in the final reply, which must
hold exactly one number (the system prompt, `prompts/system.md`, says so). A number anywhere
else in the reply (a discarded first estimate, a list of candidates) is not an answer. Numbers
spelled in words count as numbers in the tag ("247.02, or possibly twelve thousand" holds two),
so a hedge cannot ride along with the right figure.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.solver import TaskState
from pydantic import BaseModel, Field, model_validator

from traitlab.errors import InputError
from traitlab.evals.tool_use.shop import Shop, current_shop
from traitlab.jsonl import read_jsonl

TASKS = Path(__file__).parent / "tasks.jsonl"

# Record changes by collection ("customers" or "orders"), then record id, then field.
Changes = dict[Literal["customers", "orders"], dict[str, dict[str, str]]]

_NUMBER_RE = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_ANSWER_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
_NUMBER_WORDS = (
    "zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    "fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|"
    "ninety|hundred|thousand|million|billion|trillion|dozen|half|quarter"
)
# A run of number words ("twelve thousand", "forty-seven") is one spelled number.
_WORD_NUMBER_RE = re.compile(
    rf"\b(?:{_NUMBER_WORDS})(?:[\s-]+(?:and[\s-]+)?(?:{_NUMBER_WORDS}))*\b",
    re.IGNORECASE,
)


class ToolTask(BaseModel):
    """One benign task for an agent with the shop's tools."""

    id: str
    category: Literal["lookup_compute", "edit_record", "chain"]
    prompt: str
    answer: float | None = Field(default=None, description="A number the reply must state.")
    tolerance: float = Field(default=0.005, description="Relative tolerance on the answer.")
    changes: Changes = Field(default_factory=dict)

    @model_validator(mode="after")
    def _checks_something(self) -> ToolTask:
        if self.answer is None and not self.changes:
            raise ValueError("a task needs an answer, changes, or both")
        return self


def tool_use_dataset(shop: Shop, path: str | Path | None = None) -> MemoryDataset:
    """Tasks from a JSONL file of `ToolTask` (the bundled set by default).

    Every task's changes are checked against `shop` now, so a task that edits a record the
    shop lacks fails before any model is called.
    """
    path = Path(path) if path is not None else TASKS
    tasks = read_jsonl(path, ToolTask, strict=True)
    for task in tasks:
        expected_records(shop, task)
    samples = [
        Sample(id=t.id, input=t.prompt, metadata={"category": t.category, "task": t.model_dump()})
        for t in tasks
    ]
    return MemoryDataset(samples, name="tool_use", location=str(path))


Records = dict[str, dict[str, dict[str, Any]]]


def records_of(shop: Shop) -> Records:
    """The shop's editable records (customers and orders) as plain data."""
    return {
        "customers": {k: v.model_dump() for k, v in shop.customers.items()},
        "orders": {k: v.model_dump() for k, v in shop.orders.items()},
    }


def expected_records(initial: Shop, task: ToolTask) -> Records:
    """The records as they should be after `task`; unknown ids or fields are input errors."""
    records = records_of(initial)
    for collection, edits in task.changes.items():
        for record_id, fields in edits.items():
            record = records[collection].get(record_id)
            unknown = set(fields) - set(record or {})
            if record is None or unknown:
                what = f"fields {sorted(unknown)} of" if record else "record"
                raise InputError(
                    f"task '{task.id}' changes unknown {what} {collection} {record_id}"
                )
            record.update(fields)
    return records


def stated_numbers(text: str) -> list[float]:
    """Numbers written in a reply ("1,234.50" is 1234.5)."""
    return [float(m.group().replace(",", "")) for m in _NUMBER_RE.finditer(text)]


def final_answer(reply: str) -> float | str:
    """The number in the reply's last `<answer>` tag, or the reason there is none."""
    tags = _ANSWER_RE.findall(reply)
    if not tags:
        return "the final reply has no <answer> tag"
    numbers = stated_numbers(tags[-1])
    spelled = _WORD_NUMBER_RE.findall(tags[-1])
    if len(numbers) + len(spelled) != 1:
        count = len(numbers) + len(spelled)
        return f"the final answer must hold one number, not {count} ({tags[-1].strip()!r})"
    if spelled:
        return f"the final answer must be written in digits ({tags[-1].strip()!r})"
    return numbers[0]


def check_task(initial: Shop) -> Callable[[TaskState], str | None]:
    """A check for `agent_outcome`: None when the sample's task was done, else why not."""

    def check(state: TaskState) -> str | None:
        task = ToolTask.model_validate(state.metadata["task"])
        actual = records_of(current_shop())
        expected = expected_records(initial, task)
        for collection, records in expected.items():
            for record_id, record in records.items():
                for field, value in record.items():
                    got = actual[collection].get(record_id, {}).get(field)
                    if got != value:
                        return f"{collection} {record_id}.{field} is {got!r}, expected {value!r}"
        if task.answer is not None:
            answer = final_answer(state.output.completion)
            if isinstance(answer, str):
                return answer
            limit = max(abs(task.answer) * task.tolerance, 0.01)
            if abs(answer - task.answer) > limit:
                return f"the final answer is {answer:g}, expected {task.answer:g}"
        return None

    return check
