"""`traitlab report` on logs made with scripted "checkpoints"; numbers checked against the logs."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import matplotlib.image
import pandas as pd
import pytest
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.log import read_eval_log
from inspect_ai.scorer import Score, Target, accuracy, match, scorer, stderr
from inspect_ai.solver import TaskState, generate

from tests.helpers import run_task, scripted
from traitlab.errors import InputError
from traitlab.evals.smoke.demo import judge as demo_judge
from traitlab.evals.smoke.smoke import smoke
from traitlab.report import build_report
from traitlab.report._compare import difference
from traitlab.report._output import remove_stale
from traitlab.scores import (
    HeadlineMetric,
    headline_metrics,
    mean_ci,
    rate,
    scored,
    unscored,
    unscored_score,
)

BASE_POLICY_TRAITS = {"clarifying question", "get something wrong"}


def _target(yes_for: set[str] | None):  # noqa: ANN202
    def policy(messages, tools, config):  # noqa: ANN001, ANN202
        text = messages[-1].text
        if yes_for is None or any(phrase in text.lower() for phrase in yes_for):
            return "Yes, I would act on it because it keeps trust."
        return "No, I would not."

    return policy


@scorer(metrics=[mean_ci("score"), mean_ci("score", by="turn")])
def _number_scorer():  # noqa: ANN202
    async def score(state: TaskState, target: Target) -> Score:
        return scored({"score": float(state.output.completion)})

    return score


def _numbers_task(name: str, measures: str, by: str | None) -> Task:
    """A task with a declared headline under a name the report cannot know."""
    samples = [Sample(id=i, input=str(i), metadata={"turn": i % 3 + 1}) for i in range(9)]
    declared = HeadlineMetric(
        metric="score_mean",
        higher_is_better=True,
        description=f"{name} score",
        measures=measures,  # type: ignore[arg-type]
        by=by,
    )
    return Task(
        dataset=samples,
        solver=generate(),
        scorer=_number_scorer(),
        name=name,
        metadata=headline_metrics(declared),
    )


@scorer(metrics=[rate("hit"), unscored()])
def _hit_scorer():  # noqa: ANN202
    async def score(state: TaskState, target: Target) -> Score:
        reply = state.output.completion
        if reply == "U":
            return unscored_score("judge reply could not be parsed", ["hit"])
        return scored({"hit": reply == "1"})

    return score


def _hits_task() -> Task:
    samples = [Sample(id=i, input=str(i)) for i in range(24)]
    declared = HeadlineMetric(
        metric="hit_rate", higher_is_better=True, description="hits", measures="behaviour"
    )
    return Task(
        dataset=samples,
        solver=generate(),
        scorer=_hit_scorer(),
        name="hits",
        metadata=headline_metrics(declared),
    )


def _hits_policy(unscored_below: int, extra: set[int]):  # noqa: ANN202
    def policy(messages, tools, config):  # noqa: ANN001, ANN202
        i = int(messages[-1].text)
        if i < unscored_below:
            return "U"
        return "1" if i % 2 == 0 or i in extra else "0"

    return policy


def _foreign_task() -> Task:
    """A task in the inspect_evals style: a stock scorer, accuracy and stderr, no declaration."""
    samples = [Sample(id=i, input=f"{i}+{i}", target=str(2 * i)) for i in range(16)]
    return Task(
        dataset=samples,
        solver=generate(),
        scorer=match(),
        metrics=[accuracy(), stderr()],
        name="arith",
    )


def _arith(correct_below: int):  # noqa: ANN202
    def policy(messages, tools, config):  # noqa: ANN001, ANN202
        i = int(messages[-1].text.split("+")[0])
        return str(2 * i) if i < correct_below else "no idea"

    return policy


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    log_dir = tmp_path_factory.mktemp("logs")
    judge = {"judge": scripted("judge", policy=demo_judge)}
    # Demo judge passes answers that commit ("Yes"); base passes the two traits whose statements
    # contain these phrases, better passes all 12, same behaves exactly like base.
    base_policy = _target(BASE_POLICY_TRAITS)
    for name, policy in (("base", base_policy), ("better", _target(None)), ("same", base_policy)):
        run_task(smoke(), scripted(name, policy=policy), log_dir, model_roles=judge)
    # a different parameter set: must be kept apart, never pooled
    run_task(
        smoke(trait_ids="directness"),
        scripted("base", policy=base_policy),
        log_dir,
        model_roles=judge,
    )
    # a later partial rerun of the baseline (`--limit 3`): must not supersede the full run
    run_task(smoke(), scripted("base", policy=_target(None)), log_dir, model_roles=judge, limit=3)

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

    # knowledge and behaviour under names the report has never heard of, by declaration only
    for name, value in (("base", 0.5), ("better", 1.5)):
        model = scripted(name, policy=lambda m, t, c, v=value: str(v + int(m[-1].text) % 2))
        run_task(_numbers_task("recall_probe", "knowledge", None), model, log_dir)
        run_task(_numbers_task("pressure_probe", "behaviour", "turn"), model, log_dir)

    # planted unscored samples: better hits 2 more of the 14 samples both graded
    run_task(_hits_task(), scripted("base", policy=_hits_policy(0, set())), log_dir)
    run_task(_hits_task(), scripted("better", policy=_hits_policy(10, {11, 13})), log_dir)

    # a task that is not ours
    run_task(_foreign_task(), scripted("base", policy=_arith(8)), log_dir)
    run_task(_foreign_task(), scripted("better", policy=_arith(16)), log_dir)
    return log_dir


@pytest.fixture(scope="module")
def report(logs: Path, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    return build_report([logs], tmp_path_factory.mktemp("report") / "out", baseline="base")


def _metrics_csv(report) -> pd.DataFrame:  # noqa: ANN001
    table = pd.read_csv(report.out_dir / "metrics.csv")
    table["group"] = table.group.fillna("")
    return table


def _diffs(report) -> pd.DataFrame:  # noqa: ANN001
    return pd.read_csv(report.out_dir / "differences.csv")


@pytest.mark.slow
def test_tables_match_the_logs(logs: Path, report) -> None:  # noqa: ANN001
    table = _metrics_csv(report)
    smoke_rows = table[
        (table.task == "smoke")
        & (table.metric == "met_rate")
        & (table.group == "")
        & (table.samples == "12/12")
    ]
    assert sorted(smoke_rows.model) == ["scripted/base", "scripted/better", "scripted/same"]
    for path in logs.glob("*.eval"):
        log = read_eval_log(str(path))
        if log.status != "success" or log.eval.task != "smoke" or log.eval.task_args["trait_ids"]:
            continue
        if log.eval.dataset.sample_ids and len(log.eval.dataset.sample_ids) < 12:
            continue  # the partial rerun, not used
        expected = log.results.scores[0].metrics
        row = smoke_rows[smoke_rows.model == log.eval.model].iloc[0]
        assert row.estimate == pytest.approx(expected["met_rate"].value)
        assert row.ci_low == pytest.approx(expected["met_rate_ci_low"].value)
        assert row.ci_high == pytest.approx(expected["met_rate_ci_high"].value)
        assert row.n == expected["met_rate_n"].value == 12
        assert bool(row.headline)
    base = smoke_rows[smoke_rows.model == "scripted/base"].iloc[0]
    assert base.estimate == pytest.approx(2 / 12) and base.unscored == 0 and base.flagged == 0
    assert (
        bool(base.baseline) and not smoke_rows[smoke_rows.model != "scripted/base"].baseline.any()
    )
    # every metric, per group included, with its interval
    group = table[(table.metric == "met_rate") & (table.group == "trait_id=directness")]
    assert len(group) == 4 and (group.n == 1).all()
    assert {"unscored", "flagged"} <= set(table[table.task == "smoke"].metric)
    markdown = (report.out_dir / "report.md").read_text()
    assert "| smoke |" in markdown and "met_rate(trait_id=directness)" not in markdown
    assert "trait_id=directness" in markdown


def test_differences_are_paired_and_an_identical_checkpoint_gives_zero(report) -> None:  # noqa: ANN001
    smoke_diffs = _diffs(report)
    smoke_diffs = smoke_diffs[smoke_diffs.task == "smoke"].set_index("model")
    better, same = smoke_diffs.loc["scripted/better"], smoke_diffs.loc["scripted/same"]
    assert better.difference == pytest.approx(10 / 12) and bool(better.excludes_zero)
    assert better.verdict == "better" and bool(better.paired) and better.n == 12
    # The same behaviour on the same samples: 0 with a zero-width interval, not +-0.29.
    assert same.difference == 0 and same.ci_low == 0 and same.ci_high == 0
    assert not bool(same.excludes_zero)
    knowledge = _diffs(report).set_index(["task", "model"]).loc[("recall_probe", "scripted/better")]
    assert knowledge.difference == pytest.approx(1.0) and bool(knowledge.excludes_zero)


def test_unscored_samples_never_enter_a_difference(report) -> None:  # noqa: ANN001
    """10 of 24 unscored in the checkpoint: counted as 0 they turned +0.14 into -0.125."""
    row = _diffs(report).set_index("task").loc["hits"]
    assert row.difference == pytest.approx(2 / 14) and row.difference > 0
    assert row.n == 14 and bool(row.paired)
    # The unscored ones are named: the difference is over the 14 both runs graded.
    assert "graded 14, the baseline 24" in str(row.note)


def test_a_task_that_is_not_ours_is_compared_by_its_own_metrics(report) -> None:  # noqa: ANN001
    table = _metrics_csv(report)
    arith = table[(table.task == "arith") & (table.metric == "accuracy")].set_index("model")
    base = arith.loc["scripted/base"]
    assert base.estimate == 0.5 and bool(base.headline) and base.n == 16
    assert base.ci_low < 0.5 < base.ci_high  # a normal interval from its stderr
    assert "stderr" in set(table[table.task == "arith"].metric)
    row = _diffs(report).set_index("task").loc["arith"]
    assert row.difference == 0.5 and bool(row.paired) and bool(row.excludes_zero)
    assert pd.isna(row.verdict)  # the direction of a foreign metric is not known
    html = (report.out_dir / "report.html").read_text()
    assert "scripted/better on arith: accuracy of scorer match (accuracy) 50 points higher" in html


def test_html_marks_baseline_and_says_each_difference_in_words(report) -> None:  # noqa: ANN001
    html = (report.out_dir / "report.html").read_text()
    assert 'Baseline: <span class="baseline">scripted/base</span>' in html
    assert '<tr class="baseline">' in html
    assert (
        "scripted/better on smoke: answers that commit to acting on the trait (met_rate) "
        "83 points higher than scripted/base (95% CI +" in html
    )
    assert "12 paired samples): better." in html
    assert "scripted/same on smoke" not in html.split("<table>")[1]  # no line for a zero
    # per-group results for each eval with a declared breakdown
    assert "smoke (" in html and "met_rate by trait_id" in html
    assert "pressure_probe (" in html and "score_mean by turn" in html


def test_partial_rerun_and_variants_and_incomplete_logs_are_reported(report) -> None:  # noqa: ANN001
    notes = "\n".join(report.notes)
    assert re.search(r"smoke: 2 different parameter sets \(kept apart, not pooled\)", notes)
    assert '"trait_ids": "directness"' in notes
    assert re.search(r"incomplete log \(error, \d+/12 samples\) for smoke on scripted/base", notes)
    assert re.search(r": not used; .* graded 12/12 samples \(this log 3/12\)", notes)
    [base] = [
        r
        for r in report.runs
        if r.task == "smoke" and r.model == "scripted/base" and not r.task_args["trait_ids"]
    ]
    assert len(base.scored_samples) == 12
    assert base.metric("met_rate").estimate == pytest.approx(2 / 12)  # not the rerun's 3/3
    html = (report.out_dir / "report.html").read_text()
    assert "kept apart, not pooled" in html and "incomplete log" in html


def test_plots_are_valid_images_from_declarations(report) -> None:  # noqa: ANN001
    names = {p.name for p in report.plots}
    assert {
        "knowledge_vs_behaviour_recall_probe.png",
        "by_group_pressure_probe.png",
        "task_pressure_probe.png",
        "task_arith.png",
    } <= names
    assert any(n.startswith("task_smoke-") for n in names)  # two variants: named apart
    assert any(n.startswith("by_group_smoke-") for n in names)
    html = (report.out_dir / "report.html").read_text()
    for path in report.plots:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert matplotlib.image.imread(path).shape[0] > 100
    assert html.count("data:image/png;base64,") == len(report.plots)


def test_rates_are_plotted_on_fixed_axes(report, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from traitlab.report import _plots

    limits = {}

    def keep(fig, path):  # noqa: ANN001, ANN202
        limits[path.name] = [ax.get_ylim() for ax in fig.axes]
        return path

    monkeypatch.setattr(_plots, "_save", keep)
    runs = [r for r in report.runs if r.task == "hits"]
    _plots.task_plot("hits", runs, Path("hits.png"), "scripted/base")
    means = [r for r in report.runs if r.task == "recall_probe"]
    _plots.task_plot("recall_probe", means, Path("means.png"), "scripted/base")
    assert limits["hits.png"] == [(-0.02, 1.02)]
    assert limits["means.png"] != [(-0.02, 1.02)]


def _role_logs(tmp_path: Path, other_judge: bool) -> Path:
    log_dir = tmp_path / "logs"
    base_policy = _target(BASE_POLICY_TRAITS)
    run_task(
        smoke(),
        scripted("base", policy=base_policy),
        log_dir,
        model_roles={"judge": scripted("judge", policy=demo_judge)},
    )

    def lenient(messages, tools, config):  # noqa: ANN001, ANN202
        if "<finding>" in messages[0].text:  # as the verifier of its own "met"
            return '{"confirmed": true, "explanation": "fine"}'
        return '{"met": true, "explanation": "fine"}'

    judge = lenient if other_judge else demo_judge
    run_task(
        smoke(),
        scripted("other", policy=base_policy),
        log_dir,
        model_roles={"judge": scripted("judge", policy=judge)},
        limit=6,
    )
    return log_dir


def test_a_checkpoint_graded_by_another_judge_is_not_compared(tmp_path: Path) -> None:
    logs = _role_logs(tmp_path, other_judge=True)
    report = build_report([logs], tmp_path / "out", baseline="base")
    [row] = report.differences
    assert math.isnan(row.estimate) and "role judge" in row.note and "not compared" in row.note
    assert any("measured differently" in w and "role judge" in w for w in report.warnings)
    assert "role judge" in (tmp_path / "out" / "report.html").read_text()
    allowed = build_report(
        [logs], tmp_path / "allowed", baseline="base", allow_mismatch=True
    ).differences[0]
    assert not math.isnan(allowed.estimate) and "compared anyway" in allowed.note


def test_a_partial_checkpoint_run_is_compared_on_shared_samples(tmp_path: Path) -> None:
    logs = _role_logs(tmp_path, other_judge=False)
    report = build_report([logs], tmp_path / "out", baseline="base")
    [row] = report.differences
    assert row.paired and row.n == 6 and row.estimate == 0
    assert any("scripted/other graded 6, the baseline 12" in w for w in report.warnings)


def test_epochs_of_one_sample_are_clustered() -> None:
    """Duplicated epochs add no information: the interval must not shrink with them."""
    diffs = {(str(i), 1): (float(i % 3 == 0), 1.0) for i in range(12)}
    zeros = dict.fromkeys(diffs, (0.0, 1.0))
    once, paired = difference(diffs, zeros)
    twice_values = {**diffs, **{(i, 2): v for (i, _), v in diffs.items()}}
    twice, _ = difference(twice_values, dict.fromkeys(twice_values, (0.0, 1.0)))
    assert paired and once.estimate == twice.estimate and twice.n == 24
    assert twice.high - twice.low == pytest.approx(once.high - once.low, rel=0.15)


def test_bad_inputs_fail_in_one_line_before_writing(tmp_path: Path, logs: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(InputError, match="no such log file or directory"):
        build_report([tmp_path / "missing"], out)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no Inspect logs found"):
        build_report([tmp_path / "empty"], out)
    with pytest.raises(InputError, match="baseline 'nobody' matches 0 models"):
        build_report([logs], out, baseline="nobody")
    # all logs unreadable: empty, not a zip, truncated
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "2026-01-01T00-00-00+00-00_smoke_a.eval").write_bytes(b"")
    (bad / "2026-01-01T00-00-01+00-00_smoke_b.eval").write_bytes(b"not a zip")
    real = next(logs.glob("*.eval")).read_bytes()
    (bad / "2026-01-01T00-00-02+00-00_smoke_c.eval").write_bytes(real[: len(real) // 2])
    with pytest.raises(InputError, match="none of the 3 Inspect logs could be read"):
        build_report([bad], out)
    assert not out.exists() and list(tmp_path.glob(".out*")) == []
    # one unreadable log among good ones is a note
    report = build_report([logs, bad], out)
    assert sum("unreadable Inspect log" in note for note in report.notes) == 3
    # CSVs always have headers, with no baseline and so no differences
    assert (out / "differences.csv").read_text().startswith("task,variant,metric,model")


def test_output_paths_are_checked_and_replaced_whole(tmp_path: Path, logs: Path) -> None:
    existing = tmp_path / "file.txt"
    existing.write_text("keep me")
    with pytest.raises(InputError, match="output path is an existing file"):
        build_report([logs], existing)
    with pytest.raises(InputError, match="parent is a file"):
        build_report([logs], existing / "sub")
    assert existing.read_text() == "keep me"
    full = tmp_path / "full"
    full.mkdir()
    (full / "thesis.tex").write_text("mine")
    with pytest.raises(InputError, match="not empty; pass --overwrite"):
        build_report([logs], full)
    assert [p.name for p in full.iterdir()] == ["thesis.tex"]
    build_report([logs], full, overwrite=True)
    assert (full / "report.html").exists() and not (full / "thesis.tex").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt", "full"]  # no staging left


def test_breakdowns_come_from_the_samples_when_the_log_has_none(tmp_path: Path) -> None:
    """A default log carries the headline only; the report's per-trait numbers are the same as
    those a `-T breakdowns=true` log carries, computed by the task's own metric."""
    judge = {"judge": scripted("judge", policy=demo_judge)}
    target = _target(BASE_POLICY_TRAITS)
    runs = {}
    for breakdowns in (False, True):
        folder = tmp_path / str(breakdowns)
        log = run_task(
            smoke(breakdowns=breakdowns), scripted("m", policy=target), folder, model_roles=judge
        )
        assert breakdowns == any("(" in name for name in log.results.scores[0].metrics)
        [run] = build_report([folder], tmp_path / f"report-{breakdowns}").runs
        runs[breakdowns] = run
    [(headline, _)] = runs[False].headline_metrics()
    computed, logged = (runs[b].groups(headline) for b in (False, True))
    assert len(computed) == 12 and [m.model_dump() for m in computed] == [
        m.model_dump() for m in logged
    ]
    assert sum(m.estimate for m in computed) == 2  # the two traits the target passes


