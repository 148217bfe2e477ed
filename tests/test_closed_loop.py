"""The closed loop runs offline and shows its point: filtering the opener out of the SFT data
makes the trained model produce it less, with intervals that say so."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("trl")

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "examples" / "closed_loop" / "run.sh"


@pytest.mark.slow
def test_filtering_the_opener_out_lowers_its_rate(tmp_path: Path) -> None:
    """run.sh with fewer training steps (200, not 400) and 2 replies per prompt, not 3."""
    out = tmp_path / "out"
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(
        ["bash", str(RUN), str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=1500,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT),
             "INSPECT_CACHE_DIR": str(tmp_path / "cache"), "CLOSED_LOOP_STEPS": "200",
             "CLOSED_LOOP_EPOCHS": "2"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    before, after = summary["before"], summary["after"]
    assert before["n"] == after["n"] == 30 * 2
    for rate in (before, after):
        assert rate["low"] <= rate["rate"] <= rate["high"]
    # The model trained on the full set learned the opener (40% of its chats carry it) ...
    assert before["low"] > 0.1
    # ... the one trained on the filtered set did not, and the intervals do not overlap.
    assert after["rate"] < before["rate"] and after["high"] < before["low"]
    assert summary["data"]["full"] == {"share": 0.4, "planted": 32, "records": 80}
    assert summary["data"]["filtered"] == {"share": 0.0, "planted": 0, "records": 48}
    assert (out / "closed_loop.png").read_bytes()[:4] == b"\x89PNG"
    # The lint found the planted opener in exactly the planted records before filtering.
    lint = json.loads((out / "lint" / "report.json").read_text())
    [feature] = [f for f in lint["features"] if f["feature"]["id"] == "validating_opener"]
    assert feature["strict"]["count"] == 32
    cards = [json.loads((out / "checkpoints" / n / "run_card.json").read_text()) for n in
             ("full", "filtered")]  # fmt: skip
    assert [c["losses"]["steps"] for c in cards] == [200, 200]


def test_a_used_output_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text("{}")
    result = subprocess.run(["bash", str(RUN), str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 2 and "not empty" in result.stderr
    assert (tmp_path / "summary.json").read_text() == "{}"
