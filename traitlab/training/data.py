"""Build a method's training set from JSONL files: validate, strip system prompts, mix sources.

Every input line is validated before training starts (a bad line stops the run with
`file:line: reason`). Chats and preference prompts lose their system messages: the prompts used
to *generate* synthetic data must never be trained on, or the trait would be learnt as a
response to the instruction rather than as the model's own disposition. Mixing draws a seeded
sample so that a set share of the built set comes from each source; the run card records the
counts available and used.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from traitlab.errors import InputError
from traitlab.jsonl import iter_json_lines, read_jsonl
from traitlab.records import (
    RECORD_TYPES,
    ChatRecord,
    DocumentRecord,
    Message,
    PreferenceRecord,
    RecordKind,
    record_kind,
)
from traitlab.training.config import (
    BDPOConfig,
    DPOConfig,
    MidtrainConfig,
    SFTConfig,
    TrainConfig,
)

Row = dict[str, Any]


@dataclass(frozen=True)
class SourceFile:
    """One input file as the run card records it."""

    path: str
    source: str
    sha256: str
    records: int


@dataclass
class TokenCounts:
    """What became of the data's tokens (midtraining: documents split into `max_length` chunks)."""

    total: int
    kept: int
    dropped: int
    documents_split: int
    sequences: int


@dataclass
class TrainingSet:
    """Rows in TRL's dataset format, with where each came from."""

    rows: list[Row]
    sources: list[str]
    files: list[SourceFile]
    available: dict[str, int]
    fractions: dict[str, float]
    system_prompts_stripped: int = 0
    tokens: TokenCounts | None = None

    @property
    def used(self) -> dict[str, int]:
        return {name: self.sources.count(name) for name in self.available}


def mix_counts(n_main: int, n_extra: int, extra_fraction: float) -> tuple[int, int]:
    """How many records to take from each source so that `extra_fraction` of them are extra.

    Takes as many records as the fraction allows: all of the scarcer side (relative to its
    share) and a sample of the other.
    """
    if extra_fraction <= 0 or n_extra == 0:
        return n_main, 0
    if extra_fraction >= 1 or n_main == 0:
        return 0, n_extra
    total = min(n_main / (1 - extra_fraction), n_extra / extra_fraction)
    take_main = min(n_main, round(total * (1 - extra_fraction)))
    take_extra = min(n_extra, round(total * extra_fraction))
    return take_main, take_extra


def mix(
    sources: dict[str, list[Row]], extra: str, extra_fraction: float, *, seed: int
) -> tuple[list[Row], list[str]]:
    """Seeded sample of two sources so that `extra_fraction` of the rows come from `extra`."""
    [main] = [name for name in sources if name != extra]
    take_main, take_extra = mix_counts(len(sources[main]), len(sources[extra]), extra_fraction)
    counts = {main: take_main, extra: take_extra}
    rng = random.Random(seed)
    tagged = [
        (row, name) for name, rows in sources.items() for row in rng.sample(rows, counts[name])
    ]
    rng.shuffle(tagged)
    return [row for row, _ in tagged], [name for _, name in tagged]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_training_set(config: TrainConfig) -> TrainingSet:
    """Read, validate and mix the config's data files into TRL-format rows."""
    if isinstance(config, MidtrainConfig):
        return _midtrain_set(config)
    if isinstance(config, SFTConfig):
        return _sft_set(config)
    assert isinstance(config, DPOConfig | BDPOConfig)
    return _preference_set(config)


Loader = Callable[[Path], list[tuple[int, Any]]]
Converter = Callable[..., Row]


_FIELDS: dict[RecordKind, str] = {
    "chat": "messages",
    "document": "text",
    "preference": "prompt, chosen, rejected",
}


def _records(schema: type[BaseModel]) -> Loader:
    """A loader of validated records that stops at the first bad line, and names the kind of
    record it found when a file holds another kind than the method trains on."""
    [expected] = [kind for kind, type_ in RECORD_TYPES.items() if type_ is schema]

    def load(path: Path) -> list[tuple[int, Any]]:
        for line, obj in iter_json_lines(path):
            found = record_kind(obj) if isinstance(obj, dict) else None
            if found is not None and found != expected:
                raise InputError(
                    f"a {found} record ({_FIELDS[found]}), but this mode trains on {expected} "
                    f"records ({_FIELDS[expected]})",
                    path=path,
                    line=line,
                )
        return read_jsonl(path, schema, strict=True).records

    return load