def _exited_pid() -> int:
    """The id of a process that has ended (ids are not reused this soon)."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout)


def test_stale_staging_folders_of_ended_runs_are_removed(tmp_path: Path) -> None:
    dead, alive = _exited_pid(), os.getpid()
    names = [f".out.old-{dead}-ab12", f".out.stage-{dead}-cd34", f".out.stage-{alive}-ef56"]
    names += [".out.old-x-1", ".outer.old-1-1", "notes"]
    for name in names:
        (tmp_path / name).mkdir()
    removed = remove_stale(tmp_path / "out")
    assert sorted(p.name for p in removed) == sorted(names[:2])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[2:])


@pytest.mark.slow
def test_a_kill_during_the_swap_leaves_a_folder_the_next_run_removes(
    tmp_path: Path, logs: Path
) -> None:
    out = tmp_path / "out"
    build_report([logs], out)
    killed = textwrap.dedent(
        f"""
        import os, shutil
        from traitlab.report import build_report

        shutil.rmtree = lambda *args, **kwargs: os._exit(9)  # killed before the old one goes
        build_report([{str(logs)!r}], {str(out)!r}, overwrite=True)
        """
    )
    assert subprocess.run([sys.executable, "-c", killed], timeout=300).returncode == 9
    [left] = tmp_path.glob(".out.old-*")
    assert (left / "out" / "report.html").exists() and (out / "report.html").exists()
    build_report([logs], out, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_default_log_dir_is_inspects(
    logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSPECT_LOG_DIR", str(logs))
    assert any(r.task == "smoke" for r in build_report(None, tmp_path / "a").runs)
    monkeypatch.delenv("INSPECT_LOG_DIR")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="logs: no such log file or directory"):
        build_report(None, tmp_path / "b")


def _cli(args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    from traitlab.cli import main

    monkeypatch.setattr("sys.argv", ["traitlab", "report", *args])
    with pytest.raises(SystemExit) as info:
        main()
    return info.value.code or 0


def test_cli(
    logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert _cli([str(logs), "-o", str(tmp_path / "r"), "--baseline", "base"], monkeypatch) == 0
    out = capsys.readouterr().out
    assert "met_rate" in out and "report written to" in out and "(baseline)" in out
    assert "83 points higher" in out
    assert (tmp_path / "r" / "report.html").exists()
    # issue 20: an existing output file, and all logs unreadable: one line, exit 2
    existing = tmp_path / "exists.txt"
    existing.write_text("x")
    assert _cli([str(logs), "-o", str(existing)], monkeypatch) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "output path is an existing file" in err
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "2026-01-01T00-00-00+00-00_smoke_a.eval").write_bytes(b"")
    assert _cli([str(bad), "-o", str(tmp_path / "r2")], monkeypatch) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "could be read" in err and "Traceback" not in err
    assert not (tmp_path / "r2").exists()


def test_per_sample_values_behind_rates_and_means() -> None:
    from traitlab.report import Metric, Run
    from traitlab.report._compare import per_sample

    def keyed(values: list[float]) -> dict[tuple[str, int], float]:
        return {(str(i), 1): v for i, v in enumerate(values)}

    run = Run(
        task="t",
        variant="v",
        task_args={},
        task_version="1",
        model="m",
        log="l",
        status="success",
        created="now",
        planned_samples=3,
        sample_values={
            "s": {
                "hit": keyed([1.0, 0.0, 0.6]),
                "collusion_share": keyed([0.25, 1.0]),
                "score": keyed([2.0]),
            }
        },
    )

    def metric(name: str) -> Metric:
        return Metric(scorer="s", name=name, estimate=0.0)

    def units(values: list[float]) -> dict[tuple[str, int], tuple[float, float]]:
        return {key: (v, 1.0) for key, v in keyed(values).items()}

    assert per_sample(run, metric("hit_rate")) == units([1.0, 0.0, 1.0])  # at 0.5, like `rate`
    assert per_sample(run, metric("collusion_rate")) == units([0.25, 1.0])  # a per-sample share
    assert per_sample(run, metric("score_mean")) == units([2.0])
    # Units of one sample (turns) are pooled as the metric pools them: sum and count.
    run.sample_values["s"]["confirmation[turn=1]"] = keyed([4.0, 1.0])
    run.sample_values["s"]["confirmation[turn=2]"] = keyed([2.0])
    assert per_sample(run, metric("confirmation_mean")) == {
        ("0", 1): (6.0, 2.0),
        ("1", 1): (1.0, 1.0),
    }
    assert per_sample(run, metric("missing_rate")) is None
    assert per_sample(run, metric("win_total")) is None
