"""`traitlab/tool_use`: can the model still use tools, and does it?

Benign agentic tasks in a simulated shop (look something up and compute with it, edit a record,
chain two or more tools), run with Inspect's own tool loop. Three rates, reported separately:
done correctly (a deterministic check of the tagged final answer and the shop's records),
malformed tool calls (calls Inspect rejected: unknown tool, bad arguments), and refused (a
judge's reading of a sample that was not done). They tell "forgot how to call tools" from
"refuses to act".
"""

from __future__ import annotations

from inspect_ai import Task
from inspect_ai.solver import generate, system_message, use_tools

from traitlab.evals import Count, task
from traitlab.evals.tool_use.dataset import check_task, tool_use_dataset
from traitlab.evals.tool_use.scorer import agent_outcome
from traitlab.evals.tool_use.shop import Shop, open_shop
from traitlab.evals.tool_use.tools import shop_tools
from traitlab.lint.scorer import pattern_rate, pattern_rates
from traitlab.prompts import PromptOverride, PromptTemplate, load_prompt, resolve_prompt
from traitlab.scores import (
    HeadlineMetric,
    flagged,
    headline_metrics,
    headline_view,
    rate,
    unscored,
)


def agent_system_prompt(override: PromptOverride = None) -> PromptTemplate:
    """The agent's system prompt: `prompts/system.md` (it defines the graded answer tag)."""
    return resolve_prompt(override, load_prompt(__file__, "system"))


HEADLINE = headline_metrics(
    HeadlineMetric(
        metric="correct_rate",
        higher_is_better=True,
        description="tool tasks completed correctly",
        measures="capability",
        by="category",
    ),
)


@task
def tool_use(
    tasks: str | None = None,
    message_limit: Count = 30,
    patterns: str | None = None,
    system_prompt: str | None = None,
    refusal_prompt: str | None = None,
    breakdowns: bool = False,
) -> Task:
    """Benign tool tasks: correct, malformed-call and refusal rates.

    Args:
        tasks: JSONL file of tasks (`ToolTask`; default: the 20 bundled tasks).
        message_limit: Messages per sample before the agent is stopped (the task then fails
            its check).
        patterns: A lint features file (features.json) or rubric file; when given, the rate
            of each pattern in the target's final replies is scored too (`pattern_rate`,
            judged by the `judge` role).
        system_prompt: The agent's system prompt, as text or a path (default
            `prompts/system.md`, which asks for the final answer in <answer> tags; an override
            must ask for them too, since only the last tag is graded).
        refusal_prompt: The refusal judge's prompt, as text or a path (default
            `prompts/refusal.md`; placeholders $task, $calls, $reply).
        breakdowns: Log every scorer's own metrics, with each per-category entry and the malformed-
            call and refusal rates (default false: the headline with its interval, n and bounds, the
            pattern rates when `patterns` is given, and the unscored and flagged counts; `traitlab
            report` shows the breakdowns either way).

    Model roles:
        judge: decides whether a sample that was not done correctly was refused (required
            when any sample fails its check).
    """
    shop = Shop.load()
    return Task(
        dataset=tool_use_dataset(shop, tasks),
        solver=[
            open_shop(),
            system_message(agent_system_prompt(system_prompt).render()),
            use_tools(shop_tools()),
            generate(tool_calls="loop"),
        ],
        scorer=[
            agent_outcome(check_task(shop), prompt=refusal_prompt),
            *([pattern_rate(patterns)] if patterns else []),
        ],
        message_limit=message_limit,
        metadata=HEADLINE,
        version=3,
        **headline_view(
            HEADLINE,
            [
                rate("correct", stderr=True),
                *([pattern_rates()] if patterns else []),
                unscored(),
                flagged(),
            ],
            breakdowns=breakdowns,
        ),
    )
