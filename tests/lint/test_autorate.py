"""The autorater's prompt cannot be answered by quoting it."""

from __future__ import annotations

import re
from pathlib import Path

from tests.helpers import scripted
from traitlab.lint.autorate import rate_item
from traitlab.lint.features import load_features

FEATURES = load_features(Path(__file__).parent / "features.json").features


async def test_a_refusal_that_quotes_the_example_reply_is_no_rating() -> None:
    """A judge that declines and pastes the prompt's example must not rate every feature 'none'
    (that would pull every prevalence down); the item is left unrated instead."""

    def refuse(messages, tools, config) -> str:
        example = re.search(r"Example reply: (\{.*\})", messages[0].text)
        assert example, "the prompt shows an example reply"
        return f"I'd rather not rate this item. A reply would look like {example.group(1)}"

    result = await rate_item(scripted("refuser", policy=refuse), "Great question!", FEATURES)
    assert result.verdict is None and result.error


async def test_an_honest_rating_after_reasoning_is_read() -> None:
    ids = [f.id for f in FEATURES]

    def rate(messages, tools, config) -> str:
        ratings = ", ".join(f'"{i}": "none"' for i in ids)
        return f'The item shows none of these.\n{{"ratings": {{{ratings}}}}}'

    result = await rate_item(scripted("rater", policy=rate), "Great question!", FEATURES)
    assert result.verdict is not None and set(result.verdict.ratings.values()) == {"none"}
