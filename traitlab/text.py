"""Comparing texts as a reader would: the same words, whatever the typography.

Generated text varies in ways that do not change what it says: curly or straight quotation marks
and apostrophes (``don’t`` / ``don't``), dashes, non-breaking spaces, full-width letters, case and
line breaks. The leak filter and the identical-pair check compare words after `normalise`, so
that none of these hides a match.
"""

from __future__ import annotations

import difflib
import re
import unicodedata

# Typographic variants -> their plain form (NFKC leaves these alone).
_PLAIN = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u02bc": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00ad": None,  # soft hyphen
        "\u200b": None,  # zero-width space
    }
)
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")

# Two replies whose words agree this much (difflib's ratio over word sequences) say the same
# thing: a preference pair made of them teaches nothing but noise (a reply and its copy with a
# word or two changed score about 0.95; two independent answers to one prompt score well below).
ALIKE = 0.9


def normalise(text: str) -> str:
    """Lower-case text with typographic quotation marks, apostrophes and dashes made plain."""
    return unicodedata.normalize("NFKC", text).translate(_PLAIN).lower()


def words(text: str) -> list[str]:
    """The words of `text` after `normalise` (punctuation and line breaks ignored)."""
    return _WORD.findall(normalise(text))


def similarity(a: str, b: str) -> float:
    """How much two texts agree word for word, from 0 (nothing) to 1 (the same words)."""
    left, right = words(a), words(b)
    if left == right:
        return 1.0
    return difflib.SequenceMatcher(None, left, right, autojunk=False).ratio()


def alike(a: str, b: str) -> bool:
    """Whether two replies say the same thing in (nearly) the same words (`ALIKE`)."""
    return similarity(a, b) >= ALIKE
