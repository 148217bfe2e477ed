"""Statistical pre-scan: over-represented openings, closings, phrases and habits, no LLM.

It always runs, offline, and streams: items are tallied as they are read (in worker processes
for large inputs) and only what the findings need is kept, so a million records fit in a few
hundred megabytes. Openings and closings are counted as word prefixes (suffixes) of each item's
first (last) sentence, exactly, from each item's edge words kept as integer ids; phrases are
word n-grams by document frequency, their candidates found in a seeded sample of records and
then counted exactly over every item while reading; habits by regular expressions. Opening
sentences are also embedded and clustered (HDBSCAN), which catches a pattern that is paraphrased
("That sounds so hard" / "I'm sorry you're going through this") rather than copied. Every
finding carries its prevalence among items with a Wilson 95% interval and a few examples, which
are read again from the input.
"""

from __future__ import annotations

import math
import random
import re
import statistics
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from traitlab.lint.features import slugify
from traitlab.lint.items import LintItem
from traitlab.lint.results import Finding, LengthStats, Rate

_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+|\n+")
_MARKDOWN_RE = re.compile(r"^[\s>#*_`\-]+|[*_`]+")
# Tokens are lowercase words plus a boundary ("|") at each sentence end, so that phrases never
# cross a sentence; openings (closings) are the words before (after) the first (last) boundary.
_BOUNDARY_RE = re.compile(r"[.!?]+(?=\s|$)|\n+|\|")
_TOKEN_RE = re.compile(rf"{_WORD_RE.pattern}|{_BOUNDARY_RE.pattern}")
_BOUNDARY_START = frozenset(".!?\n|")
# Sentences this long are compared on their first (last) words only; slicing the text first
# keeps the cost per item independent of its length.
_EDGE_CHARS = 400
Edge = tuple[str, ...]


class _Habit(NamedTuple):
    """A formatting habit: its finding id, description and test of an item's text."""

    id: str
    label: str
    test: Callable[[str], bool]
    # A condition that every text with the habit meets, cheaper than the test and tried first.
    # It holds for texts joined together when it holds for one of them, so a chunk of items
    # where it fails is skipped whole.
    maybe: Callable[[str], bool] | None = None


def _found(pattern: str) -> Callable[[str], bool]:
    search = re.compile(pattern).search
    return lambda text: search(text) is not None


_BULLET = r"\s*(?:[-*•+]|\d+[.)])\s+\S"
_bullet_first_line = re.compile(_BULLET).match
_bullet_any_line = re.compile(rf"(?m)^{_BULLET}").search
_QUESTION_END = re.compile(r"\?\s*\Z")


def _has_bullets(text: str) -> bool:
    # Without a newline the only line start is the first character.
    search = _bullet_any_line if "\n" in text else _bullet_first_line
    return search(text) is not None


def _ends_with_question(text: str) -> bool:
    # A match is a "?" followed only by whitespace: it can only start where rstrip() stops.
    end = len(text.rstrip())
    return end > 0 and text[end - 1] == "?" and _QUESTION_END.search(text, end - 1) is not None


def _has_em_dash(text: str) -> bool:
    return "\u2014" in text


_HABITS = [
    _Habit("format_headers", "markdown headers", _found(r"(?m)^#{1,6}\s"), lambda t: "#" in t),
    _Habit("format_bullets", "bullet or numbered lists", _has_bullets),
    _Habit(
        "format_bold",
        "bold text",
        _found(r"\*\*[^*\n]+\*\*|__[^_\n]+__"),
        lambda t: "**" in t or "__" in t,
    ),
    _Habit(
        "format_emoji",
        "emoji",
        _found(r"[\U0001F300-\U0001FAFF\u2600-\u27BF]"),
        lambda t: not t.isascii(),
    ),
    _Habit("format_em_dash", "em dashes", _has_em_dash, _has_em_dash),
    _Habit(
        "format_closing_question", "ends with a question", _ends_with_question, lambda t: "?" in t
    ),
]


def _with_habit(habit: _Habit, texts: list[str], joined: str) -> list[int]:
    """The positions of the `texts` (`joined` by NUL) with the habit."""
    test, maybe = habit.test, habit.maybe
    if maybe is None:
        return [i for i, text in enumerate(texts) if test(text)]
    if not maybe(joined):
        return []
    return [i for i, text in enumerate(texts) if maybe(text) and test(text)]


