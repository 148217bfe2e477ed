"""Inspect logs (``.eval``): every sample as a chat record, read one sample at a time."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from traitlab.errors import InputError
from traitlab.lint.items._inputs import file_sha256, first_line
from traitlab.lint.items._store import Input


class EvalLogRows:
    """A log's samples in the log's order, each read from the log when asked for."""

    def __init__(self, path: Path) -> None:
        from inspect_ai.log import read_eval_log_sample_summaries

        self.name = str(path)
        try:
            summaries = read_eval_log_sample_summaries(self.name)
        except Exception as ex:  # Inspect raises several types for a corrupt or foreign file.
            raise InputError(f"cannot read Inspect log ({first_line(ex)})", path=path) from None
        self._keys = [(s.id, s.epoch) for s in summaries]

    def __len__(self) -> int:
        return len(self._keys)

    def read(self, number: int) -> Any:
        return next(self.select([number]))[1]

    def select(self, numbers: Iterable[int]) -> Iterator[tuple[int, Any]]:
        from inspect_ai.log import read_eval_log_sample

        for number in numbers:
            sample_id, epoch = self._keys[number - 1]
            try:
                sample = read_eval_log_sample(
                    self.name, id=sample_id, epoch=epoch, exclude_fields={"events"}
                )
            except Exception as ex:
                raise InputError(
                    f"cannot read Inspect log ({first_line(ex)})", path=self.name
                ) from None
            yield number, _chat(sample)


def _chat(sample: Any) -> dict[str, Any]:
    """A sample as a chat record of its messages (the output when no reply is in them)."""
    messages = [
        {"role": m.role, "content": m.text}
        for m in sample.messages
        if m.role in ("system", "user", "assistant", "tool")
    ]
    if not any(m["role"] == "assistant" and m["content"].strip() for m in messages):
        completion = sample.output.completion if sample.output else ""
        if completion.strip():
            messages.append({"role": "assistant", "content": completion})
    return {"id": f"{sample.id}@{sample.epoch}", "messages": messages}


def open_eval_log(path: Path) -> Input:
    return Input(EvalLogRows(path), file_sha256(path), kind="eval")
