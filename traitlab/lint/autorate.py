"""Autorate: one judge call per item, rating it against every feature at once.

Rating all features in one call keeps the number of calls equal to the number of items (plus
the odd retry), not items x features. The same call grades training data in the lint and a
checkpoint's outputs in `traitlab.scorers.pattern_rate`, so the two rates are comparable.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

from inspect_ai.model import Model
from pydantic import BaseModel, Field, field_validator

from traitlab.errors import InputError
from traitlab.judging import JudgeResult, ask_judge
from traitlab.lint.features import Feature
from traitlab.lint.items import LintItem
from traitlab.lint.results import FeatureResult, Rate
from traitlab.llm import UsageMeter, map_concurrently
from traitlab.prompts import PromptOverride, PromptTemplate, load_prompt, resolve_prompt
from traitlab.statistics import Z_95, wilson_interval

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


def corrected_rate(observed: Rate, disagreements: int, rechecked: int) -> tuple[Rate, float] | None:
    """Prevalence corrected for the rater's own error, and that error rate, or None.

    The rater is modelled as flipping each rating independently with probability e, the same
    for present and absent (symmetric noise). Two independent ratings of the same items then
    disagree at d = 2e(1 - e), so e = (1 - sqrt(1 - 2d)) / 2, and an observed share q means a
    true share p = (q - e) / (1 - 2e). The interval (delta method, clipped to [0, 1]) carries
    the uncertainty of both q and e. A rater that disagrees with itself half the time or more
    cannot be corrected (None). Systematic errors that both readings share are not seen by a
    re-rating and are not corrected.
    """
    if rechecked == 0 or observed.n == 0:
        return None
    d = disagreements / rechecked
    if d >= 0.5:
        return None
    spread = wilson_interval(disagreements, rechecked)
    se_d = (spread.high - spread.low) / (2 * Z_95)
    root = math.sqrt(1 - 2 * d)
    error = (1 - root) / 2
    se_error = se_d / (2 * max(root, 1e-6))
    q = observed.estimate
    se_q = (observed.high - observed.low) / (2 * Z_95)
    denominator = 1 - 2 * error
    p = (q - error) / denominator
    se_p = math.hypot(se_q / denominator, (2 * q - 1) / denominator**2 * se_error)
    clip = lambda value: min(1.0, max(0.0, value))  # noqa: E731
    rate = Rate(
        count=observed.count,
        n=observed.n,
        estimate=clip(p),
        low=clip(p - Z_95 * se_p),
        high=clip(p + Z_95 * se_p),
    )
    return rate, error


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
    sample: int | None = 200,
    seed: int = 0,
    max_item_chars: int = 6000,
    meter: UsageMeter | None = None,
    cache: bool = True,
    concurrency: int = 16,
    show_progress: bool = True,
    recheck: int = 40,
    prompt: PromptOverride = None,
) -> AutorateResult:
    """Rate a seeded sample of `items` against `features`: one call per item (plus retries).

    Items the judge cannot rate after its retries are left out of every prevalence (n says how
    many were rated) and their reasons kept, never counted as "none". Then `recheck` of the
    rated items are rated again (uncached, metered as "recheck"), and each prevalence is also
    given corrected for the rater's error measured by the disagreement (`corrected_rate`).
    `prompt` overrides the rating prompt (text or a path; `prompts/rating.md` by default).
    """
    template = resolve_prompt(prompt, RATING_PROMPT)
    if sample is not None and sample < 1:
        raise InputError(f"the autorate sample must be at least 1 item (or all), not {sample}")
    chosen = sample_items(items, sample, seed)

    async def rate_one(
        item: LintItem, *, cached: bool = cache, stage: str = "autorate"
    ) -> JudgeResult[Ratings]:
        return await rate_item(
            model,
            item.text[:max_item_chars],
            features,
            context=item.context,
            cache=cached,
            meter=meter,
            stage=stage,
            prompt=template,
        )

    replies = await map_concurrently(
        chosen,
        rate_one,
        concurrency=concurrency,
        description="autorate",
        show_progress=show_progress,
    )
    result = AutorateResult(
        results=[], truncated=sum(len(item.text) > max_item_chars for item in chosen)
    )
    for item, reply in zip(chosen, replies, strict=True):
        if reply.verdict is None:
            result.failures.append(f"{item.id}: {reply.error}")
        else:
            result.ratings[item.index] = {f.id: reply.verdict.ratings[f.id] for f in features}
    n = len(result.ratings)
    by_index = {item.index: item for item in chosen}
    second: dict[int, dict[str, Level]] = {}
    if recheck > 0 and result.ratings:
        again = sample_items([by_index[i] for i in sorted(result.ratings)], recheck, seed + 1)

        replies = await map_concurrently(
            again,
            partial(rate_one, cached=False, stage="recheck"),  # a fresh answer, not a replay
            concurrency=concurrency,
            description="recheck",
            show_progress=False,
        )
        for item, reply in zip(again, replies, strict=True):
            if reply.verdict is not None:
                second[item.index] = {f.id: reply.verdict.ratings[f.id] for f in features}
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
            disagree = sum(
                present(result.ratings[i][feature.id], at) != present(r[feature.id], at)
                for i, r in second.items()
            )
            corrected = corrected_rate(feature_result.level(at), disagree, len(second))
            if corrected is not None:
                setattr(feature_result, f"corrected_{at}", corrected[0])
                feature_result.rater_error[at] = corrected[1]
        result.results.append(feature_result)
    return result


def _snippet(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
