"""Record types, JSONL readers and writers, bundled data, and the generation pipelines."""

from pathlib import Path

from traitlab.datasets.jsonl import (
    ReadResult,
    ResumableWriter,
    detect_kind,
    read_jsonl,
    read_records,
    write_jsonl,
)
from traitlab.datasets.records import (
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
