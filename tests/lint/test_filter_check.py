"""filter removes exactly the labelled items (never touching the input); check gates on them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.helpers import scripted
from tests.lint.helpers import DEEPER, VALIDATION, LintPolicy, planted_chats
from traitlab.errors import InputError
from traitlab.lint import lint_dataset
from traitlab.lint.check import check_dataset, check_report
from traitlab.lint.filter import filter_dataset, load_report

FEATURES = Path(__file__).parent / "features.json"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def linted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[dict]]:
    """A dataset autorated in full against the two features, with its report directory."""
    root = tmp_path_factory.mktemp("lint")
    data = root / "data.jsonl"
    records = planted_chats(data, 150, opening=0.3, closing=0.4, seed=11)
    lint_dataset(
        data,
        model=scripted("rate", policy=LintPolicy()),
        features=FEATURES,
        out_dir=root / "report",
        sample=None,
        clusters=False,
        cache=False,
        show_progress=False,
    )
    return data, root / "report", records


def contents(path: Path) -> list[str]:
    return [json.loads(line)["messages"][-1]["content"] for line in path.read_text().splitlines()]


def test_filter_removes_exactly_the_labelled_items(
    linted: tuple[Path, Path, list[dict]], tmp_path: Path
) -> None:
    data, report, records = linted
    before = digest(data)
    result = filter_dataset(data, report, tmp_path / "out.jsonl", features=["validating_opener"])
    kept = contents(tmp_path / "out.jsonl")
    expected = [
        r["messages"][-1]["content"]
        for r in records
        if "validation" not in r["metadata"]["planted"]
    ]
    assert kept == expected
    assert result.removed == result.removed_by["validating_opener"] == len(records) - len(kept)
    assert digest(data) == before


def test_filter_by_a_prescan_finding_and_two_features(
    linted: tuple[Path, Path, list[dict]], tmp_path: Path
) -> None:
    data, report, records = linted
    closing_id = "closing_" + "_".join(DEEPER.lower().rstrip("?").split())
    filter_dataset(data, report, tmp_path / "a.jsonl", features=[closing_id])
    assert all(DEEPER not in text for text in contents(tmp_path / "a.jsonl"))
    filter_dataset(
        data, report, tmp_path / "b.jsonl", features=["validating_opener", "offer_to_go_deeper"]
    )
    kept = contents(tmp_path / "b.jsonl")
    assert kept == [r["messages"][-1]["content"] for r in records if not r["metadata"]["planted"]]


def test_filter_downsamples_to_a_target_prevalence(
    linted: tuple[Path, Path, list[dict]], tmp_path: Path
) -> None:
    data, report, _ = linted
    out = tmp_path / "down.jsonl"
    filter_dataset(data, report, out, features=["validating_opener"], target=0.1, seed=4)
    kept = contents(out)
    share = sum(t.startswith(VALIDATION) for t in kept) / len(kept)
    assert 0.09 <= share <= 0.1  # just enough removed, no more
    again = tmp_path / "again.jsonl"
    filter_dataset(data, report, again, features=["validating_opener"], target=0.1, seed=4)
    assert again.read_text() == out.read_text()


def test_filter_refuses_bad_requests(linted: tuple[Path, Path, list[dict]], tmp_path: Path) -> None:
    data, report, _ = linted
    with pytest.raises(InputError, match="never modified"):
        filter_dataset(data, report, data, features=["validating_opener"])
    with pytest.raises(InputError, match="unknown feature ids"):
        filter_dataset(data, report, tmp_path / "o.jsonl", features=["nope"])
    other = tmp_path / "other.jsonl"
    planted_chats(other, 10, seed=99)
    with pytest.raises(InputError, match="different data"):
        filter_dataset(other, report, tmp_path / "o.jsonl", features=["validating_opener"])
    with pytest.raises(InputError, match="no report.json"):
        filter_dataset(data, tmp_path, tmp_path / "o.jsonl", features=["validating_opener"])


@pytest.mark.parametrize(("threshold", "passed"), [(0.2, False), (0.45, False), (0.6, True)])
def test_check_on_prescan_findings(tmp_path: Path, threshold: float, passed: bool) -> None:
    data = tmp_path / "data.jsonl"
    planted_chats(data, 200, opening=0.3, closing=0.5, seed=2)
    result = check_dataset(data, max_prevalence=threshold, clusters=False)
    assert result.passed is passed
    expected = {f.id for f in result.report.findings if f.gated and f.rate.estimate > threshold}
    assert {v.id for v in result.violations} == expected


def test_check_on_features_uses_the_level_and_its_threshold(
    linted: tuple[Path, Path, list[dict]],
) -> None:
    data, _, records = linted
    opening = sum("validation" in r["metadata"]["planted"] for r in records) / len(records)
    result = check_dataset(
        data,
        max_prevalence=opening - 0.01,
        prescan_max=1.0,
        features=FEATURES,
        model=scripted("rate", policy=LintPolicy()),
        sample=None,
        clusters=False,
        cache=False,
        show_progress=False,
    )
    assert "validating_opener" in {v.id for v in result.violations}
    assert all(v.source.startswith("autorate") for v in result.violations)
    relaxed = check_report(result.report, max_prevalence=0.99, prescan_max=1.0)
    assert relaxed == []
    with pytest.raises(InputError, match="needs a model"):
        check_dataset(data, features=FEATURES)


def test_a_report_with_nothing_rated_still_writes_and_reads_back(tmp_path: Path) -> None:
    data = tmp_path / "data.jsonl"
    planted_chats(data, 12, seed=1)
    report = lint_dataset(
        data,
        model=scripted("rate", policy=LintPolicy(garble=" ")),
        features=FEATURES,
        out_dir=tmp_path / "report",
        sample=None,
        clusters=False,
        cache=False,
        show_progress=False,
    )
    assert report.rated == 0 and report.unrated == 12
    assert check_report(report, max_prevalence=0.0, prescan_max=1.0) == []
    assert load_report(tmp_path / "report").features[0].strict.n == 0


def test_check_an_existing_report(linted: tuple[Path, Path, list[dict]], tmp_path: Path) -> None:
    data, report, records = linted
    opening = sum("validation" in r["metadata"]["planted"] for r in records) / len(records)
    result = check_dataset(data, max_prevalence=opening - 0.01, prescan_max=1.0, report_dir=report)
    assert [v.id for v in result.violations if v.id == "validating_opener"]
    assert check_dataset(data, max_prevalence=0.99, report_dir=report).passed
    other = tmp_path / "other.jsonl"
    planted_chats(other, 10, seed=98)
    with pytest.raises(InputError, match="different data"):
        check_dataset(other, report_dir=report)


def test_labels_are_built_row_by_row_and_read_back_the_same(tmp_path: Path) -> None:
    data = tmp_path / "data.jsonl"
    planted_chats(data, 60, opening=0.3, closing=0.4, seed=5)
    report = lint_dataset(
        data,
        model=scripted("rate", policy=LintPolicy()),
        features=FEATURES,
        out_dir=tmp_path / "report",
        sample=20,
        clusters=False,
        probe=False,
        cache=False,
        show_progress=False,
    )
    rows = list(report.labels)
    assert len(rows) == len(report.labels) == report.n_items == 60
    assert report.labels[7] == rows[7] and report.labels[-1] == rows[-1]
    # Pre-scan findings label every item; the rater's labels only the rated ones.
    assert sum(row.rated for row in rows) == 20
    assert any(row.labels for row in rows if not row.rated)
    assert any(set(row.labels) - {f.id for f in report.all_findings()} for row in rows)
    lines = (tmp_path / "report" / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines == [row.model_dump_json(exclude_none=True) for row in rows]
    assert list(load_report(tmp_path / "report", data).labels) == rows


def test_filter_copies_kept_lines_byte_for_byte(tmp_path: Path) -> None:
    """A byte-order mark and CRLF line endings survive the filter, as the README promises."""
    plain = tmp_path / "plain.jsonl"
    planted_chats(plain, 60, opening=0.3, closing=0.0, seed=7)
    lines = plain.read_bytes().split(b"\n")[:-1]
    data = tmp_path / "windows.jsonl"
    data.write_bytes(b"\xef\xbb\xbf" + b"".join(line + b"\r\n" for line in lines))
    out = tmp_path / "report"
    lint_dataset(data, out_dir=out, clusters=False, show_progress=False)
    finding = next(
        f["id"]
        for f in json.loads((out / "report.json").read_text())["findings"]
        if f["kind"] == "opening"
    )
    kept = tmp_path / "kept.jsonl"
    result = filter_dataset(data, out, kept, features=[finding])
    content = kept.read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")
    written = content[3:].split(b"\r\n")
    assert written[-1] == b"" and b"\n" not in b"".join(written)
    assert set(written[:-1]) <= set(lines) and len(written) - 1 == result.kept
    assert result.removed > 0
