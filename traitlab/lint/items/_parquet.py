"""Parquet files, read one row group at a time."""

from __future__ import annotations

from pathlib import Path

from traitlab.errors import InputError
from traitlab.lint.items._arrow import ArrowRows
from traitlab.lint.items._inputs import file_sha256, first_line
from traitlab.lint.items._store import Input


def open_parquet(path: Path) -> Input:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(
            "reading Parquet needs pyarrow: pip install 'traitlab[train]'", path=path
        ) from None
    try:
        file = pq.ParquetFile(path)
        metadata = file.metadata
        lengths = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    except Exception as ex:  # pyarrow raises several types for a corrupt or foreign file
        raise InputError(f"cannot read Parquet ({first_line(ex)})", path=path) from None

    def load(part: int) -> object:
        try:
            return file.read_row_group(part)
        except Exception as ex:
            raise InputError(f"cannot read Parquet ({first_line(ex)})", path=path) from None

    return Input(ArrowRows(str(path), lengths, load), file_sha256(path), columnar=True)
