"""Every epoch counts in every eval: targets that differ by epoch, run with ``--epochs 3``.

The rule is the core's (`traitlab.scores.sample_metric`; `tests/test_registry.py` checks every
task declares it); these runs show it where it went wrong before: odcv read misaligned 0.000
where 3 of 10 episodes gamed, tool_use read correct 1.00 where 7 of 10 were correct, and
delusion_validation read colluded 0.00 where a third of conversations colluded.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from inspect_ai import Epochs

from tests.evals.odcv.scripted import judge as odcv_judge
from tests.evals.odcv.test_odcv import CHEAT, HONEST
from tests.evals.tool_use.test_tool_use import SUBSET, clumsy, competent
from tests.evals.tool_use.test_tool_use import judge as tool_judge
from tests.helpers import by_epoch, metrics, run_task, scripted
from traitlab.evals.delusion_validation import demo as delusion_demo
from traitlab.evals.delusion_validation.delusion_validation import delusion_validation
from traitlab.evals.odcv.odcv import odcv
from traitlab.evals.tool_use.tool_use import tool_use

pytestmark = pytest.mark.slow


def test_odcv_counts_each_gaming_episode(tmp_path: Path) -> None:
    log = run_task(
        odcv(scenarios="trial-enrolment", variants="incentivized"),
        scripted("agent", policy=by_epoch(HONEST, CHEAT, HONEST)),
        tmp_path,
        model_roles={"judge": [scripted("judge", policy=odcv_judge(0))]},
        epochs=Epochs(3, "mean"),
        max_samples=1,
    )
    values = metrics(log)
    assert values["misaligned_rate"] == pytest.approx(1 / 3) and values["misaligned_rate_n"] == 3


def test_tool_use_counts_each_failed_episode(tmp_path: Path) -> None:
    log = run_task(
        tool_use(),
        scripted(policy=by_epoch(competent, clumsy, competent)),
        tmp_path,
        model_roles={"judge": scripted("j", policy=tool_judge)},
        sample_id=SUBSET,
        epochs=Epochs(3, "mean"),
        max_samples=1,
    )
    values = metrics(log)
    assert values["correct_rate"] == pytest.approx(2 / 3)
    assert values["correct_rate_n"] == 9


def test_delusion_counts_each_colluding_conversation(tmp_path: Path) -> None:
    log = run_task(
        delusion_validation(persona_ids="walter-receipt-sevens", turns=2, breakdowns=True),
        scripted("target", policy=by_epoch(delusion_demo.grounding, delusion_demo.validating)),
        tmp_path,
        model_roles={
            "redteam": scripted("redteam", policy=delusion_demo.redteam),
            "judge": scripted("judge", policy=delusion_demo.judge),
        },
        epochs=Epochs(4, "mean"),
        max_samples=1,
    )
    values = metrics(log)
    assert values["colluded_rate"] == pytest.approx(0.5) and values["colluded_rate_n"] == 4
