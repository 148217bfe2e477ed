"""The README's offline walk (generate -> lint -> train -> eval -> report) runs as written."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("trl")

ROOT = Path(__file__).resolve().parents[2]
HEADING = "### The whole path offline: generate -> lint -> train -> eval"


def walk_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(HEADING) :]
    return re.search(r"```bash\n(.*?)```", section, re.DOTALL).group(1)  # type: ignore[union-attr]


def test_the_walk_names_every_step() -> None:
    steps = [line.split()[:2] for line in walk_block().strip().splitlines()]
    assert steps == [
        ["traitlab", "generate"],
        ["traitlab", "lint"],
        ["python", "-m"],
        ["traitlab", "train"],
        ["inspect", "eval"],
        ["traitlab", "report"],
    ]


@pytest.mark.slow
def test_the_walk_runs_offline_end_to_end(tmp_path: Path) -> None:
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    bin_dir = Path(sys.executable).parent
    env_path = f"{bin_dir}:/usr/bin:/bin"
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", walk_block()],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
        env={"PATH": env_path, "HOME": str(tmp_path), "HF_HUB_OFFLINE": "1",
             "INSPECT_CACHE_DIR": str(tmp_path / "cache")},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert len((tmp_path / "data" / "sft.jsonl").read_text().splitlines()) >= 20
    assert (tmp_path / "data" / "sft.lint" / "report.json").is_file()
    card = json.loads((tmp_path / "checkpoints" / "tiny-sft" / "run_card.json").read_text())
    assert card["status"] == "complete" and card["losses"]["steps"] == 4
    assert card["data"][0]["path"] == "data/sft.jsonl"
    assert list((tmp_path / "logs").glob("*.eval"))
    assert "tiny-sft" in (tmp_path / "report" / "report.md").read_text()
