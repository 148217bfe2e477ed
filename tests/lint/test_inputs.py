"""Every input people have: several files, directories, globs, stdin, Parquet, saved HF datasets,
Inspect logs (every target reply), column mapping, a byte-order mark, raw U+2028 in a string."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from inspect_ai import Task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessageUser
from inspect_ai.solver import Generate, TaskState, solver

from tests.helpers import run_task, scripted
from traitlab.errors import InputError
from traitlab.lint import read_items


def chat(i: int, replies: int = 1) -> dict:
    messages = []
    for turn in range(replies):
        messages += [
            {"role": "user", "content": f"question {i}.{turn}"},
            {"role": "assistant", "content": f"Answer {i}.{turn}."},
        ]
    return {"id": f"c{i}", "messages": messages}


def write(path: Path, rows: list[dict], prefix: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    path.write_bytes(prefix + text.encode("utf-8"))
    return path


def test_a_byte_order_mark_does_not_drop_the_first_record(tmp_path: Path) -> None:
    path = write(tmp_path / "bom.jsonl", [chat(i) for i in range(300)], prefix=b"\xef\xbb\xbf")
    item_set = read_items(path)
    assert item_set.records == 300 and not item_set.errors


def test_a_raw_line_separator_inside_a_string_is_not_a_new_line(tmp_path: Path) -> None:
    row = chat(0)
    row["messages"][1]["content"] = "one\u2028two"
    path = write(tmp_path / "d.jsonl", [row, chat(1)])
    assert [i.line for i in read_items(path).items] == [1, 2]


def test_several_files_directories_and_globs(tmp_path: Path) -> None:
    write(tmp_path / "a.jsonl", [chat(i) for i in range(3)])
    write(tmp_path / "dir" / "b.jsonl", [chat(i) for i in range(4)])
    write(tmp_path / "dir" / "sub" / "c.jsonl", [chat(i) for i in range(5)])
    (tmp_path / "dir" / "notes.txt").write_text("not data")
    item_set = read_items([tmp_path / "a.jsonl", tmp_path / "dir"])
    assert [s.records for s in item_set.sources] == [3, 4, 5]
    assert len(item_set) == 12 and {i.source for i in item_set.items} == {0, 1, 2}
    by_glob = read_items(str(tmp_path / "**" / "*.jsonl"))
    assert by_glob.records == 12 and by_glob.sha256 == item_set.sha256
    with pytest.raises(InputError, match="matches no file"):
        read_items(str(tmp_path / "*.parquet"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no .jsonl"):
        read_items(tmp_path / "empty")


def test_standard_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = "".join(json.dumps(chat(i)) + "\n" for i in range(6)).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    item_set = read_items("-")
    assert item_set.source == "-" and item_set.records == 6


def test_parquet_with_extra_columns_and_a_column_mapping(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [
        {
            "conversations": [
                {"from": "human", "value": f"q{i}", "weight": None},
                {"from": "gpt", "value": f"Reply {i}.", "weight": 1.0},
            ],
            "category": "misc",
        }
        for i in range(5)
    ]
    path = tmp_path / "sharegpt.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    with pytest.raises(InputError, match="--field"):
        read_items(path)
    item_set = read_items(
        path, fields={"messages": "conversations", "role": "from", "content": "value"}
    )
    assert [i.text for i in item_set.items] == [f"Reply {i}." for i in range(5)]
    assert item_set.items[0].context == "q0" and item_set.items[0].line == 1


def test_parquet_is_read_one_row_group_and_batch_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows come from several row groups and batches, in order, and read again out of order."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from traitlab.lint.items import _arrow

    monkeypatch.setattr(_arrow, "BATCH", 4)
    path = tmp_path / "groups.parquet"
    pq.write_table(pa.Table.from_pylist([chat(i) for i in range(25)]), path, row_group_size=10)
    loaded: list[int] = []
    original = pq.ParquetFile.read_row_group

    def counting(self: object, part: int, *args: object, **kwargs: object) -> object:
        loaded.append(part)
        return original(self, part, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read_row_group", counting)
    item_set = read_items(path)
    assert [i.line for i in item_set.items] == list(range(1, 26))
    assert loaded[:3] == [0, 1, 2]  # one pass: each row group once, in order
    items = item_set.items
    assert [items[i].text for i in (24, 0, 13)] == ["Answer 24.0.", "Answer 0.0.", "Answer 13.0."]


def test_saved_hugging_face_datasets(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    rows = [chat(i, replies=2) | {"source": "x"} for i in range(4)]
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "one"))
    item_set = read_items(tmp_path / "one")
    assert item_set.records == 4 and len(item_set) == 8 and item_set.kind == "chat"
    split = datasets.Dataset.from_list(rows)
    datasets.DatasetDict({"train": split, "test": split}).save_to_disk(str(tmp_path / "dict"))
    both = read_items(tmp_path / "dict", unit="record")
    assert [Path(s.path).name for s in both.sources] == ["train", "test"] and len(both) == 8


@solver
def two_turns():
    async def solve(state: TaskState, generate: Generate) -> TaskState:
        state = await generate(state)
        state.messages.append(ChatMessageUser(content="And then?"))
        return await generate(state)

    return solve


def test_inspect_logs_lint_every_target_reply(tmp_path: Path) -> None:
    samples = [Sample(id=f"s{i}", input=f"question {i}") for i in range(3)]
    task = Task(dataset=MemoryDataset(samples), solver=two_turns())
    model = scripted("target", policy=lambda messages, tools, config: f"Re: {messages[-1].text}")
    log = run_task(task, model, tmp_path / "logs")
    item_set = read_items(tmp_path / "logs")  # a log directory
    assert item_set.kind == "eval" and item_set.records == 3
    assert [(i.id, i.text, i.context) for i in item_set.items[:2]] == [
        ("s0@1#0", "Re: question 0", "question 0"),
        ("s0@1#1", "Re: And then?", "And then?"),
    ]
    last = read_items(log.location, turn=-1)
    assert [i.text for i in last.items] == ["Re: And then?"] * 3
    per_record = read_items(log.location, unit="record")
    assert len(per_record) == 3 and per_record.items[0].segments == [
        "Re: question 0",
        "Re: And then?",
    ]
