"""Statistical pre-scan: over-represented openings, closings, phrases and habits, no LLM.

It always runs, offline, and is fast enough for 100k records on a laptop: openings and closings
are counted as word prefixes (suffixes) of each item's first (last) sentence, phrases as word
n-grams by document frequency, habits by regular expressions. Opening sentences are also
embedded and clustered (HDBSCAN), which catches a pattern that is paraphrased ("That sounds so
hard" / "I'm sorry you're going through this") rather than copied. Every finding carries its
prevalence among items with a Wilson 95% interval and a few examples.
"""

from __future__ import annotations

import math
import random
import re
import statistics
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from traitlab.lint.features import slugify
from traitlab.lint.items import LintItem
from traitlab.lint.results import Finding, LengthStats, Rate

_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+|\n+")
_MARKDOWN_RE = re.compile(r"^[\s>#*_`\-]+|[*_`]+")
# Tokens are lowercase words plus BOUNDARY at each sentence end, so that one regex pass per
# item gives openings, closings, phrases (which never cross a boundary) and length.
BOUNDARY = "|"
_BOUNDARY_RE = re.compile(r"[.!?]+(?=\s|$)|\n+|\|")
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|\|")
# Sentences this long are compared on their first (last) words only; slicing the text first
# keeps the cost per item independent of its length.
_EDGE_CHARS = 400

Edge = tuple[str, ...]

