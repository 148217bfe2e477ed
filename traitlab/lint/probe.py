"""Probes: each feature's autorater distilled into a cheap classifier, to label the whole set.

The autorater rates a sample (one LLM call per item); filtering a real dataset needs a label for
every item. A probe is a logistic regression on three sentence embeddings of the item
(all-MiniLM-L6-v2, `traitlab.embeddings`): the whole item, its first sentence and its last
sentence, trained on the rated sample to predict the rater's label at one level. The whole
item's embedding is an average over its words, blind to where they sit; many patterns are about
place (an apology first, an offer of more help last), which the first and last sentences see.
Its agreement with the rater is measured on rated items it was not trained on (k-fold
cross-validation: every rated item is held out once), as precision and recall with Wilson
intervals; then a probe trained on all rated items labels every unrated item.

Probe labels are never mixed up with the rater's: they are kept apart in labels.jsonl, and
`filter` uses them only when the agreement clears thresholds the user sets. A probe learns what
the embedding can see (topic, wording, structure the encoder picks up); a pattern it cannot see
shows up as poor agreement, never as silently wrong labels.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from traitlab.lint.autorate import Level, present
from traitlab.lint.features import Feature
from traitlab.lint.items import LintItem
from traitlab.lint.prescan import first_sentence, last_sentence
from traitlab.lint.results import ProbeAgreement, Rate

ProbeLevel = Literal["broad", "strict"]
FOLDS = 5
MIN_CLASS = 2 * FOLDS  # rated items needed on each side (present, absent) to train and test
EMBED_CHARS = 2000  # the encoder reads about 256 tokens; the rest only costs time
CHUNK = 4096


@dataclass
class ProbeResult:
    """The probes' agreement per feature, and the labels they give the unrated items."""

    agreement: dict[str, list[ProbeAgreement]] = field(default_factory=dict)
    labels: dict[int, dict[str, Level]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Probe:
    feature: str
    level: ProbeLevel
    model: Any  # a fitted sklearn LogisticRegression
    held_out: np.ndarray  # each rated item's prediction by a probe not trained on it
    target: np.ndarray  # the rater's labels
    labelled: int = 0  # unrated items labelled present


def train_probes(
    items: list[LintItem],
    ratings: dict[int, dict[str, Level]],
    features: list[Feature],
    *,
    seed: int = 0,
    show_progress: bool = False,
) -> ProbeResult:
    """Distil each feature's ratings (at the broad and the strict level) into a probe, measure
    it on held-out rated items, and label every unrated item with it.

    A level with fewer than `MIN_CLASS` rated items present, or absent, gets no probe (noted).
    """
    result = ProbeResult()
    unrated = [item for item in items if item.index not in ratings]
    if not unrated or not features:
        return result
    rated = [item for item in items if item.index in ratings]
    from traitlab.embeddings import embed

    def vectors(chunk: list[LintItem]) -> np.ndarray:
        """Whole item, first sentence, last sentence: one encoder call, side by side."""
        texts = [item.text[:EMBED_CHARS] for item in chunk]
        firsts = [first_sentence(item.segments[0]) if item.segments else "" for item in chunk]
        lasts = [last_sentence(item.segments[-1]) if item.segments else "" for item in chunk]
        n = len(chunk)
        found = embed(texts + firsts + lasts)
        return np.hstack([found[:n], found[n : 2 * n], found[2 * n :]])

    train = vectors(rated)
    probes: list[_Probe] = []
    for feature in features:
        for level in ("broad", "strict"):
            target = np.array([present(ratings[i.index][feature.id], level) for i in rated])
            positives = int(target.sum())
            if min(positives, len(target) - positives) < MIN_CLASS:
                result.notes.append(
                    f"{feature.id}: no {level} probe ({positives} of {len(target)} rated items "
                    f"present; at least {MIN_CLASS} present and {MIN_CLASS} absent are needed)"
                )
                continue
            held_out = _cross_validated(train, target, seed)
            probes.append(_Probe(feature.id, level, _fit(train, target), held_out, target))
    # Unrated items in chunks, so memory stays bounded however large the set.
    for start in _progress(range(0, len(unrated), CHUNK), show_progress):
        chunk = unrated[start : start + CHUNK]
        x = vectors(chunk)
        for probe in probes:
            for item, hit in zip(chunk, probe.model.predict(x).astype(bool), strict=True):
                if hit:
                    probe.labelled += 1
                    labels = result.labels.setdefault(item.index, {})
                    # strict implies broad: keep the stronger of the two levels' labels.
                    if labels.get(probe.feature) != "strict":
                        labels[probe.feature] = probe.level
    for probe in probes:
        agree = int((probe.held_out & probe.target).sum())
        result.agreement.setdefault(probe.feature, []).append(
            ProbeAgreement(
                level=probe.level,
                precision=Rate.of(agree, int(probe.held_out.sum())),
                recall=Rate.of(agree, int(probe.target.sum())),
                rated=len(probe.target),
                labelled=probe.labelled,
                unrated=len(unrated),
            )
        )
    return result


def _progress(steps: range, show: bool) -> Iterable[int]:
    if not show:
        return steps
    from rich.progress import track

    return track(steps, description="probe labels", transient=True)


def _fit(x: np.ndarray, y: np.ndarray) -> Any:
    from sklearn.linear_model import LogisticRegression

    # Unit-length embeddings need large weights, so the penalty is weak (C=100); classes are
    # weighted so a rare pattern is not simply predicted absent. On 80 rated chats (30% with a
    # planted opening) this labelled the other 520 all correctly, where C=1 found none.
    return LogisticRegression(C=100.0, class_weight="balanced", max_iter=5000).fit(x, y)


def _cross_validated(x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """Each rated item's prediction by a probe that was not trained on it."""
    from sklearn.model_selection import StratifiedKFold

    predicted = np.zeros(len(y), dtype=bool)
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    for fit_rows, test_rows in folds.split(x, y):
        predicted[test_rows] = _fit(x[fit_rows], y[fit_rows]).predict(x[test_rows]).astype(bool)
    return predicted
