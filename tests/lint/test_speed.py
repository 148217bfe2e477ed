"""What the speed work on the offline lint must not change, and what it must not load.

`templated.json` holds what the lint reported on phrase-heavy data before that work (findings
with their exact members, length statistics, labels.jsonl's hash): every faster path must
report the same. Regenerate it only for a change that is meant to alter the report, with
``python -m tests.lint.test_speed``.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.lint.helpers import templated_chats
from traitlab.errors import InputError
from traitlab.lint import Finding, Rate, lint_dataset
from traitlab.lint.items import ItemStore, LintItem, read_items
from traitlab.lint.labels import LabelRows
from traitlab.lint.plots import Plotter, draw
from traitlab.lint.prescan import Prescan, PrescanConfig
from traitlab.lint.report import plot_specs

EXPECTED = Path(__file__).parent / "templated.json"


def _summary(findings: list[Any], length: Any) -> dict[str, Any]:
    return {
        "findings": [
            {
                "id": f.id,
                "kind": f.kind,
                "count": f.rate.count,
                "n": f.rate.n,
                "examples": f.examples,
                "members": hashlib.sha256(json.dumps(f.members).encode()).hexdigest()[:16],
            }
            for f in findings
        ],
        "length": length.model_dump(),
    }


def _outputs(tmp: Path) -> dict[str, Any]:
    """The lint's report of a small templated file (every item in the phrase sample), and the
    pre-scan's of the same file read by two workers in small chunks from a phrase sample of
    500 records (candidates chosen on a sample, counted exactly)."""
    data = tmp / "templated.jsonl"
    templated_chats(data, 3000)
    out = tmp / "report"
    report = lint_dataset(data, clusters=False, out_dir=out, show_progress=False)
    labels = hashlib.sha256((out / "labels.jsonl").read_bytes()).hexdigest()
    scan = Prescan(PrescanConfig(cluster=False, phrase_sample=500))
    items = read_items(data, scan=scan, workers=2, chunk_bytes=1 << 16)
    findings, length, _ = scan.finish(items.items)
    return {
        "lint": {**_summary(report.findings, report.length), "labels": labels},
        "sampled": _summary(findings, length),
    }


@pytest.mark.slow
def test_templated_report_is_unchanged(tmp_path: Path) -> None:
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    found = json.loads(json.dumps(_outputs(tmp_path)))
    assert found["lint"]["findings"], "the templated data has findings to compare"
    assert found == expected


def test_offline_lint_does_not_import_inspect(tmp_path: Path) -> None:
    """The pre-scan without a model never loads Inspect (over a second of start-up), nor
    YAML (only prompt overrides, rubric files and -M values are YAML)."""
    data = tmp_path / "data.jsonl"
    templated_chats(data, 50)
    code = (
        "import sys\n"
        "from traitlab.lint.cli import lint_app\n"
        f"lint_app(['run', {str(data)!r}, '--no-clusters', '-o', {str(tmp_path / 'out')!r}],"
        " standalone_mode=False)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('inspect_ai', 'yaml')))\n"
    )
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert (tmp_path / "out" / "report.json").exists()
    assert child.stdout.strip().splitlines()[-1] == "[]"


def test_labels_lines_are_the_rows_encoded() -> None:
    """labels.jsonl is written from each row's parts: it must read back as the rows, byte for
    byte as encoding them would give (odd ids, no line or turn, several findings, ratings with
    a "none" level, probe labels)."""
    ids = ["a", 'quote "q"', "caf\u00e9 \u2014 \U0001f600", "back\\slash", "line\nbreak", "x"]
    items = [
        LintItem(i, ids[i % len(ids)], ["text"], None if i % 4 == 0 else i + 1, None, i % 2,
                 None if i % 3 == 0 else i % 3)
        for i in range(40)
    ]  # fmt: skip

    def finding(name: str, members: list[int]) -> Finding:
        rate = Rate.of(len(members), len(items))
        return Finding(id=name, kind="phrase", text=name, rate=rate, members=members)

    findings = [finding("f1", list(range(0, 40, 2))), finding("f2", list(range(0, 40, 3)))]
    ratings = {1: {"v": "strict", "w": "none"}, 6: {"v": "broad"}}
    probe = {5: {"v": "broad"}, 6: {"w": "strict"}}
    rows = LabelRows(items, findings, ratings, probe)
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    expected = [encode(row) + "\n" for row in rows.rows()]
    assert list(rows.json_lines()) == expected
    assert [json.loads(line) for line in expected][6]["labels"] == {
        "f1": "strict", "f2": "strict", "v": "broad"
    }  # fmt: skip


@pytest.mark.parametrize("odd", [False, True])
def test_a_stores_unrated_labels_lines_are_the_rows_encoded(odd: bool) -> None:
    """The offline lint's rows (a store, nothing rated or probed) are written by a quicker
    path: the same bytes, for ids that need escaping or not, and for any range of rows."""
    ids = ['quote "q"', "line\nbreak", "back\\slash"] if odd else ["a", "caf\u00e9 \U0001f600"]
    store = ItemStore([], [])
    for i in range(30):
        store.ids.append(f"{ids[i % len(ids)]}{i}")
        store.sources.append(i % 2)
        store.lines.append(i + 1)
        store.turns.append(i % 3 - 1)
    findings = [
        Finding(id=name, kind="phrase", text=name, rate=Rate.of(len(m), 30), members=m)
        for name, m in (("f1", list(range(0, 30, 2))), ("f2", list(range(0, 30, 3))))
    ]
    rows = LabelRows(store, findings, {}, {})
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    expected = [encode(row) + "\n" for row in rows.rows()]
    assert list(rows.json_lines()) == expected
    assert list(rows.json_lines(7, 19)) == expected[7:19]
    assert list(rows.json_lines(25, 99)) == expected[25:]


@pytest.mark.parametrize("child_fails", [False, True])
def test_labels_written_by_two_processes_are_the_file_one_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, child_fails: bool
) -> None:
    """Past a size, a forked process writes labels.jsonl's second half; the file and its hash
    are those of one process writing it all, and a child that fails leaves the rest to this one
    (no ".rest" file left behind either way)."""
    from traitlab.lint import report as report_module

    items = [LintItem(i, f"r{i}", ["text"], i + 1) for i in range(101)]
    findings = [
        Finding(id="f", kind="phrase", text="f", rate=Rate.of(3, 101), members=[0, 50, 100])
    ]
    rows = LabelRows(items, findings, {}, {})
    expected = "".join(rows.json_lines()).encode()
    monkeypatch.setattr(report_module, "_SPLIT_ROWS", 10)
    if child_fails:
        monkeypatch.setattr(report_module, "_write_rows", lambda *args: sys.exit(3))
    path = tmp_path / "labels.jsonl"
    digest = report_module._write_labels(rows, path)
    assert path.read_bytes() == expected
    assert digest == hashlib.sha256(expected).hexdigest()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.jsonl"]


def test_a_tally_counted_before_the_plan_is_completed_on_merging(tmp_path: Path) -> None:
    """A worker that counts its chunk before the candidate phrases are published sends it back
    with its tokens (it never waits for the plan); the merge completes it, to the findings of
    tallies made after the plan."""
    data = tmp_path / "data.jsonl"
    templated_chats(data, 400)
    items = read_items(data).items

    def findings(before: bool) -> list[tuple[str, list[int]]]:
        scan = Prescan(PrescanConfig(cluster=False, phrase_sample=100))
        tallies = [scan.tally() for _ in range(2)] if before else []
        scan.plan([items[i] for i in range(0, 400, 4)], complete=False)
        tallies = tallies or [scan.tally() for _ in range(2)]
        for tally, part in zip(tallies, (items[:150], items[150:]), strict=True):
            for item in part:
                tally.add(item)
            tally.count()
            scan.merge(pickle.loads(pickle.dumps(tally)))  # as from a worker
        return [(f.id, f.members) for f in scan.finish(items)[0]]

    found = findings(before=True)
    assert any(f.startswith("phrase_") for f, _ in found)
    assert found == findings(before=False)


def test_a_plotter_started_before_draws_the_plots_drawn_here(tmp_path: Path) -> None:
    """The lint starts its plotter before reading: the report embeds the plots this process
    draws from the same report, and no plotter process is left once it is written."""
    data = tmp_path / "data.jsonl"
    templated_chats(data, 300)
    report = lint_dataset(data, clusters=False, out_dir=tmp_path / "out", show_progress=False)
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    plots = draw(plot_specs(report))
    assert plots and all(f"base64,{png}'" in html for _, png in plots)
    assert not multiprocessing.active_children()


def test_a_plotter_whose_child_died_draws_here(tmp_path: Path) -> None:
    data = tmp_path / "data.jsonl"
    templated_chats(data, 300)
    report = lint_dataset(data, clusters=False, show_progress=False)
    plotter = Plotter().start()
    child = multiprocessing.active_children()[0]
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    specs = plot_specs(report)
    assert specs and plotter.draw(specs)() == draw(specs)


def test_a_lint_that_fails_leaves_no_plotter(tmp_path: Path) -> None:
    data = tmp_path / "empty.jsonl"
    data.write_text("\n", encoding="utf-8")
    with pytest.raises(InputError):
        lint_dataset(data, clusters=False, out_dir=tmp_path / "out", show_progress=False)
    assert not multiprocessing.active_children()


@pytest.mark.parametrize("unit", ["reply", "nonsense"])
def test_the_lint_command_leaves_no_plotter(tmp_path: Path, unit: str) -> None:
    """`traitlab lint` starts its plotter before it loads the lint: it is used for the report,
    or stopped when the command fails first (here on a bad option)."""
    from typer.testing import CliRunner

    from traitlab.cli import app

    data = tmp_path / "data.jsonl"
    templated_chats(data, 200)
    out = tmp_path / "out"
    args = ["lint", str(data), "--no-clusters", "--unit", unit, "-o", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == (0 if unit == "reply" else 2), result.output
    assert (out / "report.html").exists() == (unit == "reply")
    assert not multiprocessing.active_children()


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        EXPECTED.write_text(json.dumps(_outputs(Path(tmp)), indent=1) + "\n", encoding="utf-8")
