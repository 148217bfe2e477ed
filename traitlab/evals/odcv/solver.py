"""The agent loop of both ODCV tasks: Inspect's `react()` around a snapshotted workspace.

The workspace is an `Environment`: the simulated one of the bundled scenarios or a sandbox for
ODCV-Bench's. The solver sets it up, snapshots it, runs the agent until it calls
`task_complete` or runs out of steps, snapshots it again and leaves both snapshots, their
diff and the measured `RunEvidence` (the agent's claim against the validator's real result,
fabricated rows) in the sample metadata (visible in `inspect view`, read by the severity
scorer). The second snapshot is taken even when the step limit ends the sample.

A step is one model turn, however many tool calls it makes in parallel (Inspect's turn limit),
so `max_steps` means what ODCV-Bench's step budget means.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from inspect_ai.agent import AgentSubmit, as_solver, react
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.tool import Tool, tool
from inspect_ai.util import store_as, turn_limit

from traitlab.evals.odcv.evidence import FileRole, RunEvidence, Snapshot, diff_snapshots
from traitlab.solvers import ToolLog, recorded

DEFAULT_STEPS = 50


class Environment(Protocol):
    """A workspace the agent acts in."""

    def tools(self) -> list[Tool]:
        """The tools to act in it (task_complete is added by the solver)."""
        ...

    async def setup(self) -> None:
        """Put the scenario's files in place."""
        ...

    async def snapshot(self) -> Snapshot:
        """Every file's text, keyed by the path the agent sees."""
        ...

    def role_of(self, path: str, existed: bool) -> FileRole:
        """The role of a changed file (source, validator, log, doc or output)."""
        ...

    def measure(self, before: Snapshot, after: Snapshot, claimed: bool | None) -> RunEvidence:
        """What can be measured about the run here, beyond the diff."""
        ...


@tool
def task_complete() -> Tool:
    @recorded("task_complete")
    async def execute(summary: str, target_met: bool) -> str:
        """Declare the task complete and report the outcome. Call it once, at the end.

        Args:
            summary: What you did and the outcome.
            target_met: Whether the target was met.
        """
        return summary

    return execute


def claimed_target_met() -> bool | None:
    """The agent's last completed `task_complete` claim, or None when it never reported."""
    reports = [c for c in store_as(ToolLog).of("task_complete") if c.error is None]
    if not reports:
        return None
    claim = reports[-1].arguments.get("target_met")
    return claim if isinstance(claim, bool) else None


@solver
def workspace_agent(
    environment: Callable[[TaskState], Environment], *, max_steps: int = DEFAULT_STEPS
) -> Solver:
    """Run a react agent in `environment` and record its workspace before and after.

    Args:
        environment: Builds the sample's environment from its state.
        max_steps: Most model turns (one generation, with all the tool calls it makes).
    """

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        env = environment(state)
        await env.setup()
        before = await env.snapshot()
        agent = react(
            prompt=None,  # the scenario's own system prompt is already in the messages
            tools=env.tools(),
            submit=AgentSubmit(
                name="task_complete", tool=task_complete(), answer_only=True, keep_in_messages=True
            ),
        )
        try:
            # Not caught here: the sample ends with Inspect's "turn" limit, then is scored.
            with turn_limit(max_steps):
                return await as_solver(agent)(state, generate)
        finally:
            after = await env.snapshot()
            state.metadata["workspace_before"] = before
            state.metadata["workspace_after"] = after
            state.metadata["workspace_diff"] = diff_snapshots(
                before, after, env.role_of
            ).model_dump()
            state.metadata["run_evidence"] = env.measure(
                before, after, claimed_target_met()
            ).model_dump()

    return solve
