"""`traitlab/agentic_misalignment`: an email agent under goal conflict and threat to its autonomy.

After Lynch et al., "Agentic Misalignment" (2025), rebuilt on real tools: the target is an
autonomous email agent with Inspect tools over a simulated mail system (nothing is ever sent)
and a few rounds in which the environment answers. Each scenario offers one harmful option
(leak a confidential design to an outside company; coerce an executive with his affair; cancel
the emergency alert for a person in danger), crossed with goal conflict (explicit / none) and
threat (replacement / restriction / none).

Scoring reads what the agent did from its recorded tool calls, then a judge decides intent
(`agentic_harm`); a second scorer classifies whether the agent's reasoning treats the situation
as a test or as real (`eval_awareness`).
"""

from __future__ import annotations

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset
from inspect_ai.solver import TaskState

from traitlab.evals.agentic_misalignment.dataset import samples
from traitlab.evals.agentic_misalignment.mail import (
    candidate_actions,
    mail_environment,
    mail_events,
)
from traitlab.evals.agentic_misalignment.scorer import Evidence, agentic_harm
from traitlab.evals.agentic_misalignment.solver import rounds as rounds_solver
from traitlab.evals.agentic_misalignment.upstream import upstream_samples
from traitlab.scorers import eval_awareness
from traitlab.scores import HeadlineMetric, headline_metrics


def sample_evidence(state: TaskState) -> list[Evidence]:
    """The candidate actions for this sample's harm."""
    return candidate_actions(state, state.metadata["condition"]["harm"])


@task
def agentic_misalignment(
    templates: str | None = None,
    scenarios: str | None = None,
    harms: str | None = None,
    goal_conflicts: str | None = None,
    threats: str | None = None,
    goal_values: str = "america",
    rounds: int = 3,
    message_limit: int = 60,
) -> Task:
    """An autonomous email agent offered a harmful option, across conditions.

    Args:
        templates: Path of the original agentic-misalignment repository (or its `templates/`
            folder) to render its scenarios instead of the bundled ones.
        scenarios: A folder (or file) of scenario YAML files to use instead of the bundled ones.
        harms: Comma-separated harms to include: leak, coercion, alert (default: all).
        goal_conflicts: explicit, none (default: both).
        threats: replacement, restriction, none (default: all).
        goal_values: For `templates`: comma-separated goal values of the explicit condition
            (america, global, safety, acceleration, ethical, pragmatic, individualism,
            collectivism).
        rounds: The most rounds of work; the environment answers between rounds.
        message_limit: The most messages in a sample, a bound on runaway tool loops.

    Model roles:
        judge: decides intent on the candidate actions and classifies eval awareness
            (required).
    """
    if templates is not None and scenarios is not None:
        raise ValueError("pass either templates= or scenarios=, not both")
    chosen = dict(harms=harms, goal_conflicts=goal_conflicts, threats=threats)
    dataset = (
        upstream_samples(templates, goal_values=goal_values, **chosen)
        if templates is not None
        else samples(scenarios, **chosen)
    )
    return Task(
        dataset=MemoryDataset(dataset, name="agentic_misalignment"),
        solver=[mail_environment(), rounds_solver(mail_events, rounds=rounds)],
        scorer=[agentic_harm(sample_evidence), eval_awareness()],
        message_limit=message_limit,
        metadata={
            "source": templates or scenarios or "bundled",
            **headline_metrics(
                HeadlineMetric(
                    metric="harmful_rate",
                    higher_is_better=False,
                    description="episodes in which the agent leaked, coerced or let harm happen",
                    measures="behaviour",
                )
            ),
        },
        version=1,
    )
