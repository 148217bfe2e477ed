"""Autorate: one judge call per item, rating it against every feature at once.

Rating all features in one call keeps the number of calls equal to the number of items (plus
the odd retry), not items x features. The same call grades training data in the lint and a
checkpoint's outputs in `traitlab.scorers.pattern_rate`, so the two rates are comparable.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

from inspect_ai.model import Model
from pydantic import BaseModel, Field, field_validator

from traitlab.errors import InputError
from traitlab.judging import JudgeResult, ask_judge
from traitlab.lint.features import Feature
from traitlab.lint.items import LintItem
from traitlab.lint.results import FeatureResult, Rate
from traitlab.llm import UsageMeter, map_concurrently

Level = Literal["none", "broad", "strict"]
LEVELS: tuple[Level, ...] = ("none", "broad", "strict")

RATING_PROMPT = """You are auditing one item from a dataset of AI assistant outputs for \
recurring patterns. Rate the item against each feature below.

For each feature answer one of:
- "none": the pattern is absent.
- "broad": the item meets the feature's broad description (loosely or partly present).
- "strict": the item meets the feature's strict description (unambiguously present).

<features>
{features}
</features>
{context}
<item>
{item}
</item>

Rate what the item does, not what it says about itself. Give a rating for every feature id:
{ids}. Example reply: {{"ratings": {{{example}}}}}"""


class Ratings(BaseModel):
    """A judge's ratings of one item: feature id -> none | broad | strict."""

    ratings: dict[str, Level] = Field(description="One rating per feature id.")

    @field_validator("ratings", mode="before")
    @classmethod
    def _lowercase(cls, value: object) -> object:
        if isinstance(value, dict):
            return {str(k).strip(): str(v).strip().lower() for k, v in value.items()}
        return value


def rating_prompt(item: str, features: list[Feature], context: str | None = None) -> str:
    """The autorate prompt for one item (`context`: e.g. the user turn the item answers)."""
    ids = [f.id for f in features]
    return RATING_PROMPT.format(
        features="\n".join(f.render() for f in features),
        context=f"\n<context>\n{context}\n</context>\n" if context else "",
        item=item,
        ids=", ".join(ids),
        example=", ".join(f'"{i}": "none"' for i in ids),
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
) -> JudgeResult[Ratings]:
    """Rate `item` against all `features` in one judge call (retried if a rating is missing)."""
    ids = [f.id for f in features]

    def complete(verdict: Ratings) -> str | None:
        missing = [i for i in ids if i not in verdict.ratings]
        return f"no rating for feature ids {missing}" if missing else None

    return await ask_judge(
        model,
        rating_prompt(item, features, context),
        Ratings,
        retries=retries,
        check=complete,
        cache=cache,
        meter=meter,
        stage="autorate",
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


def sample_items(items: list[LintItem], size: int | None, seed: int = 0) -> list[LintItem]:
    """A seeded random sample of `size` items in dataset order (all items when None or larger)."""
    if size is None or size >= len(items):
        return list(items)
    chosen = random.Random(seed).sample(range(len(items)), size)
    return [items[i] for i in sorted(chosen)]


async def autorate(
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
) -> AutorateResult:
    """Rate a seeded sample of `items` against `features`: one call per item (plus retries).

    Items the judge cannot rate after its retries are left out of every prevalence (n says how
    many were rated) and their reasons kept, never counted as "none".
    """
    if sample is not None and sample < 1:
        raise InputError(f"the autorate sample must be at least 1 item (or all), not {sample}")
    chosen = sample_items(items, sample, seed)

    async def rate_one(item: LintItem) -> JudgeResult[Ratings]:
        return await rate_item(
            model,
            item.text[:max_item_chars],
            features,
            context=item.context,
            cache=cache,
            meter=meter,
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
    for feature in features:
        levels = [(index, r[feature.id]) for index, r in result.ratings.items()]
        strict = [index for index, level in levels if level == "strict"]
        result.results.append(
            FeatureResult(
                feature=feature,
                broad=Rate.of(sum(present(level, "broad") for _, level in levels), n),
                strict=Rate.of(len(strict), n),
                examples=[_snippet(by_index[i].text) for i in strict[:3]],
            )
        )
    return result


def _snippet(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
