"""Families of nested openings and closings: one finding, its longer variants inside it.

The pre-scan keeps an opening and its extensions when no single extension covers most of its
items: "short answer" (21%) stays beside "short answer yes", "short answer no" and "short answer
it depends" (7% each). Listed side by side they read as four patterns and 42% of the data, and
the gate would judge each on its own. Folded, "short answer" is one finding at 21% (every item
of a variant is one of its items), with the variants listed inside it: the gate judges the
family, and a researcher can still filter one variant by its id.
"""

from __future__ import annotations

from traitlab.lint.results import Finding

NESTED_KINDS = ("opening", "closing")


def fold_families(findings: list[Finding]) -> list[Finding]:
    """Each opening (closing) that another one of the same kind starts (ends) with becomes a
    variant of the shortest such finding; other findings pass through unchanged, in order."""
    roots: dict[int, int] = {}  # finding position -> position of its family's head
    for position, finding in enumerate(findings):
        if finding.kind not in NESTED_KINDS:
            continue
        heads = [
            other
            for other, candidate in enumerate(findings)
            if other != position
            and candidate.kind == finding.kind
            and _nests(candidate.text.split(), finding.text.split(), finding.kind)
        ]
        if heads:
            roots[position] = min(heads, key=lambda h: len(findings[h].text.split()))
    folded = []
    for position, finding in enumerate(findings):
        if position in roots:
            continue
        variants = [findings[p] for p, head in roots.items() if head == position]
        if variants:
            variants.sort(key=lambda v: -v.rate.estimate)
            finding = finding.model_copy(update={"variants": variants})
        folded.append(finding)
    return folded


def _nests(short: list[str], long: list[str], kind: str) -> bool:
    """Whether `long` is `short` extended (after it for an opening, before it for a closing)."""
    if len(short) >= len(long):
        return False
    return long[: len(short)] == short if kind == "opening" else long[-len(short) :] == short
