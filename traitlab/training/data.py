"""Build a method's training set from JSONL files: validate, strip system prompts, mix sources.

Every input line is validated before training starts (a bad line stops the run with
`file:line: reason`). Chats and preference prompts lose their system messages: the prompts used
to *generate* synthetic data must never be trained on, or the trait would be learnt as a
response to the instruction rather than as the model's own disposition. Mixing draws a seeded
sample so that a set share of the built set comes from each source; the run card records the
counts available and used. Preference pairs whose two replies say the same thing are dropped
and counted.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, computed_field

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
from traitlab.text import alike
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
    used_tokens: dict[str, int] | None = None
    """Midtraining: tokens used per source (the pretraining share is a share of these)."""
    alike_pairs_dropped: int = 0
    """Preference pairs whose rejected reply says what the chosen one says (`alike`)."""

    @property
    def used(self) -> dict[str, int]:
        return {name: self.sources.count(name) for name in self.available}


def mix_sizes(main: list[int], extra: list[int], extra_fraction: float) -> tuple[int, int]:
    """How many rows to take from the front of each source so that `extra_fraction` of the
    total size (records, or tokens) is extra.

    Takes as much as the fraction allows: all of the scarcer side (relative to its share) and
    the prefix of the other whose size comes closest to its share.
    """
    size_main, size_extra = sum(main), sum(extra)
    if extra_fraction <= 0 or size_extra == 0:
        return len(main), 0
    if extra_fraction >= 1 or size_main == 0:
        return 0, len(extra)
    if size_main / (1 - extra_fraction) <= size_extra / extra_fraction:
        return len(main), _prefix(extra, size_main * extra_fraction / (1 - extra_fraction))
    return _prefix(main, size_extra * (1 - extra_fraction) / extra_fraction), len(extra)


def _prefix(sizes: list[int], target: float) -> int:
    """The number of leading `sizes` whose sum is closest to `target`."""
    best, best_total, total = 0, 0, 0
    for count, size in enumerate(sizes, start=1):
        total += size
        if abs(total - target) < abs(best_total - target):
            best, best_total = count, total
        if total >= target:
            break
    return best


def mix_counts(n_main: int, n_extra: int, extra_fraction: float) -> tuple[int, int]:
    """How many records to take from each source so that `extra_fraction` of them are extra."""
    return mix_sizes([1] * n_main, [1] * n_extra, extra_fraction)


def mix(
    sources: dict[str, list[Row]],
    extra: str,
    extra_fraction: float,
    *,
    seed: int,
    size: Callable[[Row], int] | None = None,
) -> tuple[list[Row], list[str]]:
    """Seeded sample of two sources so that `extra_fraction` of the rows come from `extra`, or of
    their `size` (tokens, say) where given."""
    [main] = [name for name in sources if name != extra]
    rng = random.Random(seed)
    shuffled = {name: rng.sample(rows, len(rows)) for name, rows in sources.items()}
    measure = size or (lambda _: 1)
    take_main, take_extra = mix_sizes(
        [measure(row) for row in shuffled[main]],
        [measure(row) for row in shuffled[extra]],
        extra_fraction,
    )
    counts = {main: take_main, extra: take_extra}
    tagged = [(row, name) for name, rows in shuffled.items() for row in rows[: counts[name]]]
    rng.shuffle(tagged)
    return [row for row, _ in tagged], [name for _, name in tagged]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_training_set(config: TrainConfig, tokenizer: Any = None) -> TrainingSet:
    """Read, validate and mix the config's data files into TRL-format rows.

    Midtraining's pretraining share is a share of tokens (documents and web pages differ in
    length far too much for a share of records to mean anything): counted with `tokenizer`, or
    as words when there is none (to check data without a model).
    """
    if isinstance(config, MidtrainConfig):
        return _midtrain_set(config, tokenizer)
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


def _midtrain_set(config: MidtrainConfig, tokenizer: Any = None) -> TrainingSet:
    def size(row: Row) -> int:
        if tokenizer is None:
            return len(row["text"].split())
        return len(tokenizer(row["text"])["input_ids"]) + 1  # the EOS `chunk_documents` adds

    reader = _Reader()
    sources = {
        "documents": reader.read(
            "documents", config.data.documents, _records(DocumentRecord), _text_row
        ),
        "pretraining": reader.read("pretraining", config.data.pretraining, _plain_text, _text_row),
    }
    fraction = config.data.pretraining_fraction
    rows, names = mix(sources, "pretraining", fraction, seed=config.training.seed, size=size)
    tokens = dict.fromkeys(sources, 0)
    for row, name in zip(rows, names, strict=True):
        tokens[name] += size(row)
    return TrainingSet(
        rows,
        names,
        reader.files,
        {name: len(rows) for name, rows in sources.items()},
        {"documents": 1 - fraction, "pretraining": fraction},
        used_tokens=tokens,
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
    """The pairs, less those whose replies say the same thing: trained on, such a pair pushes
    the rejected text up as hard as the chosen (BDPO raised one's log-probability by 10 nats)."""
    reader = _Reader()
    read = reader.read(
        "preferences", config.data.preferences, _records(PreferenceRecord), _preference_row
    )
    rows = [
        row for row in read if not alike(row["chosen"][0]["content"], row["rejected"][0]["content"])
    ]
    if read and not rows:
        raise InputError(
            f"every one of the {len(read)} preference pairs has a rejected reply that says what "
            "its chosen reply says: nothing to learn from"
        )
    return TrainingSet(
        rows,
        ["preferences"] * len(rows),
        reader.files,
        {"preferences": len(read)},
        {"preferences": 1.0},
        system_prompts_stripped=reader.system_prompts_stripped,
        alike_pairs_dropped=len(read) - len(rows),
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


# Above this share of trained tokens cut by `max_length` (or any example cut to nothing), a run
# warns: a few long replies losing their ends is normal, a tenth of the signal is not.
TRUNCATION_WARNING = 0.05


class TruncationCounts(BaseModel):
    """What `max_length` cuts from the tokens a chat or preference run trains on (assistant
    replies; chosen and rejected replies), and the examples it leaves with none (TRL drops them)."""

    max_length: int
    examples: int
    examples_truncated: int = Field(description="Examples longer than max_length.")
    examples_dropped: int = Field(description="Examples left with no trained token (dropped).")
    trained_tokens: int = Field(description="Tokens that carry loss, before truncation.")
    trained_tokens_kept: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cut_share(self) -> float:
        """Share of the trained tokens that truncation cuts."""
        if not self.trained_tokens:
            return 0.0
        return round(1 - self.trained_tokens_kept / self.trained_tokens, 4)

    def warning(self) -> str | None:
        """A line for the user when more than `TRUNCATION_WARNING` of the trained tokens, or
        any whole example, is lost to `max_length`; else None."""
        if self.cut_share <= TRUNCATION_WARNING and not self.examples_dropped:
            return None
        return (
            f"max_length {self.max_length} cuts {self.cut_share:.0%} of the trained tokens "
            f"({self.trained_tokens - self.trained_tokens_kept:,} of {self.trained_tokens:,}) "
            f"and drops {self.examples_dropped} of {self.examples} examples entirely; raise "
            "training.max_length or shorten the data"
        )


def count_truncation(
    rows: list[Row], tokenizer: Any, max_length: int, *, mode: str = "keep_start"
) -> TruncationCounts:
    """Tokenize chat rows (`messages`) or preference rows (`prompt`, `chosen`, `rejected`) as
    TRL does and count what `max_length` keeps of the tokens that carry loss.

    For chats, the trained tokens are the assistant's (`{% generation %}` masks; a stock template
    without them is swapped for TRL's training version, as SFTTrainer does); for pairs, the
    chosen and rejected replies after their shared prompt. `mode` is TRL's `truncation_mode`.
    """
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    template = None
    if rows and "messages" in rows[0] and not has_generation_markers(tokenizer.chat_template):
        template = get_training_chat_template(tokenizer)

    def kept(mask: list[int]) -> int:
        return sum(mask[:max_length] if mode == "keep_start" else mask[-max_length:])

    def chat(messages: list[dict[str, str]], **kwargs: Any) -> list[int]:
        ids = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True, **kwargs)
        return list(ids["input_ids"])

    examples = truncated = dropped = trained = trained_kept = 0
    for row in rows:
        if "messages" in row:
            out = tokenizer.apply_chat_template(
                row["messages"],
                tokenize=True,
                return_dict=True,
                return_assistant_tokens_mask=True,
                chat_template=template,
            )
            masks = [list(out["assistant_masks"])]
        else:
            prompt = chat(row["prompt"], add_generation_prompt=True)
            full = [chat(row["prompt"] + row[side]) for side in ("chosen", "rejected")]
            start = min(_common_prefix(prompt, ids) for ids in full)
            masks = [[0] * start + [1] * (len(ids) - start) for ids in full]
        examples += 1
        truncated += any(len(mask) > max_length for mask in masks)
        total, left = sum(sum(m) for m in masks), sum(kept(m) for m in masks)
        trained += total
        trained_kept += left
        dropped += bool(total) and not left
    return TruncationCounts(
        max_length=max_length,
        examples=examples,
        examples_truncated=truncated,
        examples_dropped=dropped,
        trained_tokens=trained,
        trained_tokens_kept=trained_kept,
    )


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