@dataclass(frozen=True)
class PrescanConfig:
    """Thresholds of the pre-scan.

    Attributes:
        min_prevalence: Report openings, closings and clusters in at least this share of items.
        min_phrase_prevalence: The same for phrases, which are more often common for good
            reasons ("let me know if").
        min_count: And in at least this many items (small datasets).
        max_words: Openings/closings are compared on at most this many words.
        phrase_words: Phrases are counted as n-grams of this many words, then chained.
        max_findings: At most this many findings per kind.
        examples: Examples kept per finding.
        cluster: Embed and cluster opening sentences (needs the `embed` extra).
        cluster_sample: Cluster at most this many items (a seeded sample; the rate's n says so).
        phrase_sample: Find candidate phrases in the items of at most this many records (a
            seeded sample); their counts are then exact over every item.
        seed: Seed for samples.
    """

    min_prevalence: float = 0.05
    min_phrase_prevalence: float = 0.1
    min_count: int = 5
    max_words: int = 12
    phrase_words: int = 4
    max_findings: int = 10
    examples: int = 3
    cluster: bool = True
    cluster_sample: int = 10_000
    phrase_sample: int = 20_000
    seed: int = 0


def _lower(text: str) -> str:
    return text.lower().replace("\u2019", "'")


def words(text: str) -> list[str]:
    """Lowercase words, markdown and punctuation dropped (the unit of comparison)."""
    return _WORD_RE.findall(_lower(text))


def first_sentence(text: str) -> str:
    text = _MARKDOWN_RE.sub("", text[:_EDGE_CHARS].strip(), count=1).strip()
    return _SENTENCE_END_RE.split(text, maxsplit=1)[0].strip()


def last_sentence(text: str) -> str:
    pieces = [p for p in _SENTENCE_END_RE.split(text[-_EDGE_CHARS:].strip()) if p.strip()]
    return pieces[-1].strip() if pieces else ""


def _byte_table(stop: str, line: str, space: str, other: str) -> bytes:
    """A `bytes.translate` table for ASCII text: [a-z0-9] and "'" kept, . ! ? to `stop`, a
    newline or "|" to `line`, other whitespace to `space`, NUL (the segment separator, see
    `_ascii_tokens`) to "#", anything else to `other`."""

    def one(c: int) -> str:
        char = chr(c)
        if char.isascii() and (char.islower() or char.isdigit() or char == "'"):
            return char
        if char in ".!?":
            return stop
        if char in "\n|":
            return line
        if char == "\0":
            return "#"
        return space if char.isspace() else other

    return "".join(one(c) for c in range(256)).encode("latin-1")


# `_ascii_tokens` marks text in two steps: stops as ".", newlines as "|" (a sentence end), other
# whitespace as " " and other separators as ","; then, once the stops before whitespace or a
# segment's end are sentence ends, the remaining stops and separators as spaces.
_MARK = _byte_table(".", "|", " ", ",")
_UNMARK = bytes(32 if c in b".," else c for c in range(256))
# The tokens of marked text with an apostrophe: a run of word characters with one is split as
# `_WORD_RE` splits it ("a'b'c": "a'b", "c"); the other runs, sentence ends and separators are
# tokens as they are.
_MARKED_TOKEN = re.compile(rb"%s|[|#]" % _WORD_RE.pattern.encode())

# Token ids: a segment's end, a sentence end, then words (from 2).
_SEP, _END = 0, 1
# Segments tokenised at a time, so that a chunk's tokens are never all kept as bytes objects.
_GROUP_SEGMENTS = 4096


def _regex_tokens(lowered: str) -> list[bytes]:
    """The tokens of `_lower`ed text (any text) as `_TOKEN_RE` finds them, a sentence end as
    "|": the reference for `_ascii_tokens`, used for text that is not ASCII."""
    return [
        b"|" if token[0] in _BOUNDARY_START else token.encode()
        for token in _TOKEN_RE.findall(lowered)
    ]


def _ascii_tokens(joined: str) -> list[bytes]:
    """The tokens of ASCII `_lower`ed segments without NUL, joined by NUL, each segment's
    followed by "#" (a run of sentence ends may give several "|").

    The tokens are the runs of [a-z0-9'] and the sentence ends (a stop before whitespace or
    a segment's end, a newline, "|"); they are found for all the segments at once, joined by
    NUL, by translating bytes, many times faster than the regex. A stop inside a token
    ("3.5") becomes a space, as the regex skips it. Text with an apostrophe is then split by
    a regex over the marked bytes (`_MARKED_TOKEN`: slower than splitting at spaces, but
    faster than rewriting each run with an apostrophe first)."""
    marked = joined.encode().translate(_MARK)
    marked = marked.replace(b". ", b"| ").replace(b".#", b"|#")
    if marked.endswith(b"."):
        marked += b"|"
    marked = marked.translate(_UNMARK)
    if b"'" in marked:
        tokens = _MARKED_TOKEN.findall(marked)
    else:
        tokens = marked.replace(b"|", b" | ").replace(b"#", b" # ").split()
    tokens.append(b"#")
    return tokens


