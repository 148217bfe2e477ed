"""Bundled data and the generation pipelines (`synth`), which run the lint.

The record types and the JSONL readers and writers live in the core (`traitlab.records`,
`traitlab.jsonl`), below the lint; they are re-exported here.
"""

from pathlib import Path

from traitlab.jsonl import (
    ReadResult,
    ResumableWriter,
    detect_kind,
    read_jsonl,
    read_records,
    write_jsonl,
)
from traitlab.records import (
    RECORD_TYPES,
    ChatRecord,
    DocumentRecord,
    Message,
    PreferenceRecord,
    Record,
    RecordKind,
    record_kind,
)

DATA_DIR = Path(__file__).parent / "data"

__all__ = [
    "DATA_DIR",
    "RECORD_TYPES",
    "ChatRecord",
    "DocumentRecord",
    "Message",
    "PreferenceRecord",
    "ReadResult",
    "Record",
    "RecordKind",
    "ResumableWriter",
    "detect_kind",
    "read_jsonl",
    "read_records",
    "record_kind",
    "write_jsonl",
]
