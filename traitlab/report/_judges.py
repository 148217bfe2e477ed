"""Set each run's judge check beside its numbers: how far its judge agrees with labelled cases.

A judge_check log says in its task metadata which eval's judge it measured and with which
prompt (`traitlab.judging.JudgeCheckOf`); its model is the judge. A run is matched with the
checks of its own task whose model is one of the run's `judge` role models, whose prompt is the
one the run passed (the same task argument, both absent for the bundled prompt) and whose
`verifier` role is the run's (both unbound: the judge verified its own findings). A run whose
judge was never checked says so, since its numbers rest on an unmeasured judge.
"""

from __future__ import annotations

from traitlab.report._collect import Run


def judge_models(run: Run) -> list[str]:
    """The model names bound to the run's `judge` role (several for a panel)."""
    bound = run.roles.get("judge")
    if not bound:
        return []
    return [part.split(" {", 1)[0] for part in bound.split(" + ")]


def judge_checks(run: Run, runs: list[Run]) -> list[Run]:
    """The judge_check runs that measured this run's judge with this run's prompt and verifier."""
    models = judge_models(run)
    found = []
    for check in runs:
        of = check.judge_check
        if of is None or run.task not in of.tasks or check.model not in models:
            continue
        same_verifier = check.roles.get("verifier") == run.roles.get("verifier")
        if run.task_args.get(of.prompt_arg) == of.prompt and same_verifier:
            found.append(check)
    return found


def judge_check_cell(run: Run, runs: list[Run]) -> str:
    """The checks' kappa with its interval, n and unparsed share; "not run" for an unchecked
    judge; empty for a run without a judge (or a judge check itself)."""
    if run.judge_check is not None or not judge_models(run):
        return ""
    cells = []
    for check in judge_checks(run, runs):
        kappa = check.metric("agreement_kappa")
        unparsed = check.metric("unparsed_share")
        if kappa is None:
            continue
        text = f"{check.model}: kappa {kappa.estimate:.2f}"
        if kappa.low == kappa.low:  # not NaN
            text += f" [{kappa.low:.2f}, {kappa.high:.2f}]"
        text += f" n={kappa.n}"
        if unparsed is not None:
            text += f", unparsed {unparsed.estimate:.0%}"
        cells.append(text)
    return "; ".join(cells) or "not run"
