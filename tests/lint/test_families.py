"""Nested openings and closings are one family, not several findings that add up."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.lint.helpers import sentence
from traitlab.lint import check_dataset, filter_dataset, lint_dataset
from traitlab.lint.families import fold_families
from traitlab.lint.report import family_text
from traitlab.lint.results import Finding, Rate

VARIANTS = ["Yes.", "No.", "It depends."]


@pytest.fixture
def short_answers(tmp_path: Path) -> Path:
    """ "Short answer: yes/no/it depends." opens 7% of replies each (21% in all)."""
    rng = random.Random(4)
    rows = []
    for index in range(600):
        body = " ".join(sentence(rng) for _ in range(3))
        if index % 100 < 21:
            body = f"Short answer: {VARIANTS[index % 3]} {body}"
        messages = [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": body}]
        rows.append(json.dumps({"id": f"r{index}", "messages": messages}))
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_nested_openings_are_one_family(short_answers: Path, tmp_path: Path) -> None:
    report = lint_dataset(
        short_answers,
        out_dir=tmp_path / "report",
        clusters=False,
        show_progress=False,
    )
    openings = [f for f in report.findings if f.kind == "opening"]
    assert [f.text for f in openings] == ["short answer"]
    family = openings[0]
    assert family.rate.count == 126
    assert sorted(v.text for v in family.variants) == [
        "short answer it depends",
        "short answer no",
        "short answer yes",
    ]
    assert all(v.rate.count == 42 for v in family.variants)
    assert "family: ... " in family_text(family) and "7%" in family_text(family)
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "variant: short answer no" in markdown

    # The gate judges the family once, not each variant besides it.
    result = check_dataset(short_answers, max_prevalence=0.1, clusters=False)
    assert [v.id for v in result.violations if v.source == "pre-scan opening"] == [family.id]

    # A variant keeps its id and its labels: it can be filtered alone.
    no = next(v for v in family.variants if v.text == "short answer no")
    filtered = filter_dataset(
        short_answers, tmp_path / "report", tmp_path / "out.jsonl", features=[no.id]
    )
    assert filtered.removed == 42 and filtered.kept == 558


def finding(kind: str, text: str, count: int) -> Finding:
    return Finding(id=text.replace(" ", "_"), kind=kind, text=text, rate=Rate.of(count, 100))


def test_closings_fold_into_the_shortest_and_other_kinds_pass_through() -> None:
    folded = fold_families(
        [
            finding("closing", "let me know", 30),
            finding("closing", "please let me know", 10),
            finding("closing", "do let me know", 8),
            finding("opening", "let me know", 5),
            finding("phrase", "let me know if", 20),
            finding("closing", "hope this helps", 9),
        ]
    )
    assert [(f.kind, f.text) for f in folded] == [
        ("closing", "let me know"),
        ("opening", "let me know"),
        ("phrase", "let me know if"),
        ("closing", "hope this helps"),
    ]
    assert [v.text for v in folded[0].variants] == ["please let me know", "do let me know"]
    assert family_text(folded[0]).startswith("let me know (family: please ... 10%")
