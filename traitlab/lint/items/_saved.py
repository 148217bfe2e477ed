"""Hugging Face datasets written by ``save_to_disk``: Arrow files, memory-mapped, one at a time."""

from __future__ import annotations

import json
from pathlib import Path

from traitlab.errors import InputError
from traitlab.lint.items._arrow import ArrowRows
from traitlab.lint.items._inputs import file_sha256, first_line
from traitlab.lint.items._store import Input


def open_saved_dataset(path: Path) -> list[Input]:
    """One input per split of a dataset dict; one for a plain dataset."""
    splits = path / "dataset_dict.json"
    if splits.is_file():
        try:
            names = json.loads(splits.read_text(encoding="utf-8"))["splits"]
        except (ValueError, KeyError, TypeError):
            raise InputError("invalid dataset_dict.json", path=splits) from None
        return [opened for name in names for opened in open_saved_dataset(path / name)]
    try:
        import pyarrow as pa
    except ImportError:
        raise InputError(
            "reading a saved dataset needs pyarrow: pip install 'traitlab[train]'", path=path
        ) from None

    def load(part: int) -> pa.Table:
        # A memory-mapped table: its pages are the file's, read as rows are asked for.
        return pa.ipc.open_stream(pa.memory_map(str(files[part]))).read_all()

    try:
        state = json.loads((path / "state.json").read_text(encoding="utf-8"))
        files = [path / entry["filename"] for entry in state["_data_files"]]
        lengths = [load(part).num_rows for part in range(len(files))]
    except Exception as ex:
        raise InputError(f"cannot read saved dataset ({first_line(ex)})", path=path) from None
    return [Input(ArrowRows(str(path), lengths, load), file_sha256(path), columnar=True)]
