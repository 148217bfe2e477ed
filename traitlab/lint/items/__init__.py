"""What the lint reads: items made of the turns being linted, from every input people have.

Inputs are JSONL files (chats, documents or preference pairs), Parquet files, Hugging Face
datasets saved with ``save_to_disk``, Inspect logs (``.eval``), directories of any of these,
glob patterns, and ``-`` (standard input). Each line (row) is parsed and validated once, and
every format is read as a stream: a few thousand rows (one Inspect sample) at a time.

The *unit* is what a prevalence counts. ``reply`` (the default) makes each selected turn of a
chat its own item, so "opens with 'here are some'" is a share of replies, which is what a
researcher means by "how often does the model do this"; ``record`` makes each record one item
(its selected turns are the item's segments), so the share is of conversations. Documents and
preference pairs are one item per record either way (the text; the chosen reply). Inspect logs
are linted on every target reply in ``sample.messages``, like chats.

Each item keeps its source and line (row), so that `filter` drops exactly the records labelled.

One module per input format (`_jsonl`, `_parquet`, `_saved`, `_evallog`), one for turning rows
into items (`_records`), the item store (`_store`), and the reading itself (`_read`).
"""

from traitlab.lint.items._inputs import (
    STDIN,
    SUFFIXES,
    combined_sha256,
    expand_inputs,
    file_sha256,
    is_saved_dataset,
)
from traitlab.lint.items._read import read_items
from traitlab.lint.items._records import MAPPABLE, check_fields
from traitlab.lint.items._store import ItemSet, ItemStore, LintItem, Scan, Tally
from traitlab.lint.options import Turns, Unit

__all__ = [
    "MAPPABLE",
    "STDIN",
    "SUFFIXES",
    "ItemSet",
    "ItemStore",
    "LintItem",
    "Scan",
    "Tally",
    "Turns",
    "Unit",
    "check_fields",
    "combined_sha256",
    "expand_inputs",
    "file_sha256",
    "is_saved_dataset",
    "read_items",
]