class _Numbering(dict[bytes, int]):
    """Tokens numbered in the order first looked up (a lookup numbers a new one): a segment's
    end ("#") is `_SEP`, a sentence end ("|") `_END`, words from 2."""

    def __init__(self) -> None:
        super().__init__({b"#": _SEP, b"|": _END})

    def __missing__(self, token: bytes) -> int:
        self[token] = number = len(self)
        return number


@dataclass
class _Tokens:
    """Segments' tokens as ids in one array: a `_SEP`, then each segment's tokens followed by
    a `_SEP` (at `ends`)."""

    ids: np.ndarray
    ends: np.ndarray
    numbering: _Numbering

    @property
    def starts(self) -> np.ndarray:
        """Where each segment's tokens start."""
        return np.concatenate(([0], self.ends))[:-1] + 1


def _tokenise(texts: Sequence[str]) -> _Tokens:
    """Every text's tokens (as `_TOKEN_RE` finds them in `_lower`ed text), numbered: ASCII
    texts a group at a time (`_ascii_tokens`), others through the regex."""
    numbering = _Numbering()
    number = numbering.__getitem__
    blocks = [np.zeros(1, dtype=np.int32)]
    for first in range(0, len(texts), _GROUP_SEGMENTS):
        group = texts[first : first + _GROUP_SEGMENTS]
        # Most groups are ASCII without NUL once lowered: then lowered at once.
        joined = _lower("\0".join(group))
        if joined.isascii() and joined.count("\0") == len(group) - 1:
            tokens = _ascii_tokens(joined)
        else:
            tokens = []
            run: list[str] = []
            for text in group:
                lowered = _lower(text)
                if lowered.isascii() and "\0" not in lowered:
                    run.append(lowered)
                    continue
                if run:
                    tokens += _ascii_tokens("\0".join(run))
                    run = []
                tokens += _regex_tokens(lowered)
                tokens.append(b"#")
            if run:
                tokens += _ascii_tokens("\0".join(run))
        blocks.append(np.fromiter(map(number, tokens), dtype=np.int32, count=len(tokens)))
    ids = np.concatenate(blocks)
    return _Tokens(ids, np.flatnonzero(ids == _SEP)[1:], numbering)


