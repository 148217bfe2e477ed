from __future__ import annotations

import json
from pathlib import Path

import pytest
from inspect_ai import Task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.solver import generate

from tests.helpers import run_task, scripted
from traitlab.errors import InputError
from traitlab.lint import read_items

CHAT = {
    "id": "c1",
    "messages": [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "First question?"},
        {"role": "assistant", "content": "First answer."},
        {"role": "user", "content": "Second question?"},
        {"role": "assistant", "content": "Second answer."},
    ],
}


def write(path: Path, *rows: object) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


@pytest.mark.parametrize(
    ("turns", "turn", "segments"),
    [
        ("assistant", None, ["First answer.", "Second answer."]),
        ("assistant", -1, ["Second answer."]),
        ("user", 0, ["First question?"]),
        (
            "transcript",
            None,
            [
                "user: First question?\n\nassistant: First answer.\n\n"
                "user: Second question?\n\nassistant: Second answer."
            ],
        ),
    ],
)
def test_chat_turn_selection(
    tmp_path: Path, turns: str, turn: int | None, segments: list[str]
) -> None:
    path = write(tmp_path / "d.jsonl", CHAT)
    [item] = read_items(path, turns=turns, turn=turn, unit="record").items  # type: ignore[arg-type]
    assert item.segments == segments and item.id == "c1" and item.line == 1
    if turns == "assistant" and turn is None:
        assert item.context == "First question?"


def test_each_reply_is_an_item_by_default_with_the_user_turn_it_answers(tmp_path: Path) -> None:
    item_set = read_items(write(tmp_path / "d.jsonl", CHAT, CHAT))
    assert item_set.unit == "reply" and item_set.records == 2
    assert [(i.id, i.text, i.context, i.turn, i.line) for i in item_set.items] == [
        ("c1#0", "First answer.", "First question?", 0, 1),
        ("c1#1", "Second answer.", "Second question?", 1, 1),
        ("c1#0", "First answer.", "First question?", 0, 2),
        ("c1#1", "Second answer.", "Second question?", 1, 2),
    ]
    [last] = read_items(write(tmp_path / "e.jsonl", CHAT), turn=-1).items
    assert (last.id, last.text, last.turn) == ("c1", "Second answer.", 1)


def test_documents_and_missing_turns(tmp_path: Path) -> None:
    [doc] = read_items(write(tmp_path / "docs.jsonl", {"text": "A forum post."})).items
    assert doc.segments == ["A forum post."] and doc.id == "line-1"
    with pytest.raises(InputError, match="2 records lack the selected turn"):
        read_items(write(tmp_path / "c.jsonl", CHAT, CHAT), turn=5)


def test_malformed_lines_are_reported_and_skipped_or_fatal_under_strict(tmp_path: Path) -> None:
    path = write(tmp_path / "d.jsonl", CHAT, "{broken", {"messages": []}, CHAT)
    item_set = read_items(path)
    assert len(item_set) == 4 and item_set.records == 2  # two replies per record
    assert item_set.errors[0].startswith(f"{path}:2: invalid JSON")
    assert item_set.errors[1].startswith(f"{path}:3: messages")
    with pytest.raises(InputError, match=":2: invalid JSON"):
        read_items(path, strict=True)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "no records found"),
        (["{broken"], "no records found"),
        ([CHAT, {"text": "a document"}], "mixed record types"),
        (
            [{"mesages": [], "messages": [{"role": "user", "content": "x"}]}],
            ":1: unknown field 'mesages'",
        ),
    ],
)
def test_bad_input_gets_one_line_errors(tmp_path: Path, rows: list[object], message: str) -> None:
    path = write(tmp_path / "d.jsonl", *rows)
    with pytest.raises(InputError, match=message) as error:
        read_items(path)
    assert "\n" not in str(error.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_items(tmp_path / "nope.jsonl")


def test_preference_records_lint_the_chosen_reply(tmp_path: Path) -> None:
    row = {"prompt": [{"role": "user", "content": "Q?"}], "chosen": "Yes.", "rejected": "No."}
    [item] = read_items(write(tmp_path / "p.jsonl", row)).items
    assert item.segments == ["Yes."] and item.context == "Q?"


def test_inspect_logs_lint_the_target_outputs(tmp_path: Path) -> None:
    samples = [Sample(id=f"s{i}", input=f"question {i}") for i in range(3)]
    task = Task(dataset=MemoryDataset(samples), solver=generate())
    model = scripted(
        "target", policy=lambda messages, tools, config: f"Reply to {messages[-1].text}"
    )
    log = run_task(task, model, tmp_path)
    item_set = read_items(log.location)
    assert item_set.kind == "eval"
    assert [(i.id, i.text, i.context) for i in item_set.items] == [
        (f"s{i}@1", f"Reply to question {i}", f"question {i}") for i in range(3)
    ]


def test_a_file_that_is_not_an_inspect_log(tmp_path: Path) -> None:
    bad = tmp_path / "broken.eval"
    bad.write_text("not a zip")
    with pytest.raises(InputError, match="cannot read Inspect log"):
        read_items(bad)


def _rows(n: int) -> list[object]:
    rows: list[object] = []
    for i in range(n):
        rows.append({**CHAT, "id": f"c{i}"})
        if i % 25 == 7:
            rows.append("{broken")
    return rows


def test_items_read_their_text_again_from_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "d.jsonl", *[{**CHAT, "id": f"c{i}"} for i in range(5)])
    item_set = read_items(path)
    item = item_set.items[7]
    assert (item.id, item.line, item.turn) == ("c3#1", 4, 1)
    assert (item.text, item.context) == ("Second answer.", "Second question?")
    assert [i.index for i in item_set.items[-2:]] == [8, 9]


@pytest.mark.parametrize("unit", ["reply", "record"])
def test_reading_in_parallel_chunks_gives_the_same_items_and_errors(
    tmp_path: Path, unit: str
) -> None:
    path = write(tmp_path / "d.jsonl", *_rows(300))
    one = read_items(path, unit=unit)  # type: ignore[arg-type]
    many = read_items(path, unit=unit, workers=2, chunk_bytes=2048)  # type: ignore[arg-type]
    assert [(i.id, i.line, i.turn, i.segments, i.context) for i in many.items] == [
        (i.id, i.line, i.turn, i.segments, i.context) for i in one.items
    ]
    assert many.errors == one.errors and len(many.errors) == 12
    assert many.sources == one.sources and many.sources[0].bad_lines[0] == 9


def test_the_first_fatal_line_stops_a_parallel_read(tmp_path: Path) -> None:
    rows = _rows(300)
    rows[250] = {"messages": [{"role": "user", "content": "x"}], "mesages": []}
    rows[280] = {"text": "a document"}
    path = write(tmp_path / "d.jsonl", *rows)
    with pytest.raises(InputError, match=":251: unknown field 'mesages'"):
        read_items(path, workers=2, chunk_bytes=2048)
    with pytest.raises(InputError, match=":9: invalid JSON"):
        read_items(path, workers=2, chunk_bytes=2048, strict=True)
