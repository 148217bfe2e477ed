"""Discover features: scan batches of items, group what the scans report, merge each group.

1. *Scan.* Items are shuffled (seeded) and packed into batches up to a token budget; an LLM
   lists the recurring structural, rhetorical or behavioural patterns in each batch, with
   evidence quotes. A pattern one sees only across many examples at once is the point: one
   example at a time, "opens by validating the user's feelings" looks fine.
2. *Group.* Reports worded almost alike are clustered by embedding (average-linkage on cosine
   distance). That cannot finish the job: two paraphrases of one pattern ("opens with a
   question", "Socratic hook") lie further apart in sentence-embedding space than different
   patterns often do, so no distance cut separates them. So every candidate is rated on the
   same seeded sample of items, and candidates whose labels agree far beyond chance (Cohen's
   kappa) are one pattern: that is evidence about what they pick out, not how they are worded.
   A pattern reported by fewer than `min_scans` batches, under any of its names, is dropped.
3. *Merge.* Each pattern's reports are merged by the LLM into one feature with a broad and a
   strict detection rubric, ready for autorating.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from itertools import zip_longest
from typing import NamedTuple

from inspect_ai.model import Model
from pydantic import BaseModel, Field

from traitlab.judging import JudgeResult, ask_judge
from traitlab.lint.autorate import RATING_PROMPT, Ratings, present, rate_item, sample_items
from traitlab.lint.features import Feature, FeatureSet, Provenance, rubric_feature, slugify
from traitlab.lint.items import LintItem
from traitlab.llm import UsageMeter, map_concurrently
from traitlab.models import estimate_tokens
from traitlab.prompts import PromptOverride, load_prompt, resolve_prompt

SCAN_PROMPT = load_prompt(__file__, "scan")
MERGE_PROMPT = load_prompt(__file__, "merge")


class ScannedPattern(BaseModel):
    name: str = Field(description="A short name for the pattern.")
    description: str = Field(description="One sentence: what recurs.")
    evidence: list[str] = Field(default_factory=list, description="Short verbatim quotes.")


class ScanReply(BaseModel):
    patterns: list[ScannedPattern] = Field(description="The recurring patterns found.")


class MergedFeature(BaseModel):
    name: str = Field(description="A short name for the feature.")
    description: str = Field(description="One sentence describing the pattern.")
    broad: str = Field(description="When the pattern is loosely or partly present.")
    strict: str = Field(description="When the pattern is unambiguously present.")


@dataclass(frozen=True)
class DiscoverConfig:
    """Settings of the scan, group and merge stages.

    Attributes:
        batch_tokens: Token budget of one scan batch (about 4 characters a token).
        max_batches: At most this many scan calls.
        max_item_chars: Longer items are truncated for the scan (noted in the report).
        min_scans: Keep a pattern reported by at least this many batches (under any name).
        max_features: Keep at most this many features (the most often reported).
        distance: Cosine distance under which reports are worded alike enough to be one
            candidate without rating them.
        max_candidates: Rate at most this many candidates (the most often reported) to tell
            which are one pattern.
        agreement_sample: Items each candidate is rated on to tell paraphrases apart from
            different patterns (one call per item, all candidates at once).
        same_pattern: Candidates whose labels on those items agree at least this far beyond
            chance (Cohen's kappa, average over the members of two groups) are one pattern.
            Two paraphrases rated with 10% independent label noise score about 0.5-0.6 at 15-30%
            prevalence; unrelated patterns score about 0.
        seed: Seed of the batch shuffle and of the agreement sample.
    """

    batch_tokens: int = 6000
    max_batches: int = 20
    max_item_chars: int = 2000
    min_scans: int = 2
    max_features: int = 12
    distance: float = 0.35
    max_candidates: int = 36
    agreement_sample: int = 100
    same_pattern: float = 0.3
    seed: int = 0


@dataclass
class Batch:
    items: list[LintItem]
    truncated: int

    def render(self, max_chars: int) -> str:
        return "\n\n".join(
            f'<item n="{n}">\n{item.text[:max_chars]}\n</item>'
            for n, item in enumerate(self.items, start=1)
        )


def make_batches(items: list[LintItem], config: DiscoverConfig) -> list[Batch]:
    """Seeded shuffle of `items` packed into batches of at most `batch_tokens` tokens."""
    order = list(items)
    random.Random(config.seed).shuffle(order)
    batches: list[Batch] = []
    current: list[LintItem] = []
    tokens = truncated = 0
    for item in order:
        text = item.text
        cost = estimate_tokens(text[: config.max_item_chars]) + 8
        if current and tokens + cost > config.batch_tokens:
            batches.append(Batch(current, truncated))
            if len(batches) == config.max_batches:
                return batches
            current, tokens, truncated = [], 0, 0
        current.append(item)
        tokens += cost
        truncated += len(text) > config.max_item_chars
    if current:
        batches.append(Batch(current, truncated))
    return batches


async def discover_features(
    model: Model,
    items: list[LintItem],
    *,
    config: DiscoverConfig | None = None,
    meter: UsageMeter | None = None,
    cache: bool = True,
    concurrency: int = 16,
    show_progress: bool = True,
    source: str | None = None,
    scan_prompt: PromptOverride = None,
    merge_prompt: PromptOverride = None,
    rating_prompt: PromptOverride = None,
) -> tuple[FeatureSet, list[str]]:
    """Scan, group and merge: the features of `items`, and notes for the report.

    The prompt overrides (text or a path) replace `prompts/scan.md`, `prompts/merge.md` and,
    for rating the candidates, the autorate's `prompts/rating.md`.
    """
    config = config or DiscoverConfig()
    scan_template = resolve_prompt(scan_prompt, SCAN_PROMPT)
    merge_template = resolve_prompt(merge_prompt, MERGE_PROMPT)
    rating_template = resolve_prompt(rating_prompt, RATING_PROMPT)
    notes: list[str] = []
    batches = make_batches(items, config)
    scanned = sum(len(b.items) for b in batches)
    notes.append(
        f"the scan read {scanned:,} of {len(items):,} items ({scanned / max(1, len(items)):.0%}) "
        f"in {len(batches)} batches"
        + (" (raise --max-batches to read more)" if scanned < len(items) else "")
    )
    truncated = sum(b.truncated for b in batches)
    if truncated:
        notes.append(
            f"{truncated} items longer than {config.max_item_chars} characters were truncated "
            "for the scan"
        )

    async def scan(batch: Batch) -> list[ScannedPattern]:
        prompt = scan_template.render(
            count=len(batch.items),
            min_items=max(2, len(batch.items) // 10),
            items=batch.render(config.max_item_chars),
        )
        result = await ask_judge(model, prompt, ScanReply, cache=cache, meter=meter, stage="scan")
        if result.verdict is None:
            notes.append(f"a scan batch gave no usable reply: {result.error}")
            return []
        return result.verdict.patterns

    scans = await map_concurrently(
        batches, scan, concurrency=concurrency, description="scan", show_progress=show_progress
    )
    reported = [(b, p) for b, patterns in enumerate(scans) for p in patterns]

    def scans_of(group: list[int]) -> int:
        return len({reported[i][0] for i in group})

    min_scans = min(config.min_scans, len(batches))
    if min_scans < config.min_scans:
        notes.append(
            f"only {len(batches)} scan batches: patterns seen in {min_scans} of them were kept"
        )
    candidates = cluster_patterns([p for _, p in reported], config.distance)
    candidates.sort(key=lambda g: (-scans_of(g), g[0]))
    if len(candidates) > config.max_candidates:
        notes.append(
            f"{len(candidates) - config.max_candidates} patterns reported least often were "
            f"not considered (--max-candidates {config.max_candidates})"
        )
        candidates = candidates[: config.max_candidates]
    evidence = [
        [(batches[reported[i][0]], reported[i][1].evidence) for i in group] for group in candidates
    ]
    ratings = await rate_candidates(
        agreement_items(items, evidence, config),
        [_candidate_feature(n, [reported[i][1] for i in g]) for n, g in enumerate(candidates)],
        rate=lambda item, features: rate_item(
            model,
            item.text[: config.max_item_chars],
            features,
            context=item.context,
            cache=cache,
            meter=meter,
            stage="group",
            prompt=rating_template,
        ),
        concurrency=concurrency,
        show_progress=show_progress,
    )
    merged = group_by_agreement(ratings, len(candidates), config.same_pattern)
    groups = [
        group
        for group in ([i for c in members for i in candidates[c]] for members in merged)
        if scans_of(group) >= min_scans
    ]
    groups.sort(key=lambda g: (-scans_of(g), g[0]))
    if len(candidates) > 1:
        notes.append(
            f"{len(reported)} reported patterns, {len(candidates)} distinct wordings: their "
            f"labels on {len(ratings)} rated items make {len(merged)} patterns, {len(groups)} "
            f"of them reported by at least {min_scans} batches"
        )
    dropped = len(groups) - config.max_features
    if dropped > 0:
        notes.append(f"{dropped} recurring patterns beyond the first {config.max_features} dropped")
    groups = groups[: config.max_features]

    async def merge(group: list[int]) -> Feature | None:
        patterns = [reported[i][1] for i in group]
        names = list(dict.fromkeys(p.name for p in patterns))
        result = await ask_judge(
            model,
            merge_template.render(patterns=_listing(patterns)),
            MergedFeature,
            cache=cache,
            meter=meter,
            stage="merge",
        )
        if result.verdict is None:
            notes.append(f"a merge gave no usable reply: {result.error}")
            return None
        merged = result.verdict
        return Feature(
            id=slugify(merged.name),
            name=merged.name,
            description=merged.description,
            broad=merged.broad,
            strict=merged.strict,
            examples=[q for p in patterns for q in p.evidence][:3],
            provenance=Provenance(
                source=source,
                model=str(model),
                scans=scans_of(group),
                stage="lint",
                reported_as=names,
            ),
        )

    features = await map_concurrently(
        groups, merge, concurrency=concurrency, description="merge", show_progress=show_progress
    )
    return Discovery(
        FeatureSet(source=source, features=_unique_ids([f for f in features if f])),
        notes,
        detection_floor([len(b.items) for b in batches], min_scans),
    )


class Discovery(NamedTuple):
    """What discovery found, its notes, and the prevalence below which it likely missed one."""

    features: FeatureSet
    notes: list[str]
    detection_floor: float


def detection_floor(batch_sizes: list[int], min_scans: int, confidence: float = 0.9) -> float:
    """The lowest prevalence a pattern needs to be found with probability `confidence`.

    A batch of b items reports a pattern when at least ``max(2, b // 10)`` of them carry it (the
    scan prompt's own rule), and a pattern is kept when at least `min_scans` batches report it.
    This assumes a scanner that never misses what its batch shows, so the real floor is higher;
    more batches (``--max-batches``, one call each) lower it. 1.0 when nothing was scanned.
    """
    sizes = [b for b in batch_sizes if b > 0]
    if len(sizes) < max(1, min_scans):
        return 1.0

    def found(p: float) -> float:
        # Probability that at least `min_scans` batches report it (a Poisson-binomial tail).
        counts = [1.0]
        for size in sizes:
            need = max(2, size // 10)
            q = 1.0 - sum(math.comb(size, k) * p**k * (1 - p) ** (size - k) for k in range(need))
            counts = [
                (counts[k] if k < len(counts) else 0.0) * (1 - q)
                + (counts[k - 1] * q if k >= 1 else 0.0)
                for k in range(len(counts) + 1)
            ]
        return sum(counts[min_scans:])

    low, high = 0.0, 1.0
    for _ in range(30):
        middle = (low + high) / 2
        low, high = (middle, high) if found(middle) < confidence else (low, middle)
    return high


def _listing(patterns: list[ScannedPattern], limit: int = 12) -> str:
    """The reports of one pattern for the merge prompt: each wording once, two quotes each."""
    distinct = list({p.name.lower(): p for p in patterns}.values())[:limit]
    return "\n".join(
        f"- {p.name}: {p.description}" + "".join(f'\n  quote: "{q}"' for q in p.evidence[:2])
        for p in distinct
    )


def _candidate_feature(number: int, patterns: list[ScannedPattern]) -> Feature:
    """A candidate to rate: the most common wording of reports clustered by embedding."""
    name = Counter(p.name for p in patterns).most_common(1)[0][0]
    first = next(p for p in patterns if p.name == name)
    return rubric_feature(first.description or name, name=name, id=f"c{number}")


RateFn = Callable[[LintItem, list[Feature]], Awaitable[JudgeResult[Ratings]]]


def agreement_items(
    items: list[LintItem],
    evidence: list[list[tuple[Batch, list[str]]]],
    config: DiscoverConfig,
) -> list[LintItem]:
    """The items every candidate is rated on: up to half of them quoted as evidence, the rest
    a seeded random sample.

    `evidence` holds, per candidate, the batch and quotes of each of its reports. Items a scan
    quoted carry the patterns that scan reported, so they raise the prevalence of each pattern in
    the sample, and labels that agree by more than chance are evidence of one pattern, not of
    two rare ones that are both mostly absent. A quote is looked up in its own batch only.
    """
    limit = config.agreement_sample // 2
    quoted: dict[int, LintItem] = {}
    for reports in zip_longest(*evidence):  # one report of each candidate in turn
        for report in reports:
            if report is None or len(quoted) >= limit:
                continue
            batch, quotes = report
            for quote in (" ".join(q.lower().split()) for q in quotes):
                for item in batch.items:
                    if len(quote) >= 8 and quote in " ".join(item.text.lower().split()):
                        quoted.setdefault(item.index, item)
                        break
    quoted = dict(list(quoted.items())[:limit])
    rest = [item for item in items if item.index not in quoted]
    return list(quoted.values()) + sample_items(
        rest, config.agreement_sample - len(quoted), config.seed
    )


async def rate_candidates(
    items: list[LintItem],
    candidates: list[Feature],
    *,
    rate: RateFn,
    concurrency: int,
    show_progress: bool = False,
) -> list[list[bool]]:
    """Each candidate's labels (present at the broad level) on `items`.

    One call per item rates every candidate; an item the judge could not rate is left out.
    Returns one row per rated item, one column per candidate; nothing to rate with fewer than
    two candidates.
    """
    if len(candidates) < 2:
        return []
    replies = await map_concurrently(
        items,
        lambda item: rate(item, candidates),
        concurrency=concurrency,
        description="group",
        show_progress=show_progress,
    )
    return [
        [present(reply.verdict.ratings[c.id], "broad") for c in candidates]
        for reply in replies
        if reply.verdict is not None
    ]


def kappa(a: list[bool], b: list[bool]) -> float:
    """Cohen's kappa of two labelings of the same items: agreement beyond chance, 1 = same.

    0 when either labeling is constant (no evidence either way).
    """
    n = len(a)
    if n == 0:
        return 0.0
    qa, qb = sum(a) / n, sum(b) / n
    chance = qa * qb + (1 - qa) * (1 - qb)
    if chance >= 1:
        return 0.0
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    return (observed - chance) / (1 - chance)


def group_by_agreement(
    ratings: list[list[bool]], count: int, same_pattern: float
) -> list[list[int]]:
    """Groups of candidate indices that are one pattern by their labels (average linkage on
    1 - kappa, cut at 1 - `same_pattern`); each candidate alone when there are no ratings."""
    if count < 2 or not ratings:
        return [[i] for i in range(count)]
    import numpy as np
    from sklearn.cluster import AgglomerativeClustering

    columns = [[row[i] for row in ratings] for i in range(count)]
    distances = np.array([[1 - kappa(a, b) for b in columns] for a in columns])
    np.fill_diagonal(distances, 0.0)
    labels = AgglomerativeClustering(
        n_clusters=None,
        distance_threshold=1 - same_pattern,
        metric="precomputed",
        linkage="average",
    ).fit_predict(distances)
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(int(label), []).append(index)
    return sorted(groups.values())


def cluster_patterns(patterns: list[ScannedPattern], distance: float) -> list[list[int]]:
    """Groups of indices of patterns that describe the same thing (by embedding)."""
    if len(patterns) < 2:
        return [[i] for i in range(len(patterns))]
    from sklearn.cluster import AgglomerativeClustering

    from traitlab.embeddings import embed

    vectors = embed([f"{p.name}: {p.description}" for p in patterns])
    labels = AgglomerativeClustering(
        n_clusters=None, distance_threshold=distance, metric="cosine", linkage="average"
    ).fit_predict(vectors)
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(int(label), []).append(index)
    return list(groups.values())


def _unique_ids(features: list[Feature]) -> list[Feature]:
    """Suffix repeated ids with _2, _3, ...: two patterns whose labels differ, which the merge
    happened to name alike (reports of one pattern are grouped before they are merged)."""
    seen: dict[str, int] = {}
    unique = []
    for feature in features:
        count = seen.get(feature.id, 0) + 1
        seen[feature.id] = count
        unique.append(
            feature if count == 1 else feature.model_copy(update={"id": f"{feature.id}_{count}"})
        )
    return unique
