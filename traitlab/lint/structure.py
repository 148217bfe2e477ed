"""Which opening clusters are structural: shared wording or form, not shared subject.

Embedding clusters of first sentences group openings by what they are about as much as by how
they are said. A set of replies about cooking and gardening forms a "cooking" cluster that is
no habit at all, and a gate that fails on it fails clean data and gets switched off. So a
cluster may fail the gate only when its members share a form a model could learn to repeat:

* *wording*: at least half of them open with the same two words ("I understand ...",
  "Great question ..."), words not already that common among all openings; or
* *sentence form*: at least 80% of them open with a question or an exclamation, at least twice
  the share among all openings.

Other clusters are reported as topics and never gated. A paraphrased structural habit with no
shared wording ("opens by validating the user's feelings", in twenty phrasings) is what the LLM
stages are for (`--model`); the report says so.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

from traitlab.lint.items import LintItem
from traitlab.lint.prescan import first_sentence, words
from traitlab.lint.results import Finding

SHARED_WORDING = 0.5
SHARED_FORM = 0.8
BASE_SAMPLE = 5000


def mark_structural(findings: list[Finding], items: Sequence[LintItem]) -> None:
    """Set `structure` on each opening cluster whose members share wording or form."""
    clusters = [f for f in findings if f.kind == "cluster" and f.members]
    if not clusters:
        return
    by_index = {item.index: item for item in items}
    # All openings' shares, from a seeded sample: reading a million items' text again for
    # this would cost more than the lint.
    sample = items if len(items) <= BASE_SAMPLE else random.Random(0).sample(items, BASE_SAMPLE)
    everyone = [o for item in sample if (o := _opening(item))]
    overall_leads = Counter(_lead(o) for o in everyone)
    overall_forms = Counter(_form(o) for o in everyone)
    for cluster in clusters:
        openings = [o for i in cluster.members if i in by_index and (o := _opening(by_index[i]))]
        if not openings:
            continue
        lead, count = Counter(_lead(o) for o in openings).most_common(1)[0]
        if (
            lead
            and count >= SHARED_WORDING * len(openings)
            and overall_leads[lead] < SHARED_WORDING * len(everyone)
        ):
            cluster.structure = f'shared wording: "{lead} ..." ({count / len(openings):.0%})'
            continue
        form, count = Counter(_form(o) for o in openings).most_common(1)[0]
        share = count / len(openings)
        if form and share >= SHARED_FORM and share >= 2 * overall_forms[form] / len(everyone):
            cluster.structure = f"shared form: opens with {form} ({share:.0%})"


def _opening(item: LintItem) -> str:
    return first_sentence(item.segments[0]) if item.segments else ""


def _lead(sentence: str) -> str:
    found = words(sentence)[:2]
    return " ".join(found) if len(found) == 2 else ""


def _form(sentence: str) -> str:
    end = sentence.rstrip()[-1:]
    return {"?": "a question", "!": "an exclamation"}.get(end, "")
