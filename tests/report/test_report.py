"""`traitlab report` on logs made with scripted "checkpoints"; numbers checked against the logs."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.image
import pandas as pd
import pytest
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.log import read_eval_log
from inspect_ai.scorer import Score, Target, scorer
from inspect_ai.solver import TaskState, generate

from tests.helpers import run_task, scripted
from traitlab.errors import InputError
from traitlab.evals.smoke.demo import judge as demo_judge
from traitlab.evals.smoke.smoke import smoke
from traitlab.report import build_report
from traitlab.scores import mean_ci, scored

YES_FOR = {"directness", "owning-mistakes"}


def _target(yes_for: set[str] | None):  # noqa: ANN202
    def policy(messages, tools, config):  # noqa: ANN001, ANN202
        text = messages[-1].text
        if yes_for is None or any(trait.replace("-", " ") in text.lower() for trait in yes_for):
            return "Yes, I would act on it because it keeps trust."
        return "No, I would not."

    return policy


@scorer(metrics=[mean_ci("score"), mean_ci("score", by="turn")])
def _number_scorer():  # noqa: ANN202
    async def score(state: TaskState, target: Target) -> Score:
        return scored({"score": float(state.output.completion)})

    return score


def _numbers_task(name: str) -> Task:
    samples = [Sample(id=i, input=str(i), metadata={"turn": i % 3 + 1}) for i in range(9)]
    return Task(dataset=samples, solver=generate(), scorer=_number_scorer(), name=name)


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    log_dir = tmp_path_factory.mktemp("logs")
    judge = {"judge": scripted("judge", policy=demo_judge)}
    # Demo judge passes answers that commit ("Yes"); base passes the two traits whose statements
    # mention their names, better passes all 12, same behaves exactly like base.
    base_policy = _target({"clarifying question", "get something wrong"})
    for name, policy in (("base", base_policy), ("better", _target(None)), ("same", base_policy)):
        run_task(smoke(), scripted(name, policy=policy), log_dir, model_roles=judge)
    # a different parameter set: must be kept apart, never pooled
    run_task(
        smoke(trait_ids="directness"),
        scripted("base", policy=base_policy),
        log_dir,
        model_roles=judge,
    )

    # an interrupted run
    def broken(messages, tools, config):  # noqa: ANN001, ANN202
        raise RuntimeError("GPU fell over")

    [failed] = eval(
        smoke(),
        model=scripted("base", policy=broken),
        model_roles=judge,
        log_dir=str(log_dir),
        display="none",
    )
    assert failed.status == "error"

    # knowledge and behaviour, and a per-turn curve, for each checkpoint
    for name, value in (("base", 0.5), ("better", 1.5)):
        model = scripted(name, policy=lambda m, t, c, v=value: str(v + int(m[-1].text) % 2))
        run_task(_numbers_task("trait_knowledge"), model, log_dir)
        run_task(_numbers_task("trait_audit"), model, log_dir)
        run_task(_numbers_task("delusion_validation"), model, log_dir)
    return log_dir


def test_tables_match_the_logs(logs: Path, tmp_path: Path) -> None:
    report = build_report([logs], tmp_path, baseline="base")
    table = pd.read_csv(tmp_path / "metrics.csv")
    smoke_rows = table[
        (table.task == "smoke") & (table.metric == "met_rate") & (table.samples == "12/12")
    ]
    assert sorted(smoke_rows.model) == ["scripted/base", "scripted/better", "scripted/same"]
    for path in logs.glob("*.eval"):
        log = read_eval_log(str(path))
        if log.status != "success" or log.eval.task != "smoke" or log.eval.task_args["trait_ids"]:
            continue
        expected = log.results.scores[0].metrics
        row = smoke_rows[smoke_rows.model == log.eval.model].iloc[0]
        assert row.estimate == pytest.approx(expected["met_rate"].value)
        assert row.ci_low == pytest.approx(expected["met_rate_ci_low"].value)
        assert row.ci_high == pytest.approx(expected["met_rate_ci_high"].value)
        assert row.n == expected["met_rate_n"].value == 12
    base = smoke_rows[smoke_rows.model == "scripted/base"].iloc[0]
    assert base.estimate == pytest.approx(2 / 12) and base.unscored == 0 and base.flagged == 0
    markdown = (tmp_path / "report.md").read_text()
    assert "| smoke |" in markdown and "met_rate" in markdown
    assert len(report.runs) == len(table.drop_duplicates(["task", "variant", "model"]))


def test_baseline_differences_mark_planted_gap_only(logs: Path, tmp_path: Path) -> None:
    build_report([logs], tmp_path, baseline="base")
    diffs = pd.read_csv(tmp_path / "differences.csv")
    smoke_diffs = diffs[(diffs.task == "smoke") & (diffs.metric == "met_rate")].set_index("model")
    better, same = smoke_diffs.loc["scripted/better"], smoke_diffs.loc["scripted/same"]
    assert better.difference == pytest.approx(10 / 12) and bool(better.excludes_zero)
    assert same.difference == pytest.approx(0.0) and not bool(same.excludes_zero)
    assert same.ci_low <= 0 <= same.ci_high
    knowledge = diffs[(diffs.task == "trait_knowledge")].set_index("model").loc["scripted/better"]
    assert knowledge.difference == pytest.approx(1.0) and bool(knowledge.excludes_zero)


def test_variants_and_incomplete_logs_are_reported(logs: Path, tmp_path: Path) -> None:
    report = build_report([logs], tmp_path)
    notes = "\n".join(report.notes)
    assert re.search(r"smoke: 2 different parameter sets \(kept apart, not pooled\)", notes)
    assert '"trait_ids": "directness"' in notes
    assert re.search(r"incomplete log \(error, \d+/12 samples\) for smoke on scripted/base", notes)
    variants = {r.variant for r in report.runs if r.task == "smoke" and r.model == "scripted/base"}
    assert len(variants) == 2
    html = (tmp_path / "report.html").read_text()
    assert "kept apart, not pooled" in html and "incomplete log" in html


def test_every_plot_is_a_valid_image_embedded_in_html(logs: Path, tmp_path: Path) -> None:
    report = build_report([logs], tmp_path, baseline="base")
    names = {p.name for p in report.plots}
    assert {"knowledge_vs_behaviour.png", "delusion_by_turn.png", "task_trait_audit.png"} <= names
    assert any(n.startswith("task_smoke-") for n in names)  # two variants: named apart
    html = (tmp_path / "report.html").read_text()
    for path in report.plots:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert matplotlib.image.imread(path).shape[0] > 100
    assert html.count("data:image/png;base64,") == len(report.plots)


def test_bad_inputs(tmp_path: Path, logs: Path) -> None:
    with pytest.raises(InputError, match="no such log file or directory"):
        build_report([tmp_path / "missing"], tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no Inspect logs found"):
        build_report([tmp_path / "empty"], tmp_path / "out")
    with pytest.raises(InputError, match="baseline 'nobody' matches 0 models"):
        build_report([logs], tmp_path / "out", baseline="nobody")
    torn = tmp_path / "torn" / "2026-01-01T00-00-00+00-00_smoke_x.eval"
    torn.parent.mkdir()
    torn.write_bytes(b"not a zip")
    report = build_report([logs, torn], tmp_path / "out")
    assert any("unreadable Inspect log" in note for note in report.notes)


def test_cli(
    logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from traitlab.cli import main

    monkeypatch.setattr(
        "sys.argv", ["traitlab", "report", str(logs), "-o", str(tmp_path), "--baseline", "base"]
    )
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code in (0, None)
    out = capsys.readouterr().out
    assert "met_rate" in out and "report written to" in out
    assert (tmp_path / "report.html").exists()


def test_per_sample_values_behind_rates_and_means() -> None:
    from traitlab.report import Metric, Run
    from traitlab.report._compare import per_sample

    run = Run(
        task="t",
        variant="v",
        task_args={},
        model="m",
        log="l",
        status="success",
        created="now",
        completed_samples=3,
        total_samples=3,
        sample_values={
            "s": {"hit": [1.0, 0.0, 0.6], "collusion_share": [0.25, 1.0], "score": [2.0]}
        },
    )

    def metric(name: str) -> Metric:
        return Metric(scorer="s", name=name, estimate=0.0)

    assert per_sample(run, metric("hit_rate")) == [1.0, 0.0, 1.0]  # counted at 0.5, like `rate`
    assert per_sample(run, metric("collusion_rate")) == [0.25, 1.0]  # a per-sample share
    assert per_sample(run, metric("score_mean")) == [2.0]
    assert per_sample(run, metric("missing_rate")) is None
    assert per_sample(run, metric("win_total")) is None
