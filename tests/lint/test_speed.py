"""What the speed work on the offline lint must not change, and what it must not load.

`templated.json` holds what the lint reported on phrase-heavy data before that work (findings
with their exact members, length statistics, labels.jsonl's hash): every faster path must
report the same. Regenerate it only for a change that is meant to alter the report, with
``python -m tests.lint.test_speed``.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.lint.helpers import templated_chats
from traitlab.lint import lint_dataset
from traitlab.lint.items import read_items
from traitlab.lint.prescan import Prescan, PrescanConfig

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
    """The pre-scan without a model never loads Inspect (over a second of start-up)."""
    data = tmp_path / "data.jsonl"
    templated_chats(data, 50)
    code = (
        "import sys\n"
        "from traitlab.lint.cli import lint_app\n"
        f"lint_app(['run', {str(data)!r}, '--no-clusters', '-o', {str(tmp_path / 'out')!r}],"
        " standalone_mode=False)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'inspect_ai'))\n"
    )
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert (tmp_path / "out" / "report.json").exists()
    assert child.stdout.strip().splitlines()[-1] == "[]"


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        EXPECTED.write_text(json.dumps(_outputs(Path(tmp)), indent=1) + "\n", encoding="utf-8")
