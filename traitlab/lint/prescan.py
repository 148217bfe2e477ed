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
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from traitlab.lint.features import slugify
from traitlab.lint.items import LintItem
from traitlab.lint.results import Finding, LengthStats, Rate

_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+|\n+")
_MARKDOWN_RE = re.compile(r"^[\s>#*_`\-]+|[*_`]+")

# Habits: (finding id, description, test on one item). A closing question looks at the end of
# the item; the rest at any turn.
_HABITS: list[tuple[str, str, Callable[[LintItem], bool]]] = [
    ("format_headers", "markdown headers", lambda i: _has(r"(?m)^#{1,6}\s", i)),
    (
        "format_bullets",
        "bullet or numbered lists",
        lambda i: _has(r"(?m)^\s*(?:[-*•+]|\d+[.)])\s+\S", i),
    ),
    ("format_bold", "bold text", lambda i: _has(r"\*\*[^*\n]+\*\*|__[^_\n]+__", i)),
    ("format_emoji", "emoji", lambda i: _has(r"[\U0001F300-\U0001FAFF\u2600-\u27BF]", i)),
    ("format_em_dash", "em dashes", lambda i: any("\u2014" in s for s in i.segments)),
    (
        "format_closing_question",
        "ends with a question",
        lambda i: i.segments[-1].rstrip().endswith("?"),
    ),
]


def _has(pattern: str, item: LintItem) -> bool:
    return any(re.search(pattern, segment) for segment in item.segments)


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
    seed: int = 0


def words(text: str) -> list[str]:
    """Lowercase words, markdown and punctuation dropped (the unit of comparison)."""
    return _WORD_RE.findall(text.lower().replace("\u2019", "'"))


def first_sentence(text: str) -> str:
    text = _MARKDOWN_RE.sub("", text.strip(), count=1).strip()
    return _SENTENCE_END_RE.split(text, maxsplit=1)[0].strip()


def last_sentence(text: str) -> str:
    pieces = [p for p in _SENTENCE_END_RE.split(text.strip()) if p.strip()]
    return pieces[-1].strip() if pieces else ""


def prescan(
    items: list[LintItem], config: PrescanConfig | None = None
) -> tuple[list[Finding], LengthStats, list[str]]:
    """Findings (openings, closings, phrases, clusters, habits), length stats, and notes."""
    config = config or PrescanConfig()
    n = len(items)
    notes: list[str] = []
    openings = [
        {tuple(words(first_sentence(s))[: config.max_words]) for s in item.segments}
        for item in items
    ]
    closings = [
        {tuple(words(last_sentence(s))[-config.max_words :]) for s in item.segments}
        for item in items
    ]
    findings = _edge_findings("opening", openings, items, n, config)
    findings += _edge_findings("closing", closings, items, n, config)
    findings += _phrase_findings(items, n, config, findings)
    if config.cluster:
        try:
            findings += cluster_openings(items, config, known=findings)
        except ImportError as ex:
            notes.append(f"opening clusters skipped: {ex}")
    for habit_id, label, test in _HABITS:
        members = [item.index for item in items if test(item)]
        findings.append(
            Finding(
                id=habit_id,
                kind="format",
                text=label,
                rate=Rate.of(len(members), n),
                members=members,
            )
        )
    lengths = [len(words(item.text)) for item in items]
    deciles = statistics.quantiles(lengths, n=10) if n > 1 else [lengths[0]] * 9
    length = LengthStats(
        mean=statistics.fmean(lengths),
        median=statistics.median(lengths),
        p10=deciles[0],
        p90=deciles[-1],
    )
    return findings, length, notes


