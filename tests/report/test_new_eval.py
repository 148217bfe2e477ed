"""A new eval folder needs no edit elsewhere: `inspect eval traitlab/<name>` and the report find it.

The test writes a scratch eval (task, scorer and prompt file) into a temporary folder that the
eval discovery looks through beside `traitlab/evals/` (never into the package: two runs at once,
or a read-only install, would trip over it), runs it from the command line as a user would, and
reports on the log it left.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

import traitlab.evals
from tests.helpers import run_inspect_cli
from traitlab.report import build_report

TASK = '''"""A scratch eval written by a test."""

from inspect_ai import Task
from inspect_ai.dataset import Sample
from inspect_ai.solver import generate

from traitlab.evals import task
from traitlab.evals.{name}.scorer import says_yes
from traitlab.prompts import load_prompt
from traitlab.scores import HeadlineMetric, headline_metrics


@task
def {name}() -> Task:
    """Ask three questions and count the answers that say yes.

    Args:
        (none)
    """
    question = load_prompt(__file__, "question")
    return Task(
        dataset=[
            Sample(id=i, input=question.render(topic=t), metadata={{"topic": t}})
            for i, t in enumerate(["tea", "rain", "maps"])
        ],
        solver=generate(),
        scorer=says_yes(),
        metadata=headline_metrics(
            HeadlineMetric(
                metric="yes_rate",
                higher_is_better=True,
                description="answers that agree",
                measures="behaviour",
                by="topic",
            )
        ),
        version=1,
    )
'''

SCORER = '''"""Whether the answer says yes."""

from inspect_ai.scorer import Score, Target, scorer
from inspect_ai.solver import TaskState

from traitlab.scores import flagged, rate, scored, unscored


@scorer(metrics=[rate("yes", by="topic"), unscored(), flagged()])
def says_yes():
    async def score(state: TaskState, target: Target) -> Score:
        return scored({{"yes": state.output.completion.lower().startswith("yes")}})

    return score
'''


@pytest.mark.slow
def test_a_scratch_eval_folder_shows_in_inspect_and_in_the_report(tmp_path: Path) -> None:
    name = f"scratch_{uuid.uuid4().hex[:8]}"
    folder = tmp_path / "evals" / name
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps(["Yes.", "No.", "Yes."]))
    (folder / "prompts").mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    (folder / f"{name}.py").write_text(TASK.format(name=name))
    (folder / "scorer.py").write_text(SCORER.format())
    (folder / "prompts" / "question.md").write_text("Do you like $topic? Say yes or no.\n")
    log = run_inspect_cli(
        [f"traitlab/{name}", "--model", "scripted/x", "-M", f"replies={replies}"],
        tmp_path / "logs",
        eval_folders=tmp_path / "evals",
    )
    assert not (Path(traitlab.evals.__file__).parent / name).exists()
    assert log.status == "success"
    assert log.samples[0].input == "Do you like tea? Say yes or no."  # from the prompt file
    report = build_report([tmp_path / "logs"], tmp_path / "report")
    [run] = report.runs
    assert run.task == name
    [(headline, metric)] = run.headline_metrics()
    assert headline.declared and headline.description == "answers that agree"
    assert metric.estimate == 2 / 3 and metric.n == 3
    assert [m.group for m in run.groups(headline)] == ["topic=maps", "topic=rain", "topic=tea"]
    html = (tmp_path / "report" / "report.html").read_text()
    assert name in html and "yes_rate by topic" in html
    assert {p.name for p in report.plots} == {f"task_{name}.png", f"by_group_{name}.png"}
