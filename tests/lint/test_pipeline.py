"""The LLM stages end to end with a scripted model: scan, cluster, merge, autorate, report."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.helpers import scripted
from tests.lint.helpers import DEEPER, VALIDATION, LintPolicy, planted_chats
from traitlab.errors import InputError
from traitlab.lint import lint_dataset, load_features

FEATURES = Path(__file__).parent / "features.json"
FAST = {"clusters": False, "cache": False, "show_progress": False}


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, list[dict]]:
    path = tmp_path / "data.jsonl"
    return path, planted_chats(path, 120, opening=0.3, closing=0.4, seed=3)


@pytest.mark.slow
def test_pipeline_finds_features_and_their_prevalences(
    data: tuple[Path, list[dict]], tmp_path: Path, no_network: None
) -> None:
    path, records = data
    policy = LintPolicy()
    report = lint_dataset(
        path,
        model=scripted("lint", policy=policy),
        out_dir=tmp_path / "report",
        sample=None,
        batch_tokens=800,
        max_batches=6,
        **FAST,
    )
    # The idiosyncratic pattern of the first scan is dropped (seen in one scan only).
    assert policy.scans == 6
    assert [r.feature.name for r in report.features] == ["Validating opener", "Offer to go deeper"]
    truth = {
        "Validating opener": sum("validation" in r["metadata"]["planted"] for r in records),
        "Offer to go deeper": sum("deeper" in r["metadata"]["planted"] for r in records),
    }
    for result in report.features:
        assert result.strict.count == truth[result.feature.name]
        assert result.strict.n == 120 and result.broad.count == result.strict.count
        assert result.strict.low <= result.strict.estimate <= result.strict.high
        assert result.feature.provenance.scans == 6
    # One autorate call per item, one scan per batch, one merge per feature; 100 items rated
    # against every reported wording to group them; 40 rated items are rated again, uncached,
    # to measure the rater's own error.
    calls = {row.stage: row.calls for row in report.usage}
    assert calls == {"scan": 6, "group": 100, "merge": 2, "autorate": 120, "recheck": 40}

    out = tmp_path / "report"
    assert {p.name for p in out.iterdir()} >= {
        "report.html",
        "report.md",
        "report.json",
        "features.json",
        "labels.jsonl",
    }
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "Validating opener" in html
    assert "http" not in html.replace("http-equiv", "")
    assert "Offer to go deeper" in (out / "report.md").read_text()
    assert load_features(out / "features.json").ids == [r.feature.id for r in report.features]
    labels = [json.loads(line) for line in (out / "labels.jsonl").read_text().splitlines()]
    assert len(labels) == 120 and all(row["rated"] for row in labels)
    opener_id = report.features[0].feature.id
    assert [row["index"] for row in labels if opener_id in row["labels"]] == [
        i for i, r in enumerate(records) if "validation" in r["metadata"]["planted"]
    ]
    assert report.top_patterns(1)[0][0] in truth


@pytest.mark.slow
def test_autorate_a_sample_against_given_features(data: tuple[Path, list[dict]]) -> None:
    path, records = data
    report = lint_dataset(
        path,
        model=scripted("rate", policy=LintPolicy()),
        features=FEATURES,
        sample=50,
        seed=1,
        **FAST,
    )
    rated = [row for row in report.labels if row.rated]
    assert report.rated == len(rated) == 50
    calls = {row.stage: row.calls for row in report.usage}
    assert calls == {"autorate": 50, "recheck": 40}  # no scan or merge; calls <= 1.1 x sample
    opener = report.features[0]
    expected = sum(
        records[row.index]["messages"][1]["content"].startswith(VALIDATION) for row in rated
    )
    assert opener.strict.count == expected and opener.strict.n == 50


@pytest.mark.slow
def test_unparseable_ratings_are_unrated_not_none(data: tuple[Path, list[dict]]) -> None:
    path, records = data
    garbled = sum(DEEPER in r["messages"][1]["content"] for r in records)
    report = lint_dataset(
        path,
        model=scripted("rate", policy=LintPolicy(garble=DEEPER)),
        features=FEATURES,
        sample=None,
        **FAST,
    )
    assert report.unrated == garbled and report.rated == 120 - garbled
    deeper = report.features[1]
    assert deeper.strict.count == 0 and deeper.strict.n == 120 - garbled
    assert any(note.startswith("unrated:") for note in report.notes)
    # Each unusable reply was retried twice: 3 calls for those items.
    calls = {row.stage: row.calls for row in report.usage}
    assert calls["autorate"] == 120 + 2 * garbled


@pytest.mark.slow
def test_long_items_are_truncated_for_the_scan_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    planted_chats(path, 20, seed=5)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[0]["messages"][1]["content"] += " filler" * 2000
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = lint_dataset(
        path,
        model=scripted("lint", policy=LintPolicy()),
        sample=5,
        min_scans=1,
        **FAST,
    )
    assert any("1 items longer than 2000 characters were truncated" in n for n in report.notes)


def test_an_empty_autorate_sample_is_refused(data: tuple[Path, list[dict]]) -> None:
    path, _ = data
    with pytest.raises(InputError, match="sample: .*greater than or equal to 1"):
        lint_dataset(
            path, model=scripted("rate", policy=LintPolicy()), features=FEATURES, sample=0, **FAST
        )


@pytest.mark.slow
def test_a_rerun_is_served_from_inspects_cache(
    data: tuple[Path, list[dict]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSPECT_CACHE_DIR", str(tmp_path / "cache"))
    path, _ = data
    policy = LintPolicy()
    calls = 0

    def counting(messages, tools, config):
        nonlocal calls
        calls += 1
        return policy(messages, tools, config)

    options = {**FAST, "cache": True, "sample": 30, "features": FEATURES, "recheck": 0}
    first = lint_dataset(path, model=scripted("cached", policy=counting), **options)
    assert calls == 30
    second = lint_dataset(path, model=scripted("cached", policy=counting), **options)
    assert calls == 30  # nothing paid twice
    assert [r.strict for r in second.features] == [r.strict for r in first.features]
    # the report counts the replays apart from paid calls
    assert [(u.calls, u.cached_calls) for u in first.usage] == [(30, 0)]
    assert [(u.calls, u.cached_calls) for u in second.usage] == [(0, 30)]


@pytest.mark.slow
def test_two_policies_under_one_model_name_do_not_share_cached_answers(
    data: tuple[Path, list[dict]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSPECT_CACHE_DIR", str(tmp_path / "cache"))
    path, records = data
    options = {**FAST, "cache": True, "sample": None, "features": FEATURES}
    honest = lint_dataset(path, model=scripted("same", policy=LintPolicy()), **options)
    garbling = LintPolicy(garble=DEEPER)
    garbled = lint_dataset(path, model=scripted("same", policy=garbling), **options)
    assert honest.unrated == 0
    assert garbled.unrated == sum(DEEPER in r["messages"][1]["content"] for r in records) > 0


class NoisyRater(LintPolicy):
    """Rates like LintPolicy, then flips each rating with probability `noise` (seeded)."""

    def __init__(self, noise: float) -> None:
        super().__init__()
        self.noise = noise
        self.rng = random.Random(0)

    def __call__(self, messages, tools, config):  # type: ignore[no-untyped-def]
        reply = json.loads(super().__call__(messages, tools, config))
        flip = {"strict": "none", "none": "strict"}
        for key, level in reply["ratings"].items():
            if self.rng.random() < self.noise:
                reply["ratings"][key] = flip[level]
        return json.dumps(reply)


def test_a_re_rating_measures_consistency_and_corrects_nothing(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    planted_chats(path, 300, opening=0.05, closing=0.4, seed=12)
    report = lint_dataset(
        path,
        model=scripted("noisy", policy=NoisyRater(0.1)),
        features=FEATURES,
        sample=None,
        recheck=300,
        **FAST,
    )
    opener = report.features[0]
    # Two readings with 10% independent flips agree on about 1 - 2 * 0.1 * 0.9 = 82%.
    assert abs(opener.consistency["strict"] - 0.82) < 0.07
    assert opener.corrected_strict is None  # no reference: no correction
    assert opener.gated_rate("strict") is opener.strict
    assert "uncorrected" in (report.correction_line() or "")


def test_the_terminal_says_how_much_the_scan_read_and_when_it_found_nothing(
    data: tuple[Path, list[dict]], tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from traitlab.cli import app

    path, _ = data
    quiet = tmp_path / "quiet.py"
    quiet.write_text("def policy(messages, tools, config):\n    return '{\"patterns\": []}'\n")
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        args = ["lint", str(path), "-o", str(tmp_path / "r"), "--no-clusters", "--no-cache"]
        args += ["--model", "scripted/quiet", "-M", "policy=quiet:policy", "--max-batches", "1"]
        args += ["--batch-tokens", "400"]
        result = CliRunner().invoke(app, args)
    finally:
        sys.path.remove(str(tmp_path))
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "the scan read" in output and "of 120 items" in output
    assert "no LLM feature was found" in output
