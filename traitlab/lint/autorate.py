"""Autorate: one judge call per item, rating it against every feature at once.

Rating all features in one call keeps the number of calls equal to the number of items (plus
the odd retry), not items x features. The same call grades training data in the lint and a
checkpoint's outputs in `traitlab.scorers.pattern_rate`, so the two rates are comparable.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from inspect_ai.model import Model
from pydantic import BaseModel, Field, field_validator

from traitlab.errors import InputError
from traitlab.judging import JudgeResult, ask_judge
from traitlab.lint.features import Feature
from traitlab.lint.items import LintItem
from traitlab.lint.options import DEFAULTS
from traitlab.lint.results import FeatureResult, Rate, RaterError
from traitlab.llm import UsageMeter, map_concurrently
from traitlab.prompts import PromptOverride, PromptTemplate, load_prompt, resolve_prompt
from traitlab.statistics import corrected_prevalence

Level = Literal["none", "broad", "strict"]
LEVELS: tuple[Level, ...] = ("none", "broad", "strict")

RATING_PROMPT = load_prompt(__file__, "rating")


class Ratings(BaseModel):
    """A judge's ratings of one item: feature id -> none | broad | strict."""

    ratings: dict[str, Level] = Field(description="One rating per feature id.")

    @field_validator("ratings", mode="before")
    @classmethod
    def _lowercase(cls, value: object) -> object:
        if isinstance(value, dict):
            return {str(k).strip(): str(v).strip().lower() for k, v in value.items()}
        return value


def rating_prompt(
    item: str,
    features: list[Feature],
    context: str | None = None,
    *,
    prompt: PromptTemplate = RATING_PROMPT,
) -> str:
    """The autorate prompt for one item (`context`: e.g. the user turn the item answers)."""
    ids = [f.id for f in features]
    return prompt.render(
        features="\n".join(f.render() for f in features),
        context=f"\n<context>\n{context}\n</context>\n" if context else "",
        item=item,
        ids=", ".join(ids),
        # Placeholders, never a valid verdict: a refusal that quotes the example must not parse
        # as "none" everywhere (which would bias every prevalence down).
        example=", ".join(f'"{i}": "<none|broad|strict>"' for i in ids),
    )


async def rate_item(
    model: Model,
    item: str,
    features: list[Feature],
    *,
    context: str | None = None,
    retries: int = 2,
    cache: bool = False,
    meter: UsageMeter | None = None,
    stage: str = "autorate",
    prompt: PromptTemplate = RATING_PROMPT,
) -> JudgeResult[Ratings]:
    """Rate `item` against all `features` in one judge call (retried if a rating is missing).

    `prompt` is the rating prompt, resolved (see `resolve_prompt`); callers resolve an override
    once, not per item."""
    ids = [f.id for f in features]

    def complete(verdict: Ratings) -> str | None:
        missing = [i for i in ids if i not in verdict.ratings]
        return f"no rating for feature ids {missing}" if missing else None

    return await ask_judge(
        model,
        rating_prompt(item, features, context, prompt=prompt),
        Ratings,
        retries=retries,
        check=complete,
        cache=cache,
        meter=meter,
        stage=stage,
    )


def present(level: str, at: Level) -> bool:
    """Whether a rating counts at threshold `at` (strict counts as broad too)."""
    return LEVELS.index(level) >= LEVELS.index(at) if level in LEVELS else False


