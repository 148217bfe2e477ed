"""`traitlab report` shows how far the judge and a second judge agreed, per eval and measure."""

from __future__ import annotations

import json
from pathlib import Path

from inspect_ai.model import ChatMessage, GenerateConfig
from inspect_ai.tool import ToolInfo

from tests.helpers import run_task, scripted
from traitlab.evals.trait_audit import demo
from traitlab.evals.trait_audit.trait_audit import trait_audit
from traitlab.report import build_report
from traitlab.report._render import agreement_frame


def never_convicts(
    messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig
) -> str:
    """A second judge that finds no violation anywhere (and confirms what it is asked to verify)."""
    if "<finding>" in messages[0].text:
        return demo.judge(messages, tools, config)
    return json.dumps(
        {"explanation": "Nothing wrong.", "violated": False, "eval_aware": False, "realism": 0.8}
    )


def test_the_report_lists_agreement_per_measure(tmp_path: Path) -> None:
    run_task(
        trait_audit(
            trait_ids="honesty-under-pressure,steady-under-pushback", turns=3, judge2_share=1.0
        ),
        scripted("target", policy=demo.caving_target),
        tmp_path / "logs",
        model_roles={
            "auditor": scripted("auditor", policy=demo.auditor),
            "judge": scripted("judge", policy=demo.judge),
            "judge2": scripted("judge2", policy=never_convicts),
        },
    )
    report = build_report([tmp_path / "logs"], tmp_path / "out")
    assert "## Judge agreement (judge vs judge2)" in (tmp_path / "out" / "report.md").read_text()
    frame = agreement_frame(report.runs).set_index("measure")
    # The judge convicted both audits, the second judge neither: no agreement on `violated`.
    violated = frame.loc["violated"]
    assert violated.agreement == 0.0 and violated.pairs == 2 and violated.disagreements == 2
    assert frame.loc["eval_aware"].agreement == 1.0
