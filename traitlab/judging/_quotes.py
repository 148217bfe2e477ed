"""Checking that a judge's quoted evidence really is in the text it grades.

Judges cite quotes as evidence; a quote that is not in the transcript means the verdict is about
something that did not happen, so verdicts with such quotes are sent back (see `ask_judge`'s
`check`). Matching ignores case, spacing, markdown emphasis and curly quotes, and accepts
"..." elisions as long as the fragments occur in order.
"""

from __future__ import annotations

import re
import unicodedata

_QUOTE_CHARS = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_QUOTE_CHARS)
    text = re.sub(r"[*_`]+", "", text)  # markdown emphasis is not part of the words
    return re.sub(r"\s+", " ", text).strip().lower()


def quote_appears(quote: str, text: str) -> bool:
    """Whether `quote` occurs in `text`, ignoring case, spacing, emphasis and quote styles.

    Judges elide with "..." between fragments; each fragment must then occur, in order.
    """
    haystack = _normalise(text)
    fragments = [f.strip(" \"'") for f in re.split(r"\.\.\.|\u2026|\[\.\.\.\]", _normalise(quote))]
    fragments = [f for f in fragments if f]
    if not fragments:
        return False
    position = 0
    for fragment in fragments:
        found = haystack.find(fragment, position)
        if found < 0:
            return False
        position = found + len(fragment)
    return True