@dataclass
class AutorateResult:
    """Prevalences per feature, the ratings of each rated item, and why others went unrated."""

    results: list[FeatureResult]
    ratings: dict[int, dict[str, Level]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    truncated: int = 0
    rechecked: int = 0
    reference_items: int = 0  # rated by the reference model
    hand_labelled: int = 0  # rated items with the user's own labels
    hand_unmatched: int = 0  # hand-labelled ids that match no rated item
    strict_items: list[list[int]] = field(default_factory=list)  # per feature, rated strict


def sample_items(items: list[LintItem], size: int | None, seed: int = 0) -> list[LintItem]:
    """A seeded random sample of `size` items in dataset order (all items when None or larger)."""
    if size is None or size >= len(items):
        return list(items)
    chosen = random.Random(seed).sample(range(len(items)), size)
    return [items[i] for i in sorted(chosen)]


async def autorate_items(
    model: Model,
    items: list[LintItem],
    features: list[Feature],
    *,
    sample: int | None = DEFAULTS.sample,
    seed: int = DEFAULTS.seed,
    max_item_chars: int = 6000,
    meter: UsageMeter | None = None,
    cache: bool = DEFAULTS.cache,
    concurrency: int = DEFAULTS.concurrency,
    show_progress: bool = DEFAULTS.show_progress,
    recheck: int = DEFAULTS.recheck,
    reference: Model | None = None,
    reference_sample: int = DEFAULTS.reference_sample,
    hand_labels: Mapping[str, Mapping[str, str]] | None = None,
    prompt: PromptOverride = None,
) -> AutorateResult:
    """Rate a seeded sample of `items` against `features`: one call per item (plus retries).

    Items the judge cannot rate after its retries are left out of every prevalence (n says how
    many were rated) and their reasons kept, never counted as "none".

    The rater's error is measured against something independent of it: `reference` (another
    model) rates `reference_sample` of the rated items, and `hand_labels` (item id -> feature
    id -> level) are a user's own; hand-labelled items outside the sample are rated too, for the
    measurement only. Each prevalence is then also given corrected for the measured sensitivity
    and specificity (`corrected_prevalence`, whose interval carries their uncertainty). Hand
    labels win where both label an item. `recheck` rated items are rated again by the rater
    itself (uncached): that measures its consistency, which is reported but corrects nothing
    (a rater at temperature 0 repeats its mistakes). `prompt` overrides the rating prompt.
    """
    template = resolve_prompt(prompt, RATING_PROMPT)
    if sample is not None and sample < 1:
        raise InputError(f"the autorate sample must be at least 1 item (or all), not {sample}")
    chosen = sample_items(items, sample, seed)
    in_sample = {item.index for item in chosen}
    hand = dict(hand_labels or {})
    extra = (
        [item for item in items if item.id in hand and item.index not in in_sample] if hand else []
    )

    async def rate_with(
        rater: Model, stage: str, batch: list[LintItem], *, cached: bool, progress: bool
    ) -> dict[int, dict[str, Level]]:
        async def rate_one(item: LintItem) -> JudgeResult[Ratings]:
            return await rate_item(
                rater,
                item.text[:max_item_chars],
                features,
                context=item.context,
                cache=cached,
                meter=meter,
                stage=stage,
                prompt=template,
            )

        replies = await map_concurrently(
            batch,
            rate_one,
            concurrency=concurrency,
            description=stage,
            show_progress=progress and show_progress,
        )
        rated = {}
        for item, reply in zip(batch, replies, strict=True):
            if reply.verdict is None:
                if stage == "autorate":
                    result.failures.append(f"{item.id}: {reply.error}")
            else:
                rated[item.index] = {f.id: reply.verdict.ratings[f.id] for f in features}
        return rated

    result = AutorateResult(
        results=[], truncated=sum(len(item.text) > max_item_chars for item in chosen)
    )
    result.ratings = await rate_with(model, "autorate", chosen, cached=cache, progress=True)
    n = len(result.ratings)
    by_index = {item.index: item for item in [*chosen, *extra]}
    rated_items = [by_index[i] for i in sorted(result.ratings)]
    # The rater's labels of items outside the sample serve the error measurement only.
    measured = dict(result.ratings)
    if extra:
        measured |= await rate_with(model, "hand-labelled", extra, cached=cache, progress=False)
    truth: dict[int, dict[str, str]] = {}
    if reference is not None and rated_items:
        subset = sample_items(rated_items, reference_sample, seed + 2)
        truth |= await rate_with(reference, "reference", subset, cached=cache, progress=True)
        result.reference_items = len(truth)
    matched = set()
    for item in by_index.values():
        if item.id in hand and item.index in measured:
            truth[item.index] = {**truth.get(item.index, {}), **hand[item.id]}
            result.hand_labelled += 1
            matched.add(item.id)
    result.hand_unmatched = len(set(hand) - matched)
    second: dict[int, dict[str, Level]] = {}
    if recheck > 0 and rated_items:
        again = sample_items(rated_items, recheck, seed + 1)
        # A fresh answer, not a replay of the cache.
        second = await rate_with(model, "recheck", again, cached=False, progress=True)
        result.rechecked = len(second)
    for feature in features:
        levels = [(index, r[feature.id]) for index, r in result.ratings.items()]
        strict = [index for index, level in levels if level == "strict"]
        feature_result = FeatureResult(
            feature=feature,
            broad=Rate.of(sum(present(level, "broad") for _, level in levels), n),
            strict=Rate.of(len(strict), n),
            examples=[_snippet(by_index[i].text) for i in strict[:3]],
        )
        for at in ("broad", "strict"):
            if second:
                same = sum(
                    present(result.ratings[i][feature.id], at) == present(r[feature.id], at)
                    for i, r in second.items()
                )
                feature_result.consistency[at] = same / len(second)
            error = rater_error(feature.id, at, measured, truth)
            if error is not None:
                feature_result.rater_error.append(error)
                observed = feature_result.level(at)
                interval = corrected_prevalence(
                    observed.count,
                    observed.n,
                    sensitivity=error.sensitivity,
                    specificity=error.specificity,
                    seed=seed,
                )
                corrected = Rate(
                    count=observed.count,
                    n=observed.n,
                    estimate=interval.estimate,
                    low=interval.low,
                    high=interval.high,
                )
                setattr(feature_result, f"corrected_{at}", corrected)
        result.results.append(feature_result)
        result.strict_items.append(strict)
    return result


def rater_error(
    feature: str,
    at: Level,
    rater: Mapping[int, Mapping[str, str]],
    reference: Mapping[int, Mapping[str, str]],
) -> RaterError | None:
    """The rater's sensitivity and specificity for `feature` at level `at`, counted on the items
    both labelled; None when the reference labelled none of them for this feature."""
    pairs = [
        (present(rater[i][feature], at), present(labels[feature], at))
        for i, labels in reference.items()
        if i in rater and feature in labels
    ]
    if not pairs:
        return None
    positives = [said for said, truth in pairs if truth]
    negatives = [not said for said, truth in pairs if not truth]
    return RaterError(
        level=at,  # type: ignore[arg-type]
        sensitivity=(sum(positives), len(positives)),
        specificity=(sum(negatives), len(negatives)),
    )


def _snippet(text: str, limit: int = 240) -> str:
    """Both ends of a long item: a pattern sits at the start or the end as often as not."""
    if len(text) <= limit:
        return text
    half = (limit - 5) // 2
    return f"{text[:half]} ... {text[-half:]}"
