"""Prevalence corrected against an independent reference, never against the rater itself.

The stand-in rater here makes the mistakes a model at temperature 0 makes: they depend on the
item, not on the call, so asking it again repeats them. Its re-rating agrees with itself
perfectly (consistency 100%) while its prevalence is biased well above the truth; only a
reference (another model, or hand labels) can show and correct that.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from tests.helpers import scripted
from tests.lint.helpers import VALIDATION, planted_chats
from traitlab.errors import InputError
from traitlab.lint import check_dataset, check_report, filter_dataset, lint_dataset

FEATURES = Path(__file__).parent / "features.json"
FAST = {"clusters": False, "cache": False, "show_progress": False, "probe": False}


def _draw(salt: str, text: str) -> float:
    return int(hashlib.sha256(f"{salt}|{text}".encode()).hexdigest()[:8], 16) / 16**8


class RepeatingRater:
    """Rates "opens with VALIDATION" with sensitivity about `sensitivity` and a false-positive
    rate about `false_positive`; the same item always gets the same (possibly wrong) answer."""

    def __init__(self, salt: str, *, sensitivity: float, false_positive: float) -> None:
        self.salt, self.sensitivity, self.false_positive = salt, sensitivity, false_positive

    def __call__(self, messages, tools, config):  # type: ignore[no-untyped-def]
        prompt = messages[0].text
        text = re.search(r"<item>\n(.*?)\n</item>", prompt, re.DOTALL).group(1)  # type: ignore[union-attr]
        ids = re.findall(r'<feature id="([^"]+)">', prompt)
        truth = text.startswith(VALIDATION)
        draw = _draw(self.salt, text)
        said = draw < self.sensitivity if truth else draw < self.false_positive
        ratings = {i: ("strict" if said and i == "validating_opener" else "none") for i in ids}
        return json.dumps({"ratings": ratings})


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, float, list[dict]]:
    path = tmp_path / "data.jsonl"
    records = planted_chats(path, 600, opening=0.08, closing=0.0, seed=21)
    truth = sum("validation" in r["metadata"]["planted"] for r in records) / len(records)
    return path, truth, records


def rater() -> object:
    return scripted("rater", policy=RepeatingRater("rater", sensitivity=0.8, false_positive=0.15))


def test_a_reference_model_corrects_the_prevalence(data: tuple[Path, float, list]) -> None:
    path, truth, _ = data
    reference = RepeatingRater("reference", sensitivity=0.97, false_positive=0.02)
    report = lint_dataset(
        path,
        model=rater(),
        reference_model=scripted("reference", policy=reference),
        reference_sample=250,
        features=FEATURES,
        sample=None,
        **FAST,
    )
    opener = report.features[0]
    assert opener.strict.low > truth + 0.05  # the rater's own rate is biased well up
    corrected = opener.corrected_strict
    assert corrected is not None and corrected.low <= truth <= corrected.high
    assert corrected.high - corrected.low < 0.2  # informative, not [0, 1]
    [strict] = [e for e in opener.rater_error if e.level == "strict"]
    assert strict.sensitivity[1] >= 10 and strict.specificity[1] > 150
    assert report.reference and "reference model" in report.reference and "250" in report.reference
    # The gate compares the figure the report shows, and says which it is.
    assert opener.gated_rate("strict") is corrected
    violations = check_report(report, max_prevalence=0.0, prescan_max=1.0)
    [violation] = [v for v in violations if v.id == "validating_opener"]
    assert violation.rate is corrected and "corrected" in violation.source
    assert "uncorrected" not in violation.source
    calls = {row.stage: row.calls for row in report.usage}
    assert calls["reference"] == 250 and calls["autorate"] == 600


def test_without_a_reference_the_figure_is_labelled_uncorrected(
    data: tuple[Path, float, list],
) -> None:
    path, truth, _ = data
    report = lint_dataset(path, model=rater(), features=FEATURES, sample=None, recheck=60, **FAST)
    opener = report.features[0]
    assert opener.corrected_strict is None and opener.rater_error == []
    # Asking the rater again measures its consistency, which is perfect and corrects nothing.
    assert opener.consistency["strict"] == 1.0
    assert opener.rate_label("strict") == "strict, uncorrected"
    line = report.correction_line()
    assert line and "uncorrected, rater error unmeasured" in line and "consistency" in line
    violations = check_report(report, max_prevalence=truth, prescan_max=1.0)
    [violation] = [v for v in violations if v.id == "validating_opener"]
    assert violation.rate is opener.strict and "uncorrected" in violation.source


def test_hand_labels_measure_the_rater(data: tuple[Path, float, list], tmp_path: Path) -> None:
    path, truth, records = data
    labels = tmp_path / "hand.jsonl"
    # A user labels 200 replies by hand, 150 of them outside the autorated sample.
    rows = [
        {
            "id": r["id"],
            "labels": {
                "validating_opener": "strict"
                if "validation" in r["metadata"]["planted"]
                else "none"
            },
        }
        for r in records[:200]
    ]
    labels.write_text("".join(json.dumps(row) + "\n" for row in rows))
    report = lint_dataset(
        path,
        model=rater(),
        hand_labels=labels,
        features=FEATURES,
        sample=400,
        seed=3,
        **FAST,
    )
    opener = report.features[0]
    corrected = opener.corrected_strict
    assert corrected is not None and corrected.low <= truth <= corrected.high
    assert not opener.strict.low <= truth  # uncorrected misses the truth
    assert report.reference == "hand labels on 200 items"
    # Items rated only to be compared with the hand labels do not enter the prevalence.
    assert opener.strict.n == 400
    # The offer feature has no hand labels: it stays uncorrected, and says so.
    offer = report.features[1]
    assert offer.corrected_strict is None and offer.rate_label("strict").endswith("uncorrected")


def test_the_reference_must_be_independent_and_checked_up_front(
    data: tuple[Path, float, list], tmp_path: Path
) -> None:
    path, _, _ = data
    model = rater()
    with pytest.raises(InputError, match="the rater itself"):
        lint_dataset(path, model=model, reference_model=model, features=FEATURES, **FAST)
    with pytest.raises(InputError, match="needs --model"):
        lint_dataset(path, reference_model=model, **FAST)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "r1", "labels": {"validating_opener": "maybe"}}\n')
    with pytest.raises(InputError, match=r"bad.jsonl:1: invalid hand label"):
        lint_dataset(path, model=model, hand_labels=bad, features=FEATURES, **FAST)


def test_filter_aims_a_target_at_the_corrected_prevalence(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    records = planted_chats(path, 800, opening=0.4, closing=0.0, seed=5)
    planted = {i + 1 for i, r in enumerate(records) if "validation" in r["metadata"]["planted"]}
    # A rater that misses a third of the pattern and flags 20% of the rest.
    noisy = RepeatingRater("rater", sensitivity=0.67, false_positive=0.2)
    reference = RepeatingRater("reference", sensitivity=0.98, false_positive=0.01)
    out = tmp_path / "report"
    lint_dataset(
        path,
        model=scripted("rater", policy=noisy),
        reference_model=scripted("reference", policy=reference),
        reference_sample=300,
        features=FEATURES,
        sample=None,
        out_dir=out,
        **FAST,
    )
    kept = tmp_path / "kept.jsonl"
    result = filter_dataset(
        path, out, kept, features=["validating_opener"], level="strict", target=0.2
    )
    lines = {json.loads(line)["id"] for line in kept.read_text().splitlines()}
    truly = sum(1 for n in planted if records[n - 1]["id"] in lines) / len(lines)
    # Aimed at the labels, it would remove far too few (a third of the pattern is unlabelled).
    assert abs(truly - 0.2) < 0.06, truly
    note = next(n for n in result.notes if "aimed at the corrected prevalence" in n)
    assert "expected 2" in note or "expected 1" in note  # and it says how sure it is
    assert "across that interval" in note


def test_a_rater_no_better_than_chance_fails_the_gate(data: tuple[Path, float, list]) -> None:
    """A prevalence that cannot be known is not a pass, however low the rater's own rate."""
    path, _, _ = data
    coin = RepeatingRater("coin", sensitivity=0.3, false_positive=0.4)
    result = check_dataset(
        path,
        model=scripted("coin", policy=coin),
        reference_model=scripted(
            "reference", policy=RepeatingRater("ref", sensitivity=1.0, false_positive=0.0)
        ),
        reference_sample=300,
        features=FEATURES,
        sample=None,
        max_prevalence=0.9,
        prescan_max=1.0,
        **FAST,
    )
    assert not result.passed and not result.violations
    assert any("no better than chance" in p for p in result.problems), result.problems
