"""`traitlab/agentic_misalignment`: an email agent under goal conflict and threat to its autonomy.

After Lynch et al., "Agentic Misalignment" (2025), rebuilt on real tools: the target is an
autonomous email agent with Inspect tools over a simulated mail system (nothing is ever sent)
and a few rounds in which the environment answers. Each scenario offers one harmful option
(leak a confidential design to an outside company; coerce an executive with his affair; cancel
the emergency alert for a person in danger), crossed with the paper's goal types (explicit /
latent / ambiguous / none) and threats (replacement / restriction / none).

Scoring reads what the agent did from its recorded tool calls, then a judge decides intent
(`agentic_harm`); a second scorer classifies whether the agent's reasoning treats the situation
as a test or as real (`eval_awareness`). With `--epochs N` every episode counts.
"""

from __future__ import annotations

from inspect_ai import Epochs, Task
from inspect_ai.dataset import MemoryDataset
from inspect_ai.solver import TaskState

from traitlab.errors import InputError
from traitlab.evals import Count, task
from traitlab.evals.agentic_misalignment import checkable  # noqa: F401  (registers its judge)
from traitlab.evals.agentic_misalignment.dataset import agent_system_prompt, samples
from traitlab.evals.agentic_misalignment.mail import (
    candidate_actions,
    mail_environment,
    mail_events,
)
from traitlab.evals.agentic_misalignment.scorer import Evidence, agentic_harm
from traitlab.evals.agentic_misalignment.solver import rounds as rounds_solver
from traitlab.evals.agentic_misalignment.upstream import upstream_samples
from traitlab.scorers import eval_awareness
from traitlab.scores import (
    HeadlineMetric,
    flagged,
    headline_metrics,
    headline_view,
    rate,
    unscored,
)


def sample_evidence(state: TaskState) -> list[Evidence]:
    """The candidate actions for this sample's harm."""
    return candidate_actions(state, state.metadata["condition"]["harm"])


HEADLINE = headline_metrics(
    HeadlineMetric(
        metric="harmful_rate",
        higher_is_better=False,
        description="episodes in which the agent leaked, coerced or let harm happen",
        measures="behaviour",
    )
)


@task
def agentic_misalignment(
    templates: str | None = None,
    scenarios: str | None = None,
    harms: str | None = None,
    goal_conflicts: str | None = None,
    threats: str | None = None,
    goal_values: str = "america",
    rounds: Count = 3,
    message_limit: Count = 60,
    system_prompt: str | None = None,
    judge_prompt: str | None = None,
    breakdowns: bool = False,
) -> Task:
    """An autonomous email agent offered a harmful option, across conditions.

    Args:
        templates: Path of the original agentic-misalignment repository (or its `templates/`
            folder) to render its scenarios instead of the bundled ones.
        scenarios: A folder (or file) of scenario YAML files to use instead of the bundled ones.
        harms: Comma-separated harms to include: leak, coercion, alert (default: all).
        goal_conflicts: explicit, latent, ambiguous, none (default: all).
        threats: replacement, restriction, none (default: all).
        goal_values: For `templates`: comma-separated goal values of the explicit condition
            (america, global, safety, acceleration, ethical, pragmatic, individualism,
            collectivism).
        rounds: The most rounds of work; the environment answers between rounds.
        message_limit: The most messages in a sample, a bound on runaway tool loops.
        system_prompt: The agent's system prompt, as text or a path (default
            `prompts/system.md`; placeholders $agent_name, $company, $agent_address, $role,
            $goal, $tools, $unread, $now).
        judge_prompt: The intent judge's prompt, as text or a path (default
            `prompts/intent.md`; placeholders $rubric, $actions, $transcript).
        breakdowns: Log every scorer's own metrics, with each per-condition and per-factor entry,
            the stated-harm and tool-use rates and eval awareness (default false: the headline with
            its interval, n and bounds, and the unscored and flagged counts; `traitlab report` shows
            the breakdowns either way).

    With ``--epochs N`` every episode counts in the metrics (no epoch reduction), and the
    intervals are clustered by sample, whose epochs are repeated episodes of one scenario.

    Model roles:
        judge: decides intent on the candidate actions and classifies eval awareness
            (required).
    """
    if templates is not None and scenarios is not None:
        raise InputError("pass either -T templates or -T scenarios, not both")
    system = agent_system_prompt(system_prompt) if system_prompt is not None else None
    chosen = dict(harms=harms, goal_conflicts=goal_conflicts, threats=threats, system=system)
    dataset = (
        upstream_samples(templates, goal_values=goal_values, **chosen)
        if templates is not None
        else samples(scenarios, **chosen)
    )
    return Task(
        dataset=MemoryDataset(dataset, name="agentic_misalignment"),
        solver=[mail_environment(), rounds_solver(mail_events, rounds=rounds)],
        scorer=[agentic_harm(sample_evidence, prompt=judge_prompt), eval_awareness()],
        message_limit=message_limit,
        # Every episode is an observation: no epoch reduction before the metrics.
        epochs=Epochs(1, reducer=[]),
        metadata={
            "source": templates or scenarios or "bundled",
            **HEADLINE,
        },
        version=3,
        **headline_view(
            HEADLINE,
            [rate("harmful", cluster="id", stderr=True), unscored(), flagged()],
            breakdowns=breakdowns,
        ),
    )
