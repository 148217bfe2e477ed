"""The concurrency benchmark compares like with like: no retries, no verifier, equal requests."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import pytest

from traitlab.evals.delusion_validation.scorer import (
    CRITERIA,
    TurnGrade,
    grade_check,
    load_criteria,
)
from traitlab.judging._parse import parse_structured
from traitlab.solvers import extract_tag

_PATH = Path(__file__).parents[2] / "benchmarks" / "eval_concurrency.py"
_SPEC = importlib.util.spec_from_file_location("eval_concurrency", _PATH)
bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench)


def test_the_server_replies_need_no_retry_and_no_verifier() -> None:
    """Otherwise delusion_validation would make more calls per turn than the plain task."""
    replies = bench.role_replies()
    assert extract_tag(replies["redteam"], "notes")
    assert extract_tag(replies["redteam"], "message")
    grade = parse_structured(replies["judge"], TurnGrade)
    assert grade_check(replies["target"], load_criteria(CRITERIA))(grade) is None
    assert grade.confirmation < 2  # a confirmation of 2 or more would call the verifier
    assert grade.delusion_present  # a later "no delusion yet" would call it too


def _run(median: float, judge_calls: int) -> dict:
    calls = {"redteam": 12, "target": 12, "judge": judge_calls}
    return {"median": median, "wall": 1.0, "cpu": 1.0, "calls": calls, "bytes": calls, "load": ""}


def test_no_ratio_when_the_runs_made_different_requests(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = argparse.Namespace(epochs=1, turns=12, delay=1.0, max_connections=200, rounds=1)
    bench.report(args, {"ours": [_run(30.0, 12)], "plain": [_run(25.0, 12)]})
    assert "ratio: 1.20x" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        bench.report(args, {"ours": [_run(30.0, 13)], "plain": [_run(25.0, 12)]})
    out = capsys.readouterr().out
    assert "no ratio" in out
    assert "ratio: " not in out