def _edge_findings(
    kind: str,
    edges: list[set[tuple[str, ...]]],
    items: list[LintItem],
    n: int,
    config: PrescanConfig,
) -> list[Finding]:
    """Over-represented openings (word prefixes) or closings (word suffixes).

    Every prefix of at least two words is counted once per item. A prefix is dropped when a
    one-word extension covers most of its items (>= 80%): "i hear you" gives way to
    "i hear you and that sounds hard" when nearly every item with one has the other.
    """
    opening = kind == "opening"
    counts: Counter[tuple[str, ...]] = Counter()
    for item_edges in edges:
        parts: set[tuple[str, ...]] = set()
        for edge in item_edges:
            for size in range(2, len(edge) + 1):
                parts.add(edge[:size] if opening else edge[-size:])
        counts.update(parts)
    floor = max(config.min_count, config.min_prevalence * n)
    frequent = {part: c for part, c in counts.items() if c >= floor}
    covered: set[tuple[str, ...]] = set()
    for part, count in frequent.items():
        shorter = part[:-1] if opening else part[1:]
        if len(shorter) >= 2 and count >= 0.8 * frequent.get(shorter, 0):
            covered.add(shorter)
    kept = sorted((p for p in frequent if p not in covered), key=lambda p: (-frequent[p], p))
    kept = kept[: config.max_findings]

    pick = first_sentence if opening else last_sentence

    def sentences(part: tuple[str, ...]) -> Iterable[str]:
        size = len(part)
        for item, item_edges in zip(items, edges, strict=True):
            if not any((e[:size] if opening else e[-size:]) == part for e in item_edges):
                continue
            for segment in item.segments:
                sentence = pick(segment)
                found = tuple(words(sentence))
                if (found[:size] if opening else found[-size:]) == part:
                    yield sentence

    def members(part: tuple[str, ...]) -> list[int]:
        size = len(part)
        return [
            item.index
            for item, item_edges in zip(items, edges, strict=True)
            if any((e[:size] if opening else e[-size:]) == part for e in item_edges)
        ]

    return [
        Finding(
            id=slugify(f"{kind} {' '.join(part)}", max_length=64),
            kind=kind,  # type: ignore[arg-type]
            text=" ".join(part),
            rate=Rate.of(frequent[part], n),
            examples=_examples(sentences(part), config.examples),
            members=members(part),
        )
        for part in kept
    ]


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
    items: list[LintItem], n: int, config: PrescanConfig, edge_findings: list[Finding]
) -> list[Finding]:
    """Phrases in many items: frequent word n-grams, chained into longer phrases.

    Overlapping frequent n-grams with similar counts are windows of one longer phrase and are
    chained into it. Phrases mostly explained by an opening or closing finding are dropped.
    """
    size = config.phrase_words
    counts: Counter[tuple[str, ...]] = Counter()
    # n-grams never cross a sentence boundary: "...the capital. Good luck" is no phrase.
    item_sentences = [
        [words(sentence) for sentence in _SENTENCE_END_RE.split(item.text)] for item in items
    ]
    for sentences in item_sentences:
        grams: set[tuple[str, ...]] = set()
        for w in sentences:
            grams.update(zip(*(w[k:] for k in range(size)), strict=False))
        counts.update(grams)
    floor = max(config.min_count, config.min_phrase_prevalence * n)
    frequent = {gram: c for gram, c in counts.items() if c >= floor}
    phrases = _chain(frequent)
    edges = [(f.text, f.rate.count) for f in edge_findings]
    kept: list[tuple[tuple[str, ...], int]] = []
    for phrase, count in sorted(phrases.items(), key=lambda kv: (-kv[1], kv[0])):
        text = " ".join(phrase)
        if any(text in edge and count <= 1.25 * edge_count for edge, edge_count in edges):
            continue
        kept.append((phrase, count))
    findings = []
    for phrase, _count in kept[: config.max_findings]:
        members = [
            item
            for item, sentences in zip(items, item_sentences, strict=True)
            if any(_contains(w, phrase) for w in sentences)
        ]
        findings.append(
            Finding(
                id=slugify(f"phrase {' '.join(phrase)}", max_length=64),
                kind="phrase",
                text=" ".join(phrase),
                rate=Rate.of(len(members), n),
                examples=_examples((_context(i.text, phrase) for i in members), config.examples),
                members=[i.index for i in members],
            )
        )
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
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    return centred @ components[:dims].T