# Habits: (finding id, description, pattern searched in the item's text).
_HABITS: list[tuple[str, str, re.Pattern[str]]] = [
    ("format_headers", "markdown headers", re.compile(r"(?m)^#{1,6}\s")),
    ("format_bullets", "bullet or numbered lists", re.compile(r"(?m)^\s*(?:[-*•+]|\d+[.)])\s+\S")),
    ("format_bold", "bold text", re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__")),
    ("format_emoji", "emoji", re.compile(r"[\U0001F300-\U0001FAFF\u2600-\u27BF]")),
    ("format_em_dash", "em dashes", re.compile("\u2014")),
    ("format_closing_question", "ends with a question", re.compile(r"\?\s*\Z")),
]


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
        phrase_sample: Find candidate phrases in at most this many items (seeded); their counts
            are then exact over every item.
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


def words(text: str) -> list[str]:
    """Lowercase words, markdown and punctuation dropped (the unit of comparison)."""
    return _WORD_RE.findall(text.lower().replace("\u2019", "'"))


def tokens(text: str) -> list[str]:
    """`words`, with BOUNDARY at each sentence end (., !, ? before a space; a newline)."""
    return _TOKEN_RE.findall(_BOUNDARY_RE.sub(" | ", text.lower().replace("\u2019", "'")))


def first_sentence(text: str) -> str:
    text = _MARKDOWN_RE.sub("", text[:_EDGE_CHARS].strip(), count=1).strip()
    return _SENTENCE_END_RE.split(text, maxsplit=1)[0].strip()


def last_sentence(text: str) -> str:
    pieces = [p for p in _SENTENCE_END_RE.split(text[-_EDGE_CHARS:].strip()) if p.strip()]
    return pieces[-1].strip() if pieces else ""


def opening_words(toks: list[str], max_words: int) -> Edge:
    """The first sentence's first `max_words` tokens."""
    start = 0
    while start < len(toks) and toks[start] == BOUNDARY:
        start += 1
    head = toks[start : start + max_words]
    return tuple(head[: head.index(BOUNDARY)] if BOUNDARY in head else head)


def closing_words(toks: list[str], max_words: int) -> Edge:
    """The last sentence's last `max_words` tokens."""
    end = len(toks)
    while end and toks[end - 1] == BOUNDARY:
        end -= 1
    tail = toks[max(0, end - max_words) : end]
    if BOUNDARY in tail:
        tail = tail[len(tail) - tail[::-1].index(BOUNDARY) :]
    return tuple(tail)


@dataclass
class _Scan:
    """What one pass over the items collects."""

    openings: list[set[Edge]]
    closings: list[set[Edge]]
    joined: list[str]  # " tok tok | tok ... " per item, for phrase membership by substring
    grams: Counter[Edge]
    lengths: list[int]


def _tokenise(items: list[LintItem], config: PrescanConfig) -> _Scan:
    scan = _Scan([], [], [], Counter(), [])
    size, max_words = config.phrase_words, config.max_words
    counted = _sample_indices(len(items), config.phrase_sample, config.seed)
    for position, item in enumerate(items):
        per_segment = [tokens(segment) for segment in item.segments]
        scan.openings.append({e for t in per_segment if (e := opening_words(t, max_words))})
        # Closings are stored reversed, so that both kinds are compared as prefixes.
        scan.closings.append({e[::-1] for t in per_segment if (e := closing_words(t, max_words))})
        flat = (
            per_segment[0]
            if len(per_segment) == 1
            else [token for t in per_segment for token in (*t, BOUNDARY)]
        )
        scan.joined.append(f" {' '.join(flat)} ")
        # Grams across a boundary are counted here and discarded once, among the frequent.
        if counted is None or position in counted:
            scan.grams.update(set(zip(*(flat[k:] for k in range(size)), strict=False)))
        scan.lengths.append(len(flat) - flat.count(BOUNDARY))
    return scan


def prescan(
    items: list[LintItem], config: PrescanConfig | None = None
) -> tuple[list[Finding], LengthStats, list[str]]:
    """Findings (openings, closings, phrases, clusters, habits), length stats, and notes."""
    config = config or PrescanConfig()
    n = len(items)
    notes: list[str] = []
    scan = _tokenise(items, config)
    findings = _edge_findings("opening", scan.openings, items, config)
    findings += _edge_findings("closing", scan.closings, items, config)
    findings += _phrase_findings(items, scan, config, findings)
    if config.cluster:
        try:
            findings += cluster_openings(items, config, known=findings)
        except ImportError as ex:
            notes.append(f"opening clusters skipped: {ex}")
    for habit_id, label, pattern in _HABITS:
        members = [item.index for item in items if pattern.search(item.text)]
        findings.append(
            Finding(
                id=habit_id,
                kind="format",
                text=label,
                rate=Rate.of(len(members), n),
                members=members,
            )
        )
    lengths = scan.lengths
    deciles = statistics.quantiles(lengths, n=10) if n > 1 else [lengths[0]] * 9
    length = LengthStats(
        mean=statistics.fmean(lengths),
        median=statistics.median(lengths),
        p10=deciles[0],
        p90=deciles[-1],
    )
    return findings, length, notes


def _sample_indices(n: int, size: int, seed: int) -> set[int] | None:
    """A seeded sample of `size` positions out of `n`, or None when all are taken."""
    return None if n <= size else set(random.Random(seed).sample(range(n), size))


def _edge_findings(
    kind: str, edges: list[set[Edge]], items: list[LintItem], config: PrescanConfig
) -> list[Finding]:
    """Over-represented openings (word prefixes) or closings (word suffixes, stored reversed).

    Every prefix of at least two words is counted once per item. A prefix is dropped when a
    one-word extension covers most of its items (>= 80%): "i hear you" gives way to
    "i hear you and that sounds hard" when nearly every item with one has the other.
    """
    n = len(items)
    counts: Counter[Edge] = Counter()
    owners: dict[Edge, list[int]] = {}
    for item, item_edges in zip(items, edges, strict=True):
        parts: set[Edge] = set()
        for edge in item_edges:
            owners.setdefault(edge, []).append(item.index)
            parts.update(edge[:size] for size in range(2, len(edge) + 1))
        counts.update(parts)
    floor = max(config.min_count, config.min_prevalence * n)
    frequent = {part: c for part, c in counts.items() if c >= floor}
    covered = {
        part[:-1]
        for part, count in frequent.items()
        if len(part) > 2 and count >= 0.8 * frequent.get(part[:-1], 0)
    }
    kept = sorted((p for p in frequent if p not in covered), key=lambda p: (-frequent[p], p))
    # Edges sorted once: the edges starting with a prefix are one contiguous run.
    ordered = sorted(owners)
    opening = kind == "opening"
    pick = first_sentence if opening else last_sentence
    findings = []
    for part in kept[: config.max_findings]:
        run = ordered[bisect_left(ordered, part) : bisect_left(ordered, (*part, "\uffff"))]
        members = sorted({index for edge in run for index in owners[edge]})
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


def _phrase_findings(
    items: list[LintItem], scan: _Scan, config: PrescanConfig, edge_findings: list[Finding]
) -> list[Finding]:
    """Phrases in many items: frequent word n-grams, chained into longer phrases.

    Overlapping frequent n-grams with similar counts are windows of one longer phrase and are
    chained into it. Phrases mostly explained by an opening or closing finding are dropped.
    """
    n = len(items)
    floor = max(config.min_count, config.min_phrase_prevalence * n)
    # Candidates come from the counted sample, with some slack for sampling noise; the counts
    # that are reported are exact, over every item.
    counted = min(n, config.phrase_sample)
    candidate_floor = floor if counted == n else 0.8 * config.min_phrase_prevalence * counted
    frequent = {
        gram: c for gram, c in scan.grams.items() if c >= candidate_floor and BOUNDARY not in gram
    }
    edges = [(f.text, f.rate.count) for f in edge_findings]
    findings = []
    for phrase, count in sorted(_chain(frequent).items(), key=lambda kv: (-kv[1], kv[0])):
        text = " ".join(phrase)
        if any(text in edge and count <= 1.25 * edge_count for edge, edge_count in edges):
            continue
        needle = f" {text} "
        members = [i for i, joined in enumerate(scan.joined) if needle in joined]
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
                members=[items[i].index for i in members],
            )
        )
        if len(findings) == config.max_findings:
            break
    return findings


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
    items: list[LintItem], config: PrescanConfig, known: Iterable[Finding] = ()
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
