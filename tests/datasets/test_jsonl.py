from __future__ import annotations

import json
from pathlib import Path

import pytest

from traitlab.datasets import (
    ChatRecord,
    DocumentRecord,
    ResumableWriter,
    detect_kind,
    read_jsonl,
    read_records,
    write_jsonl,
)
from traitlab.errors import InputError
from traitlab.jsonl import iter_json_lines

GOOD = {
    "id": "a",
    "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
}


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_bad_lines_are_reported_with_file_and_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "chats.jsonl",
        [
            json.dumps(GOOD),
            "{oops",
            json.dumps({"id": "b", "messages": []}),
            "",
            json.dumps({**GOOD, "id": "c", "extra_field": 1}),
            json.dumps({"id": "d", "messages": [{"role": "robot", "content": "x"}]}),
        ],
    )
    before = path.read_bytes()
    result = read_jsonl(path, ChatRecord)
    assert [r.id for r in result] == ["a"]
    assert result.records[0][0] == 1
    assert (
        result.errors[0]
        == f"{path}:2: invalid JSON (Expecting property name enclosed in double quotes)"
    )
    assert result.errors[1].startswith(f"{path}:3: messages:")
    assert result.errors[2] == f"{path}:5: unknown field 'extra_field'"
    assert result.errors[3].startswith(f"{path}:6: messages.0.role:")
    assert path.read_bytes() == before  # input untouched
    with pytest.raises(InputError, match=r"chats.jsonl:2: invalid JSON"):
        read_jsonl(path, ChatRecord, strict=True)


def test_detect_kind_and_mixed_files(tmp_path: Path) -> None:
    chats = _write(tmp_path / "c.jsonl", [json.dumps(GOOD)])
    assert detect_kind(chats) == "chat"
    docs = _write(tmp_path / "d.jsonl", [json.dumps({"text": "a forum post", "doc_type": "forum"})])
    assert isinstance(next(iter(read_records(docs))), DocumentRecord)
    mixed = _write(tmp_path / "m.jsonl", [json.dumps(GOOD), json.dumps({"text": "doc"})])
    with pytest.raises(InputError, match="mixed record types in one file"):
        detect_kind(mixed)
    empty = _write(tmp_path / "e.jsonl", [""])
    with pytest.raises(InputError, match="no records found"):
        detect_kind(empty)
    with pytest.raises(InputError, match="file not found"):
        detect_kind(tmp_path / "missing.jsonl")


def test_write_is_atomic(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    write_jsonl(path, [ChatRecord.model_validate(GOOD)])

    def exploding():  # noqa: ANN202
        yield ChatRecord.model_validate({**GOOD, "id": "new"})
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_jsonl(path, exploding())
    assert [r.id for r in read_jsonl(path, ChatRecord)] == ["a"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_resumable_writer_resumes_without_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "gen.jsonl"
    records = [ChatRecord.model_validate({**GOOD, "id": f"r{i}"}) for i in range(5)]
    writer = ResumableWriter(path, ChatRecord)
    for record in records[:3]:
        writer.write(record)
    writer.close()  # crash: no finish
    with writer.partial.open("a") as handle:
        handle.write('{"id": "r3", "messa')  # torn line
    assert not path.exists()

    resumed = ResumableWriter(path, ChatRecord)
    assert [resumed.done(f"r{i}") for i in range(5)] == [True, True, True, False, False]
    for record in records:
        if not resumed.done(record.id):
            resumed.write(record)
    resumed.write(records[0])  # a duplicate write is ignored
    resumed.finish()
    assert [r.id for r in read_jsonl(path, ChatRecord, strict=True)] == [f"r{i}" for i in range(5)]
    assert not resumed.partial.exists()


def test_a_byte_order_mark_is_not_part_of_the_first_record(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"id": "a", "text": "hello"}\n{"id": "b", "text": "x"}\n')
    assert [obj["id"] for _, obj in iter_json_lines(path)] == ["a", "b"]