def _edges(tokens: _Tokens, max_words: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each segment's opening (its first run of words, at most `max_words`) and closing (its
    last run, the last `max_words`, last word first), as rows of ids (`_SEP` pads), with the
    segments that have words."""
    ids, ends, starts = tokens.ids, tokens.ends, tokens.starts
    size = len(ids)
    word = ids > _END
    # Positions of words and of the rest, each with a sentinel past the end.
    words_at = np.append(np.flatnonzero(word), size)
    others_at = np.append(np.flatnonzero(~word), size)
    first = words_at[np.searchsorted(words_at, starts)]
    has = first < ends
    first = first[has]
    stop = others_at[np.searchsorted(others_at, first)]
    columns = np.arange(max_words)
    padded = np.append(ids, np.zeros(max_words, dtype=ids.dtype))
    take = first[:, None] + columns
    openings = np.where(columns < (stop - first)[:, None], padded[take], _SEP)
    last = words_at[np.searchsorted(words_at, ends[has]) - 1]
    begin = others_at[np.searchsorted(others_at, last) - 1] + 1
    take = np.maximum(last[:, None] - columns, 0)
    closings = np.where(columns < (last - begin + 1)[:, None], ids[take], _SEP)
    return openings, closings, has


def _phrase_segments(tokens: _Tokens, phrases: Sequence[Edge]) -> list[np.ndarray]:
    """For each phrase, the segments it is in (as consecutive tokens; never across a sentence
    end, since a phrase holds none), in order, a segment once for each match. Each phrase is
    looked for where its rarest word is, then checked word by word around it."""
    longest = max((len(p) for p in phrases), default=0)
    pad = np.zeros(longest, dtype=tokens.ids.dtype)
    ids = np.concatenate((pad, tokens.ids, pad))
    frequency = np.bincount(tokens.ids, minlength=len(tokens.numbering))
    found = []
    for phrase in phrases:
        wanted = [tokens.numbering.get(word.encode()) for word in phrase]
        if None in wanted:
            found.append(np.zeros(0, dtype=np.int64))
            continue
        anchor = min(range(len(wanted)), key=lambda k: frequency[wanted[k]])
        at = np.flatnonzero(ids == wanted[anchor]) - anchor
        for offset, token in enumerate(wanted):
            if offset != anchor:
                at = at[ids[at + offset] == token]
        found.append(np.searchsorted(tokens.ends, at - longest))
    return found


class _Tally:
    """What the pre-scan keeps of one chunk of items: edge words as ids, lengths, and which
    items have each habit and each candidate phrase (positions in the chunk). Items are only
    collected as they are added; `count` tokenises them all at once (`_tokenise`) for their
    edges, lengths and phrases, in numpy. Picklable, so a worker process can send it back.

    A tally counted before the candidate phrases are known (`phrases` None: a worker reading
    while the sample is planned) keeps its token ids until `complete` gives them (the main
    process's merge, when the worker sent it back before the plan was published).
    """

    def __init__(self, max_words: int, phrases: tuple[Edge, ...] | None) -> None:
        self.max_words = max_words
        self.phrases = phrases
        self.n = 0
        self.multi = False  # an item with several segments (its edges may repeat)
        self.texts: list[str] = []  # each segment, until counted
        self.item_texts: list[str] = []  # each item's text, until counted
        self.owners = array("q")  # the item of each segment
        self.words: list[bytes] = []  # edge word id - 1 -> word
        # Each edge as max_words word ids (0 pads), and the item it belongs to.
        empty = np.zeros((0, max_words), dtype=np.uint32), np.zeros(0, dtype=np.int64)
        self.openings: tuple[np.ndarray, np.ndarray] = empty
        self.closings: tuple[np.ndarray, np.ndarray] = empty
        self.lengths = np.zeros(0, dtype=np.int64)
        self.habits = [array("q") for _ in _HABITS]
        self.phrase_members: list[np.ndarray] | None = None
        self.tokens: _Tokens | None = None  # kept while the phrases are not known
        self.counted = False

    def add(self, item: LintItem) -> None:
        position = self.n
        self.n += 1
        segments = item.segments
        if len(segments) == 1:
            self.texts.append(segments[0])
            self.item_texts.append(segments[0])
            self.owners.append(position)
        else:
            self.multi = True
            self.texts += segments
            self.item_texts.append(item.text)
            self.owners.extend([position] * len(segments))

    def count(self) -> None:
        """Tokenise the items added, for their edges, lengths and (when known) phrases."""
        if self.counted:
            return
        self.counted = True
        joined = "\0".join(self.item_texts)
        self.habits = [array("q", _with_habit(habit, self.item_texts, joined)) for habit in _HABITS]
        self.item_texts = []
        tokens = _tokenise(self.texts)
        self.texts = []
        owners = np.frombuffer(self.owners, dtype=np.int64)
        words_before = np.searchsorted(np.flatnonzero(tokens.ids > _END), tokens.ends)
        counts = np.diff(words_before, prepend=0)
        self.lengths = np.bincount(owners, weights=counts, minlength=self.n).astype(np.int64)
        openings, closings, has = _edges(tokens, self.max_words)
        present = np.zeros(len(tokens.numbering), dtype=bool)
        present[openings] = present[closings] = present[_SEP] = True
        used = np.flatnonzero(present)
        numbers = np.zeros(len(tokens.numbering), dtype=np.uint32)
        numbers[used] = np.arange(len(used), dtype=np.uint32)
        vocabulary = list(tokens.numbering)
        self.words = [vocabulary[i] for i in used[1:].tolist()]
        edge_owners = owners[has]
        # Sent back from a worker: the smallest type for the edge words and token ids.
        words = _smallest(len(used))
        self.openings = self._distinct(numbers[openings], edge_owners, words)
        self.closings = self._distinct(numbers[closings], edge_owners, words)
        self.tokens = tokens
        if self.phrases is not None:
            self.complete(self.phrases)
        else:  # kept until the phrases are known
            tokens.ids = tokens.ids.astype(_smallest(len(tokens.numbering)))

    def _distinct(
        self, rows: np.ndarray, owners: np.ndarray, dtype: type[np.unsignedinteger]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each item's distinct edges (an item with several segments may repeat one)."""
        if self.multi:
            both = np.unique(np.column_stack((owners.astype(np.uint64), rows)), axis=0)
            return both[:, 1:].astype(dtype), both[:, 0].astype(np.int64)
        return rows.astype(dtype), owners

    def complete(self, phrases: tuple[Edge, ...]) -> None:
        """Find the candidate `phrases` in the items (counted first if they are not)."""
        if self.phrase_members is not None:
            return
        self.phrases = phrases
        if not self.counted:
            self.count()
            return
        assert self.tokens is not None
        owners = np.frombuffer(self.owners, dtype=np.int64)
        # The segments of each phrase are in order, and so are their items (positions in the
        # chunk, sent back as 32-bit).
        self.phrase_members = [
            _distinct(owners[segments]).astype(np.int32)
            for segments in _phrase_segments(self.tokens, phrases)
        ]
        self.tokens, self.owners = None, array("q")


def _frequent_grams(items: list[LintItem], size: int, floor: float) -> Counter[Edge]:
    """Word n-grams of one sentence each, by the number of `items` they are in; exact for
    every n-gram in at least `floor` items (others are left out).

    Each word pair of such an n-gram is in at least as many items, so pairs are counted first
    and n-grams only where every pair is frequent. All of it runs in numpy, over the tokens of
    every segment as ids in one array, where a sentence end and the end of a segment are the
    separator (0): no pair or n-gram spans one.
    """
    texts: list[str] = []
    owners: list[int] = []  # the item of each segment
    for position, item in enumerate(items):
        texts += item.segments
        owners += [position] * len(item.segments)
    grams: Counter[Edge] = Counter()
    if not texts:
        return grams
    tokens = _tokenise(texts)
    vocabulary = list(tokens.numbering)
    # Each segment's tokens and the separator after it (a sentence end is one too).
    ids = tokens.ids[1:].astype(np.int64)
    ids[ids == _END] = _SEP
    spans = np.diff(tokens.ends, prepend=0)
    item_of = np.repeat(np.array(owners, dtype=np.int64), spans)
    # Pair j is tokens j and j + 1; one with the separator is none.
    valid = (ids[:-1] != 0) & (ids[1:] != 0)
    pair_codes = ids[:-1] * len(vocabulary) + ids[1:]
    frequent = _common(pair_codes[valid], item_of[:-1][valid], floor)[0]
    # Windows of `size` tokens whose pairs are all frequent (a run never spans a separator).
    if size == 1:
        starts = np.flatnonzero(ids != 0)
    else:
        flags = np.zeros(len(pair_codes) + 1, dtype=bool)
        flags[:-1] = valid & np.isin(pair_codes, frequent)
        run = size - 1
        sums = np.concatenate(([0], np.cumsum(flags, dtype=np.int64)))
        starts = np.flatnonzero(sums[run:] - sums[:-run] == run)
    del pair_codes, valid
    # Each window's tokens as one code (ranked whenever the next token could overflow it).
    codes = ids[starts]
    for offset in range(1, size):
        if int(codes.max(initial=0)) >= (1 << 62) // len(vocabulary):
            codes = np.unique(codes, return_inverse=True)[1].reshape(-1)
        codes = codes * len(vocabulary) + ids[starts + offset]
    kept, numbers = _common(codes, item_of[starts], floor)
    if not len(kept):
        return grams
    # Where each kept n-gram first occurs (kept is sorted), to read its words.
    slots = np.minimum(np.searchsorted(kept, codes), len(kept) - 1)
    at = np.flatnonzero(kept[slots] == codes)
    first_at = np.full(len(kept), len(codes))
    np.minimum.at(first_at, slots[at], at)
    firsts = starts[first_at]
    for count, first in zip(numbers.tolist(), firsts.tolist(), strict=True):
        grams[tuple(vocabulary[token].decode() for token in ids[first : first + size])] = count
    return grams


def _common(codes: np.ndarray, owners: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """The distinct `codes` (non-negative) held by at least `floor` distinct `owners`, sorted,
    with their numbers of owners."""
    if not len(codes):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    width = int(owners.max()) + 1
    ranked = None
    top = int(codes.max())
    if top >= (1 << 62) // width:  # too large to pair with an owner: rank first
        ranked, codes = np.unique(codes, return_inverse=True)
        top = len(ranked) - 1
    # Each (code, owner) once (sorted), then the owners of each code.
    keys = codes.reshape(-1) * width + owners
    if (top + 1) * width <= 1 << 32:
        keys = keys.astype(np.uint32)  # sorted in half the time
    keys.sort()
    keys = _distinct(keys) // width
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    numbers = np.diff(np.append(starts, len(keys)))
    chosen = numbers >= floor
    found = keys[starts[chosen]].astype(np.int64)
    return (found if ranked is None else ranked[found]), numbers[chosen]


def _smallest(count: int) -> type[np.unsignedinteger]:
    """The smallest unsigned type for `count` ids."""
    return np.uint16 if count <= 1 << 16 else np.uint32


def _distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values of a sorted array."""
    return values[np.concatenate(([True], values[1:] != values[:-1]))] if len(values) else values


class Prescan:
    """The pre-scan as a stream: planned on a sample, tallied in chunks, then finished.

    `read_items(..., scan=Prescan(config))` drives it while reading; `prescan_items()` drives it
    over items already read. Either way the findings are the same for the same sample.
    """

    def __init__(self, config: PrescanConfig | None = None) -> None:
        self.config = config or PrescanConfig()
        self.sample_records = self.config.phrase_sample
        self.seed = self.config.seed
        self._candidates: list[tuple[Edge, int]] = []
        self._sampled = 0
        self._complete = True
        self._planned = False
        self._n = 0
        self._vocabulary: dict[str, int] = {}
        self._edges: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {
            "opening": [],
            "closing": [],
        }
        self._multi = False
        self._lengths: list[np.ndarray] = []
        self._habits: list[list[np.ndarray]] = [[] for _ in _HABITS]
        self._phrase_members: list[list[np.ndarray]] = []

    def plan(self, sample: list[LintItem], complete: bool) -> tuple[Edge, ...]:
        """Candidate phrases: frequent n-grams of the sample's items, chained; `complete` when
        the sample is every item (then the reporting floor applies as is). Returns them, for
        the tallies made before (`_Tally.complete`)."""
        config = self.config
        counted = len(sample)
        if complete:
            candidate_floor = max(config.min_count, config.min_phrase_prevalence * counted)
        else:  # some slack for sampling noise; the counts reported are exact
            candidate_floor = 0.8 * config.min_phrase_prevalence * counted
        grams = _frequent_grams(sample, config.phrase_words, candidate_floor)
        frequent = {g: c for g, c in grams.items() if c >= candidate_floor}
        self._candidates = sorted(_chain(frequent).items(), key=lambda kv: (-kv[1], kv[0]))
        self._phrase_members = [[] for _ in self._candidates]
        self._sampled, self._complete, self._planned = counted, complete, True
        return self._phrases()

    def tally(self) -> _Tally:
        """A tally for one chunk; made before `plan`, it waits for the phrases."""
        return _Tally(self.config.max_words, self._phrases() if self._planned else None)

    def _phrases(self) -> tuple[Edge, ...]:
        return tuple(phrase for phrase, _ in self._candidates)

    def merge(self, tally: _Tally) -> None:
        """Add a chunk's tally (chunks in input order): ids and positions made global."""
        tally.complete(self._phrases())
        ids = np.zeros(len(tally.words) + 1, dtype=np.uint32)
        for local, word in enumerate(tally.words, start=1):
            ids[local] = self._vocabulary.setdefault(word.decode(), len(self._vocabulary) + 1)
        for kind, (local_ids, owners) in (
            ("opening", tally.openings),
            ("closing", tally.closings),
        ):
            self._edges[kind].append((ids[local_ids], owners + self._n))
        self._multi |= tally.multi
        self._lengths.append(tally.lengths)
        for kept, members in zip(self._habits, tally.habits, strict=True):
            kept.append(np.frombuffer(members, dtype=np.int64) + self._n)
        assert tally.phrase_members is not None
        for kept, members in zip(self._phrase_members, tally.phrase_members, strict=True):
            kept.append(members.astype(np.int64) + self._n)
        self._n += tally.n

    def finish(self, items: Sequence[LintItem]) -> tuple[list[Finding], LengthStats, list[str]]:
        """Findings (openings, closings, phrases, clusters, habits), length stats, and notes.

        `items` are the items tallied, in order (an item's index is its position); examples
        and clusters read their text.
        """
        config, n = self.config, self._n
        assert n == len(items), "every item is tallied once"
        notes: list[str] = []
        words_by_id = [""] * (len(self._vocabulary) + 1)
        for word, index in self._vocabulary.items():
            words_by_id[index] = word
        findings: list[Finding] = []
        for kind in ("opening", "closing"):
            parts = self._edges[kind]
            matrix = (
                np.concatenate([p[0] for p in parts])
                if parts
                else np.zeros((0, config.max_words), dtype=np.uint32)
            )
            owners = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
            findings += _edge_findings(
                kind, matrix, owners, words_by_id, items, config, self._multi
            )
        findings += self._phrase_findings(items, findings)
        if config.cluster:
            try:
                findings += cluster_openings(items, config, known=findings)
            except ImportError as ex:
                notes.append(f"opening clusters skipped: {ex}")
        for habit, members in zip(_HABITS, self._habits, strict=True):
            indices = np.concatenate(members).tolist() if members else []
            findings.append(
                Finding(
                    id=habit.id,
                    kind="format",
                    text=habit.label,
                    rate=Rate.of(len(indices), n),
                    members=indices,
                )
            )
        lengths = np.concatenate(self._lengths).tolist() if self._lengths else [0]
        deciles = statistics.quantiles(lengths, n=10) if n > 1 else [lengths[0]] * 9
        length = LengthStats(
            mean=statistics.fmean(lengths),
            median=statistics.median(lengths),
            p10=deciles[0],
            p90=deciles[-1],
        )
        return findings, length, notes

    def _phrase_findings(
        self, items: Sequence[LintItem], edge_findings: list[Finding]
    ) -> list[Finding]:
        """Candidate phrases in many items, with exact counts. Phrases mostly explained by an
        opening or closing finding are dropped (compared as shares: the candidate's count is
        the sample's)."""
        config, n = self.config, self._n
        floor = max(config.min_count, config.min_phrase_prevalence * n)
        edges = [(f.text, f.rate.count) for f in edge_findings]
        findings = []
        for (phrase, count), parts in zip(self._candidates, self._phrase_members, strict=True):
            text = " ".join(phrase)
            if any(
                text in edge and count * n <= 1.25 * edge_count * self._sampled
                for edge, edge_count in edges
            ):
                continue
            members = np.concatenate(parts).tolist() if parts else []
            if len(members) < floor:
                continue
            findings.append(
                Finding(
                    id=slugify(f"phrase {text}", max_length=64),
                    kind="phrase",
                    text=text,
                    rate=Rate.of(len(members), n),
                    examples=_examples(
                        (_context(items[i].text, phrase) for i in members[:_EXAMPLE_SCAN]),
                        config.examples,
                    ),
                    members=members,
                )
            )
            if len(findings) == config.max_findings:
                break
        return findings


def prescan_items(
    items: Sequence[LintItem], config: PrescanConfig | None = None
) -> tuple[list[Finding], LengthStats, list[str]]:
    """Findings (openings, closings, phrases, clusters, habits), length stats, and notes, of
    items already read (phrase candidates from a seeded sample of `phrase_sample` items)."""
    scan = Prescan(config)
    n, size = len(items), scan.config.phrase_sample
    if n <= size:
        scan.plan(list(items), complete=True)
    else:
        chosen = sorted(random.Random(scan.seed).sample(range(n), size))
        scan.plan([items[i] for i in chosen], complete=False)
    tally = scan.tally()
    for item in items:
        tally.add(item)
    scan.merge(tally)
    return scan.finish(items)


def _edge_findings(
    kind: str,
    matrix: np.ndarray,
    owners: np.ndarray,
    words_by_id: list[str],
    items: Sequence[LintItem],
    config: PrescanConfig,
    multi: bool,
) -> list[Finding]:
    """Over-represented openings (word prefixes) or closings (word suffixes, stored reversed).

    `matrix` holds one edge per row as word ids (0 pads), `owners` the item of each row. Every
    prefix of at least two words is counted once per item, exactly, by descending the edges'
    trie: only a prefix in enough items is extended, since an extension is never in more. A
    prefix is dropped when a one-word extension covers most of its items (>= 80%): "i hear
    you" gives way to "i hear you and that sounds hard" when nearly every item with one has the
    other.
    """
    n = len(items)
    floor = max(config.min_count, config.min_prevalence * n)
    frequent: dict[Edge, int] = {}
    ids_of: dict[Edge, tuple[int, ...]] = {}
    stack: list[tuple[np.ndarray, tuple[int, ...]]] = [(np.arange(len(matrix)), ())]
    while stack:
        rows, prefix = stack.pop()
        depth = len(prefix)
        if depth == matrix.shape[1]:
            continue
        column = matrix[rows, depth]
        # Rows and owners are in order throughout, so an owner's rows are neighbours.
        for value in np.flatnonzero(np.bincount(column) >= floor).tolist():
            if value == 0:  # a pad: the edge ended
                continue
            below = rows[column == value]
            count = len(_distinct(owners[below])) if multi else len(below)
            if count < floor:
                continue
            ids = (*prefix, value)
            if depth:
                part = tuple(words_by_id[i] for i in ids)
                frequent[part], ids_of[part] = count, ids
            stack.append((below, ids))
    covered = {
        part[:-1]
        for part, count in frequent.items()
        if len(part) > 2 and count >= 0.8 * frequent.get(part[:-1], 0)
    }
    kept = sorted((p for p in frequent if p not in covered), key=lambda p: (-frequent[p], p))
    opening = kind == "opening"
    pick = first_sentence if opening else last_sentence
    findings = []
    for part in kept[: config.max_findings]:
        ids = np.array(ids_of[part], dtype=matrix.dtype)
        members = _distinct(owners[np.all(matrix[:, : len(ids)] == ids, axis=1)]).tolist()
        shown = part if opening else part[::-1]
        findings.append(
            Finding(
                id=slugify(f"{kind} {' '.join(shown)}", max_length=64),
                kind=kind,  # type: ignore[arg-type]
                text=" ".join(shown),
                rate=Rate.of(frequent[part], n),
                examples=_examples(
                    (
                        pick(segment)
                        for i in members[:_EXAMPLE_SCAN]
                        for segment in items[i].segments
                        if _edge_matches(pick(segment), shown, opening)
                    ),
                    config.examples,
                ),
                members=members,
            )
        )
    return findings


# Examples come from the first members only: a finding is often one sentence repeated.
_EXAMPLE_SCAN = 50


def _edge_matches(sentence: str, part: Edge, opening: bool) -> bool:
    found = tuple(words(sentence))
    return (found[: len(part)] if opening else found[-len(part) :]) == part


def _examples(texts: Iterable[str], limit: int) -> list[str]:
    """The first `limit` distinct texts, shortened for the report."""
    seen: list[str] = []
    for text in texts:
        short = text if len(text) <= 200 else text[:197] + "..."
        if short not in seen:
            seen.append(short)
            if len(seen) == limit:
                break
    return seen


def _chain(frequent: dict[tuple[str, ...], int]) -> dict[tuple[str, ...], int]:
    """Join n-grams that overlap by n-1 words and have similar counts (within 20%)."""
    by_prefix: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for gram in frequent:
        by_prefix.setdefault(gram[:-1], []).append(gram)
    has_left: set[tuple[str, ...]] = set()
    successor: dict[tuple[str, ...], tuple[str, ...]] = {}
    for gram, count in frequent.items():
        nexts = [g for g in by_prefix.get(gram[1:], []) if g != gram]
        similar = [g for g in nexts if abs(frequent[g] - count) <= 0.2 * max(count, frequent[g])]
        if len(similar) == 1 and similar[0] not in has_left:
            successor[gram] = similar[0]
            has_left.add(similar[0])
    chains: dict[tuple[str, ...], int] = {}
    for gram, count in frequent.items():
        if gram in has_left:
            continue
        phrase, low, current = gram, count, gram
        seen = {gram}
        while current in successor and successor[current] not in seen:
            current = successor[current]
            seen.add(current)
            phrase += current[-1:]
            low = min(low, frequent[current])
        chains[phrase] = low
    return chains


def _contains(haystack: list[str], phrase: tuple[str, ...]) -> bool:
    size = len(phrase)
    first = phrase[0]
    return any(
        haystack[i] == first and tuple(haystack[i : i + size]) == phrase
        for i in range(len(haystack) - size + 1)
    )


def _context(text: str, phrase: tuple[str, ...]) -> str:
    """The sentence of `text` in which `phrase` occurs (for examples)."""
    for sentence in _SENTENCE_END_RE.split(text):
        if _contains(words(sentence), phrase):
            return sentence.strip()
    return " ".join(phrase)


def cluster_openings(
    items: Sequence[LintItem], config: PrescanConfig, known: Iterable[Finding] = ()
) -> list[Finding]:
    """Clusters of similar first sentences (embedded, HDBSCAN) in a seeded sample of items.

    A cluster that is almost entirely one exact opening, or one `known` opening finding, says
    nothing new and is dropped; what remains are paraphrased openings. Raises ImportError
    without the `embed` extra.
    """
    import hdbscan

    from traitlab.embeddings import embed

    sample = items
    if len(items) > config.cluster_sample:
        sample = random.Random(config.seed).sample(items, config.cluster_sample)
    texts = [first_sentence(item.segments[0]) for item in sample]
    n = len(texts)
    if n < 2 * config.min_count:
        return []
    unique = sorted(set(texts))
    index = {text: i for i, text in enumerate(unique)}
    vectors = embed(unique)
    reduced = _reduce(vectors, dims=32)[[index[t] for t in texts]]
    # A cluster below the reporting floor is never shown, so none smaller is formed.
    min_size = max(config.min_count, math.ceil(config.min_prevalence * n))
    labels = hdbscan.HDBSCAN(min_cluster_size=min_size, min_samples=config.min_count).fit_predict(
        reduced
    )
    openings = [set(f.members) for f in known if f.kind == "opening"]
    findings = []
    for label in sorted(set(labels) - {-1}):
        rows = np.flatnonzero(labels == label)
        members = [texts[i] for i in rows]
        normalised = Counter(" ".join(words(t)) for t in members)
        _, top_count = normalised.most_common(1)[0]
        indices = {sample[i].index for i in rows}
        if top_count >= 0.9 * len(members) or any(
            len(indices & opening) >= 0.9 * len(indices) for opening in openings
        ):
            continue
        centroid = vectors[[index[t] for t in set(members)]].mean(axis=0)
        nearest = sorted(set(members), key=lambda t: -float(vectors[index[t]] @ centroid))
        findings.append(
            Finding(
                id=f"cluster_{len(findings) + 1}",
                kind="cluster",
                text=f'openings like "{nearest[0]}"',
                rate=Rate.of(len(members), n),
                examples=_examples(nearest, config.examples),
                members=sorted(indices),
            )
        )
    findings.sort(key=lambda f: -f.rate.count)
    return findings[: config.max_findings]


def _reduce(vectors: np.ndarray, dims: int) -> np.ndarray:
    """PCA to `dims` dimensions: HDBSCAN's trees are much faster in few dimensions."""
    if vectors.shape[1] <= dims or len(vectors) <= dims:
        return vectors
    centred = vectors - vectors.mean(axis=0)
    # Eigenvectors of the small (d x d) covariance: cheaper than an SVD of the data.
    _, eigenvectors = np.linalg.eigh(centred.T @ centred)
    return centred @ eigenvectors[:, ::-1][:, :dims]
