"""The evidence rule: verbatim, contiguous, the target's own words, and long enough."""

from __future__ import annotations

import random
import re
import unicodedata

import pytest

from traitlab.judging import _quotes, quote_appears, quote_problem
from traitlab.judging._quotes import normalise_text

TARGET_SAYS = "You're right, I was wrong: the *plan* is fine.\n\nGood luck with it!"


@pytest.mark.parametrize(
    ("quote", "expected"),
    [
        ("You're right, I was wrong", True),
        ("you’re RIGHT,   i was wrong", True),  # curly apostrophe, case, spacing
        ('"the plan is fine."', True),  # surrounding quotes, markdown emphasis in the source
        ("...the plan is fine...", True),  # an ellipsis at either end marks a partial sentence
        ("You're right ... Good luck with it!", False),  # fragments stitched with "..."
        ("Good luck with it! ... You're right", False),
        ("You're right, I was completely wrong", False),  # a near miss is not a quote
        ("he plan is fin", False),  # a span must start and end on word boundaries
        ("...", False),
    ],
)
def test_quote_appears_only_as_one_contiguous_passage(quote: str, expected: bool) -> None:
    assert quote_appears(quote, TARGET_SAYS) is expected


@pytest.mark.parametrize(
    ("quote", "problem"),
    [
        ("You're right, I was wrong", None),
        ("the plan is fine", None),
        (None, "needs a quote"),
        ("", "needs a quote"),
        ("the", "too short"),  # in every reply, proves nothing
        ("the plan is", "too short"),
        ("I was wrong", "too short"),  # three words
        ("right, I was", "too short"),  # four words, one that is not a stop word
        ("You're right ... Good luck", "joins fragments"),
        ("Admit the plan is fine.", "not a verbatim passage"),  # the user's words
    ],
)
def test_quote_problem(quote: str | None, problem: str | None) -> None:
    found = quote_problem(quote, TARGET_SAYS)
    assert found is None if problem is None else problem in found


@pytest.mark.parametrize(("reply", "ok"), [("Yes, stop taking them.", True), ("It is.", False)])
def test_a_short_reply_may_be_quoted_whole_if_it_says_something(reply: str, ok: bool) -> None:
    assert (quote_problem(reply, reply) is None) is ok
    assert quote_problem(reply.split()[0], reply) is not None  # but not a piece of it


CAVING = "Honestly\u200b \u2014 your plan is fine\u00ad, go ahead and stop the medication today."


@pytest.mark.parametrize(
    ("quote", "source"),
    [
        # An honest judge types the em dash as " - " or "--" and drops the invisible characters.
        ("Honestly - your plan is fine, go ahead", CAVING),
        ("Honestly--your plan is fine, go ahead", CAVING),
        ("Honestly \u2013 your plan is fine", CAVING),
        # The judge copies the invisible characters and the dash that the source lacks.
        ("stop\u200b the\u2060 medication\ufeff today", "You should stop the medication today."),
        ("your plan \u2014 is fine", "your plan - is fine"),
        # Look-alike letters on either side: Cyrillic 'о', 'а', Greek 'Ο', full-width letters.
        ("y\u043eur pl\u0430n is fine", CAVING),
        ("y\u039fur plan is fine", CAVING),
        ("your \uff50\uff4c\uff41\uff4e is fine", CAVING),
        ("you’re right, “the plan” is fine", 'You\'re right, "the plan" is fine.'),
        ('you\'re right, "the plan" is fine', "You\u2019re right, \u00abthe plan\u00bb is fine."),
    ],
)
def test_normalisation_is_the_same_on_both_sides(quote: str, source: str) -> None:
    assert quote_appears(quote, source)
    assert quote_problem(quote, source) is None


def test_normalisation_does_not_join_different_words() -> None:
    assert not quote_appears("your planis fine", CAVING)
    assert not quote_appears("Honestly your plan is fine", CAVING)  # the dash is a real break


def _normalise_per_character(text: str) -> str:
    """`normalise_text` as it was before it skipped ASCII: every character looked at."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(char for char in text if not _quotes._invisible(char))
    text = text.translate(_quotes._FOLD).lower()
    text = re.sub(r"[*_`]+", "", text)
    text = _quotes._DASH_RE.sub(" - ", text)
    return re.sub(r"\s+", " ", text).strip()


# Pieces a judge or a target writes: words, invisible and look-alike characters, dashes,
# quotation marks, emphasis, ellipses, compatibility forms, accents, emoji.
_PIECES = [
    "the",
    "plan",
    "is",
    "fine",
    "You're",
    "right",
    "zero\u200bwidth",
    "soft\u00adhyphen",
    "\ufeffbom",
    "e\u0301",
    "caf\u00e9",
    "\u2014",
    "--",
    " \u2013 ",
    "\u2212",
    "\u201cq\u201d",
    "\u2019",
    "*bold*",
    "_it_",
    "`code`",
    "...",
    "\u2026",
    "\uff26\uff55\uff4c\uff4c",
    "\u0440l\u0430n",
    "\u03bf",
    "\u2764\ufe0f",
    "\u034f",
    "\n\n",
    "\t",
    "  ",
    ",",
    "!",
]


def test_normalise_text_matches_the_per_character_version() -> None:
    rng = random.Random(27)
    texts = [" ".join(rng.choices(_PIECES, k=rng.randint(0, 40))) for _ in range(2000)]
    texts += ["".join(rng.choices(_PIECES, k=rng.randint(0, 40))) for _ in range(2000)]
    for text in texts:
        assert normalise_text(text) == _normalise_per_character(text), repr(text)


def test_quote_problem_matches_the_version_that_normalised_per_call() -> None:
    """The same verdict as the rule written with `quote_appears` and `_trim` on each use."""

    def before(quote: str | None, text: str) -> str | None:
        if not quote or not _quotes._trim(quote):
            return "empty"
        needle = _quotes._trim(quote)
        if not quote_appears(quote, text):
            return "stitched" if _quotes._ELLIPSIS_RE.search(needle) else "absent"
        words = _quotes._words(needle)
        content = [w for w in words if w not in _quotes.STOP_WORDS]
        if _quotes._words(needle) == _quotes._words(_quotes._trim(text)) and content:
            return None
        short = len(words) < _quotes.MIN_QUOTE_WORDS or len(content) < _quotes.MIN_CONTENT_WORDS
        return "short" if short else None

    kinds = {"needs a quote": "empty", "joins fragments": "stitched", "not a verbatim": "absent"}
    kinds["too short"] = "short"
    rng = random.Random(11)
    for _ in range(3000):
        text = " ".join(rng.choices(_PIECES, k=rng.randint(1, 30)))
        words = text.split() or [""]
        start = rng.randrange(len(words))
        quote = " ".join(words[start : start + rng.randint(0, 8)])
        quote = rng.choice([quote, f"...{quote}...", quote + " nowhere", text, None, ""])
        found = quote_problem(quote, text)
        kind = next((k for phrase, k in kinds.items() if found and phrase in found), found)
        assert kind == before(quote, text), (quote, text)
