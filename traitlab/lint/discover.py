"""Discover features: scan batches of items, cluster what the scans report, merge each cluster.

1. *Scan.* Items are shuffled (seeded) and packed into batches up to a token budget; an LLM
   lists the recurring structural, rhetorical or behavioural patterns in each batch, with
   evidence quotes. A pattern one sees only across many examples at once is the point: one
   example at a time, "opens by validating the user's feelings" looks fine.
2. *Cluster.* The reported patterns are embedded and clustered (average-linkage on cosine
   distance); a cluster reported by fewer than `min_scans` batches is dropped as idiosyncratic.
3. *Merge.* Each surviving cluster is merged by the LLM into one feature with a broad and a
   strict detection rubric, ready for autorating.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from inspect_ai.model import Model
from pydantic import BaseModel, Field

from traitlab.judging import ask_judge
from traitlab.lint.features import Feature, FeatureSet, Provenance, slugify
from traitlab.lint.items import LintItem
from traitlab.llm import UsageMeter, map_concurrently
from traitlab.models import estimate_tokens

SCAN_PROMPT = """You are auditing a synthetic dataset that will be used to train an AI \
assistant. Below are {count} items from it. Each looks fine on its own; your job is to find \
what they have in common that a model trained on them would learn as "always do this".

List the structural, rhetorical or behavioural patterns that recur in several of these items \
(at least {min_items}): how they open and close, how they are organised, stances and moves they \
repeat, phrasings that recur, what they always or never do. Ignore the topics themselves. Give \
each pattern a short name, a one-sentence description, and up to three short verbatim quotes \
as evidence.

{items}"""

MERGE_PROMPT = """Several auditors scanned different batches of a synthetic training dataset \
for recurring patterns and reported the following, which appear to describe one pattern:

{patterns}

Merge them into one feature: a short name, a one-sentence description, and two detection \
rubrics for rating a single item:
- broad: when the pattern counts as loosely or partly present;
- strict: when it is unambiguously present.
Each rubric must be decidable from one item alone."""


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
    """Settings of the scan, cluster and merge stages.

    Attributes:
        batch_tokens: Token budget of one scan batch (about 4 characters a token).
        max_batches: At most this many scan calls.
        max_item_chars: Longer items are truncated for the scan (noted in the report).
        min_scans: Keep a pattern reported by at least this many batches.
        max_features: Keep at most this many features (the most often reported).
        distance: Cosine distance under which scanned patterns are clustered together.
        seed: Seed of the batch shuffle.
    """

    batch_tokens: int = 6000
    max_batches: int = 20
    max_item_chars: int = 2000
    min_scans: int = 2
    max_features: int = 12
    distance: float = 0.35
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
) -> tuple[FeatureSet, list[str]]:
    """Scan, cluster and merge: the features of `items`, and notes for the report."""
    config = config or DiscoverConfig()
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
        prompt = SCAN_PROMPT.format(
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
    groups = [
        group
        for group in cluster_patterns([p for _, p in reported], config.distance)
        if scans_of(group) >= min_scans
    ]
    groups.sort(key=lambda g: (-scans_of(g), g[0]))
    dropped = len(groups) - config.max_features
    if dropped > 0:
        notes.append(f"{dropped} recurring patterns beyond the first {config.max_features} dropped")
    groups = groups[: config.max_features]

    async def merge(group: list[int]) -> Feature | None:
        patterns = [reported[i][1] for i in group]
        listing = "\n".join(
            f"- {p.name}: {p.description}" + "".join(f'\n  quote: "{q}"' for q in p.evidence[:2])
            for p in patterns
        )
        result = await ask_judge(
            model,
            MERGE_PROMPT.format(patterns=listing),
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
            ),
        )

    merged = await map_concurrently(
        groups, merge, concurrency=concurrency, description="merge", show_progress=show_progress
    )
    return FeatureSet(source=source, features=_unique_ids([f for f in merged if f])), notes


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
    """Suffix repeated ids (two clusters merged to similar names) with _2, _3, ..."""
    seen: dict[str, int] = {}
    unique = []
    for feature in features:
        count = seen.get(feature.id, 0) + 1
        seen[feature.id] = count
        unique.append(
            feature if count == 1 else feature.model_copy(update={"id": f"{feature.id}_{count}"})
        )
    return unique
