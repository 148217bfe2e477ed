"""A multi-round episode: the agent acts, the environment answers, the agent acts again.

Inspect's agent machinery (`generate(tool_calls="loop")`, `react`) runs one stretch of work
until the agent stops calling tools. An environment that lives on between those stretches
(replies arrive in an inbox, a colleague asks a follow-up, an alarm goes off) needs someone to
say what happened before the next stretch: `rounds` runs the agent, asks the environment's
`events` function for news, appends it as a user message, and repeats.

Usage (any environment whose state lives in the sample store)::

    async def events(state: TaskState, round: int) -> str | None:
        ...  # update the simulation; return what the agent learns, or None if nothing happened

    Task(..., solver=[setup_tools(), rounds(events, rounds=3)], message_limit=80)

The episode ends after `rounds` rounds, when `events` returns None (nothing new happened), or
when a message or token limit ends the sample.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from inspect_ai.model import ChatMessage, ChatMessageUser
from inspect_ai.solver import Generate, Solver, TaskState, generate, solver

RoundEvents = Callable[
    [TaskState, int],
    str | list[ChatMessage] | None | Awaitable[str | list[ChatMessage] | None],
]


@solver
def rounds(events: RoundEvents, *, rounds: int = 3, agent: Solver | None = None) -> Solver:
    """Run `agent` for up to `rounds` rounds, with the environment's `events` in between.

    Args:
        events: Called after round N (1-based) with the state; returns the news for the agent
            (a string becomes a user message; messages are appended as they are) or None to
            end the episode because nothing new happened.
        rounds: The most rounds the agent gets.
        agent: The solver for one round; default `generate(tool_calls="loop")`, which lets the
            agent call tools until it stops. Any Inspect solver or `as_solver(react(...))` works.
    """
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    step = agent or generate(tool_calls="loop")

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        for number in range(1, rounds + 1):
            state = await step(state, generate)
            if state.completed or number == rounds:
                break
            news = events(state, number)
            if inspect.isawaitable(news):
                news = await news
            if not news:
                break
            state.messages.extend(
                [ChatMessageUser(content=news)] if isinstance(news, str) else news
            )
        return state

    return solve
