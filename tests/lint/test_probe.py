"""Probe labels: a small rated sample labels the whole set, and filter trusts only good probes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers import scripted
from tests.lint.helpers import VALIDATION, LintPolicy, planted_chats
from traitlab.cli import app
from traitlab.errors import InputError
from traitlab.lint import filter_dataset, lint_dataset
from traitlab.lint.filter import load_report

FEATURES = Path(__file__).parent / "features.json"
runner = CliRunner()
FAST = {"clusters": False, "cache": False, "show_progress": False}


class CoinFlipOnDeeper(LintPolicy):
    """Rates the opener from the text, and the offer to go deeper by a coin flip (a rater
    whose labels no probe can learn)."""

    def __call__(self, messages, tools, config):  # type: ignore[no-untyped-def]
        reply = json.loads(super().__call__(messages, tools, config))
        digest = hashlib.sha256(messages[0].text.encode()).digest()
        reply["ratings"]["offer_to_go_deeper"] = "strict" if digest[0] % 2 else "none"
        return json.dumps(reply)


@pytest.fixture(scope="module")
def linted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[dict]]:
    """300 chats, 80 of them rated; the opener is learnable, the coin-flip rating is not."""
    root = tmp_path_factory.mktemp("probe")
    data = root / "data.jsonl"
    records = planted_chats(data, 300, opening=0.3, closing=0.4, seed=21)
    lint_dataset(
        data,
        model=scripted("coin", policy=CoinFlipOnDeeper()),
        features=FEATURES,
        out_dir=root / "report",
        sample=80,
        recheck=0,
        **FAST,
    )
    return data, root / "report", records


def opens(record: dict) -> bool:
    return record["messages"][1]["content"].startswith(VALIDATION)


@pytest.mark.slow
def test_the_probe_labels_a_planted_pattern_across_the_whole_set(
    linted: tuple[Path, Path, list[dict]],
) -> None:
    data, report_dir, records = linted
    report = load_report(report_dir, data)
    opener = next(r for r in report.features if r.feature.id == "validating_opener")
    probe = opener.probe("strict")
    assert probe is not None and probe.rated == 80 and probe.unrated == 220
    assert probe.precision.low > 0.8 and probe.recall.low > 0.8
    unrated = [row for row in report.labels if not row.rated]
    assert len(unrated) == 220
    # Probe labels are kept apart from the rater's, and right on the items nobody rated.
    assert not any("validating_opener" in row.labels for row in unrated)
    right = sum(("validating_opener" in row.probe) == opens(records[row.index]) for row in unrated)
    assert right / len(unrated) > 0.97
    stored = [json.loads(line) for line in (report_dir / "labels.jsonl").read_text().splitlines()]
    assert any(row["probe"] for row in stored)
    saved = json.loads((report_dir / "report.json").read_text())
    assert saved["features"][0]["probes"][0]["precision"]["n"] > 0
    assert "Probes: labels for the unrated items" in (report_dir / "report.md").read_text()

    result = filter_dataset(
        data, report_dir, report_dir.parent / "out.jsonl", features=["validating_opener"]
    )
    kept = [json.loads(line) for line in result.out.read_text().splitlines()]
    # The whole set was filtered, not only the 80 rated records.
    assert sum(map(opens, records)) - 3 <= result.removed <= sum(map(opens, records)) + 3
    assert sum(map(opens, kept)) <= 3
    assert any("probe labels for the rest" in note for note in result.notes)


def test_a_probe_with_poor_agreement_is_not_used_by_filter(
    linted: tuple[Path, Path, list[dict]],
) -> None:
    data, report_dir, _ = linted
    report = load_report(report_dir, data)
    deeper = next(r for r in report.features if r.feature.id == "offer_to_go_deeper")
    probe = deeper.probe("strict")
    assert probe is not None and probe.precision.low < 0.8
    result = filter_dataset(
        data, report_dir, report_dir.parent / "deeper.jsonl", features=["offer_to_go_deeper"]
    )
    rated_labelled = sum("offer_to_go_deeper" in row.labels for row in report.labels if row.rated)
    assert result.removed == rated_labelled  # only rated records: the probe's guesses unused
    assert any("does not clear the thresholds" in note for note in result.notes)
    assert result.removed <= report.rated < report.n_items


def test_probe_thresholds_are_the_users(linted: tuple[Path, Path, list[dict]]) -> None:
    data, report_dir, _ = linted
    strict = filter_dataset(
        data,
        report_dir,
        report_dir.parent / "never.jsonl",
        features=["validating_opener"],
        probe_min_precision=1.0,
    )
    assert strict.removed < 40  # the rated sample's share only (about 24 of 80)
    with pytest.raises(InputError, match="probe-min-recall"):
        filter_dataset(
            data,
            report_dir,
            report_dir.parent / "bad.jsonl",
            features=["validating_opener"],
            probe_min_recall=1.5,
        )


def test_filter_takes_the_probe_thresholds_on_the_command_line(
    linted: tuple[Path, Path, list[dict]],
) -> None:
    data, report_dir, _ = linted
    command = ["lint", "filter", str(data), "--report", str(report_dir)]
    command += ["--feature", "validating_opener", "--overwrite", "-o"]
    used = runner.invoke(app, [*command, str(report_dir.parent / "cli.jsonl")])
    assert used.exit_code == 0 and "probe labels for the rest" in used.output, used.output
    unused = runner.invoke(
        app, [*command, str(report_dir.parent / "cli.jsonl"), "--probe-min-recall", "1"]
    )
    assert unused.exit_code == 0 and "does not clear the thresholds" in unused.output


@pytest.mark.slow
def test_a_probe_sees_where_in_a_reply_a_sentence_sits(tmp_path: Path) -> None:
    """Every reply holds the same apology; the pattern is that it comes first. An average over
    the words cannot tell the two apart; the first sentence's embedding can."""
    import random

    from tests.lint.helpers import sentence
    from traitlab.lint import read_items, rubric_feature, train_probes

    rng = random.Random(4)
    apology = "I am so sorry about the trouble this caused."
    rows = []
    for index in range(240):
        body = [sentence(rng) for _ in range(3)]
        parts = [apology, *body] if index % 2 else [*body, apology]
        rows.append({"id": f"a{index}", "text": " ".join(parts)})
    data = tmp_path / "docs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    items = read_items(data).items
    feature = rubric_feature("The reply opens with an apology.", name="Apology first", id="first")
    rated = {i.index: {"first": "strict" if i.text.startswith(apology) else "none"} for i in items}
    ratings = {index: rated[index] for index in list(rated)[:160]}
    result = train_probes(items, ratings, [feature], seed=1)
    strict = next(p for p in result.agreement["first"] if p.level == "strict")
    assert strict.precision.low > 0.85 and strict.recall.low > 0.85, strict.format()
    labelled = {i for i, labels in result.labels.items() if labels.get("first") == "strict"}
    truth = {i for i in rated if i not in ratings and rated[i]["first"] == "strict"}
    assert len(labelled ^ truth) <= 4