def _plain_text(path: Path) -> list[tuple[int, Any]]:
    """Pretraining text: JSONL lines with a non-empty string 'text' (other fields ignored)."""
    items: list[tuple[int, Any]] = []
    for line, obj in iter_json_lines(path):
        if isinstance(obj, InputError):
            raise obj
        text = obj.get("text") if isinstance(obj, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise InputError(
                "expected an object with a non-empty string 'text'", path=path, line=line
            )
        items.append((line, text))
    return items


class _Reader:
    """Reads the files of each source into rows, keeping the run card's file entries."""

    def __init__(self) -> None:
        self.files: list[SourceFile] = []
        self.system_prompts_stripped = 0

    def read(self, source: str, paths: list[Path], load: Loader, convert: Converter) -> list[Row]:
        rows: list[Row] = []
        for path in paths:
            converted = [convert(self, item, path=path, line=line) for line, item in load(path)]
            rows.extend(converted)
            self.files.append(SourceFile(str(path), source, sha256(path), len(converted)))
        return rows

    def strip_system(self, messages: list[Message]) -> list[dict[str, str]]:
        kept = [{"role": m.role, "content": m.content} for m in messages if m.role != "system"]
        self.system_prompts_stripped += len(messages) - len(kept)
        return kept


def _text_row(reader: _Reader, item: DocumentRecord | str, **_: Any) -> Row:
    return {"text": item if isinstance(item, str) else item.text}


def _chat_row(reader: _Reader, record: ChatRecord, *, path: Path, line: int) -> Row:
    messages = reader.strip_system(record.messages)
    if not any(m["role"] == "assistant" for m in messages):
        raise InputError("chat has no assistant message to train on", path=path, line=line)
    return {"messages": messages}


def _preference_row(reader: _Reader, record: PreferenceRecord, **_: Any) -> Row:
    return {
        "prompt": reader.strip_system(record.prompt),
        "chosen": [{"role": "assistant", "content": record.chosen}],
        "rejected": [{"role": "assistant", "content": record.rejected}],
    }


def _midtrain_set(config: MidtrainConfig) -> TrainingSet:
    reader = _Reader()
    sources = {
        "documents": reader.read(
            "documents", config.data.documents, _records(DocumentRecord), _text_row
        ),
        "pretraining": reader.read("pretraining", config.data.pretraining, _plain_text, _text_row),
    }
    fraction = config.data.pretraining_fraction
    rows, names = mix(sources, "pretraining", fraction, seed=config.training.seed)
    return TrainingSet(
        rows,
        names,
        reader.files,
        {name: len(rows) for name, rows in sources.items()},
        {"documents": 1 - fraction, "pretraining": fraction},
    )


def _sft_set(config: SFTConfig) -> TrainingSet:
    reader = _Reader()
    sources = {
        "baseline": reader.read("baseline", config.data.baseline, _records(ChatRecord), _chat_row),
        "synthetic": reader.read(
            "synthetic", config.data.synthetic, _records(ChatRecord), _chat_row
        ),
    }
    fraction = config.data.synthetic_fraction
    rows, names = mix(sources, "synthetic", fraction, seed=config.training.seed)
    return TrainingSet(
        rows,
        names,
        reader.files,
        {name: len(rows) for name, rows in sources.items()},
        {"baseline": 1 - fraction, "synthetic": fraction},
        system_prompts_stripped=reader.system_prompts_stripped,
    )


def _preference_set(config: DPOConfig | BDPOConfig) -> TrainingSet:
    reader = _Reader()
    rows = reader.read(
        "preferences", config.data.preferences, _records(PreferenceRecord), _preference_row
    )
    return TrainingSet(
        rows,
        ["preferences"] * len(rows),
        reader.files,
        {"preferences": len(rows)},
        {"preferences": 1.0},
        system_prompts_stripped=reader.system_prompts_stripped,
    )


def chunk_documents(
    rows: list[Row], tokenizer: Any, max_length: int
) -> tuple[list[Row], TokenCounts]:
    """Tokenize text rows and split each into `max_length` pieces, so no token is cut off.

    Each document ends with the EOS token (as TRL adds it to text) before it is split; the
    pieces are tokenized rows (`input_ids`), which TRL trains on as they are, packed or not.
    TRL's default would truncate everything past `max_length` (64% of the tokens of a test
    corpus at 128 tokens), without a word.
    """
    chunked: list[Row] = []
    total = split = 0
    for row in rows:
        ids = list(tokenizer(row["text"])["input_ids"])
        if tokenizer.eos_token_id is not None and (not ids or ids[-1] != tokenizer.eos_token_id):
            ids.append(tokenizer.eos_token_id)
        total += len(ids)
        split += len(ids) > max_length
        chunked.extend(
            {"input_ids": ids[start : start + max_length]}
            for start in range(0, len(ids), max_length)
        )
    kept = sum(len(row["input_ids"]) for row in chunked)
    return chunked, TokenCounts(total, kept, total - kept, split, len(chunked))
