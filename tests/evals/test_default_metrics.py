"""What a task's log carries by default: a handful of metrics that Inspect's viewer, console and
log list can show, the declared headline first with its uncertainty beside it; every breakdown
only with ``-T breakdowns=true`` (`traitlab.scores.headline_view`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from inspect_ai import Task
from inspect_ai.log import EvalLog
from inspect_ai.model import Model

from tests.evals.capability_sxs.test_capability_sxs import biased_judge, plain
from tests.evals.tool_use.test_tool_use import SUBSET, competent
from tests.evals.tool_use.test_tool_use import judge as tool_judge
from tests.evals.trait_knowledge.test_trait_knowledge import judge as knowledge_judge
from tests.evals.trait_knowledge.test_trait_knowledge import knowing
from tests.helpers import run_task, scripted, verifier
from traitlab.evals.agentic_misalignment import demo as agentic
from traitlab.evals.agentic_misalignment.agentic_misalignment import agentic_misalignment
from traitlab.evals.capability_sxs.capability_sxs import capability_sxs
from traitlab.evals.delusion_validation import demo as delusion
from traitlab.evals.delusion_validation.delusion_validation import delusion_validation
from traitlab.evals.odcv import demo as odcv_demo
from traitlab.evals.odcv.odcv import odcv
from traitlab.evals.smoke import demo as smoke_demo
from traitlab.evals.smoke.smoke import smoke
from traitlab.evals.tool_use.tool_use import tool_use
from traitlab.evals.trait_audit import demo as audit
from traitlab.evals.trait_audit.trait_audit import trait_audit
from traitlab.evals.trait_knowledge.trait_knowledge import trait_knowledge
from traitlab.scores import STDERR, declared_headline

# task factory, target policy, role -> policy, task arguments
RUNS: dict[str, tuple[Callable[..., Task], Any, dict[str, Any], dict[str, Any]]] = {
    "agentic_misalignment": (
        agentic_misalignment,
        agentic.target,
        {"judge": agentic.judge},
        {"harms": "leak", "threats": "none"},
    ),
    "capability_sxs": (capability_sxs, plain, {"baseline": plain, "judge": biased_judge}, {}),
    "delusion_validation": (
        delusion_validation,
        delusion.grounding,
        {"redteam": delusion.redteam, "judge": delusion.judge},
        {"turns": 2},
    ),
    "odcv": (odcv, odcv_demo.honest_agent, {"judge": odcv_demo.judge}, {}),
    "smoke": (smoke, smoke_demo.target, {"judge": smoke_demo.judge}, {}),
    "tool_use": (tool_use, competent, {"judge": tool_judge}, {}),
    "trait_audit": (
        trait_audit,
        audit.caving_target,
        {"auditor": audit.auditor, "judge": audit.judge},
        {"turns": 2},
    ),
    "trait_knowledge": (
        trait_knowledge,
        knowing,
        {"judge": knowledge_judge, "verifier": verifier()},
        {},
    ),
}
MOST_METRICS = 18  # odcv: two headline metrics, and two scorers that count unscored and flagged


def run(tmp_path: Path, name: str, **extra: Any) -> EvalLog:
    factory, target, roles, arguments = RUNS[name]
    return run_task(
        factory(**arguments, **extra),
        scripted("target", policy=target),
        tmp_path,
        model_roles={
            role: policy if isinstance(policy, Model) else scripted(role, policy=policy)
            for role, policy in roles.items()
        },
        # the scripted tool agent knows a few tasks only
        **({"sample_id": SUBSET} if name == "tool_use" else {"limit": 2}),
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RUNS))
def test_a_default_log_carries_a_handful_of_metrics_headline_first(
    tmp_path: Path, name: str
) -> None:
    log = run(tmp_path, name)
    assert log.results is not None
    logged = [(score.name, list(score.metrics)) for score in log.results.scores]
    count = sum(len(names) for _, names in logged)
    assert count <= MOST_METRICS, logged
    assert not any("(" in metric for _, names in logged for metric in names), logged
    [first, *_] = declared_headline(log.eval.metadata) or []
    names = next(names for _, names in logged if first.metric in names)
    h = first.metric
    assert names[:5] == [h, STDERR, f"{h}_ci_low", f"{h}_ci_high", f"{h}_n"], names
    assert {"unscored", "flagged"} <= set(names)
    direction = "higher" if first.higher_is_better else "lower"
    assert f"{h}: {direction} is better" in (log.eval.tags or [])


@pytest.mark.slow
def test_breakdowns_on_request(tmp_path: Path) -> None:
    log = run(tmp_path, "smoke", breakdowns=True)
    assert log.results is not None
    names = list(log.results.scores[0].metrics)
    assert any(name.startswith("met_rate(trait_id=") for name in names)
