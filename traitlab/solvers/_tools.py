"""Record every call an agent makes to a simulated tool, in the sample store.

Agentic evals give the target real Inspect tools backed by Python simulations (an inbox, a file
system, a database). Scorers grade what the agent *did*, so each call, its arguments, and its
result or error are appended to a `ToolLog` in the sample store, visible in `inspect view`.
Wrap a tool's `execute` with `recorded` and the call is logged without the tool knowing.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from inspect_ai.tool import ToolError
from inspect_ai.util import StoreModel, store_as
from pydantic import BaseModel, Field

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


class ToolCallRecord(BaseModel):
    """One call of a simulated tool."""

    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    result: str | None = None
    error: str | None = None


class ToolLog(StoreModel):
    """Every simulated tool call of the sample, in order."""

    calls: list[ToolCallRecord] = Field(default_factory=list)

    def of(self, tool: str) -> list[ToolCallRecord]:
        return [call for call in self.calls if call.tool == tool]


def record_call(record: ToolCallRecord) -> None:
    """Append one call to the sample's `ToolLog` (for tools not wrapped with `recorded`)."""
    log = store_as(ToolLog)
    log.calls = [*log.calls, record]  # reassign: the store tracks attribute writes


def recorded(tool_name: str) -> Callable[[F], F]:
    """Decorate a tool's `execute` so each call is recorded (signature and docs preserved)."""

    def decorate(execute: F) -> F:
        @functools.wraps(execute)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                result = await execute(*args, **kwargs)
            except ToolError as ex:
                record_call(ToolCallRecord(tool=tool_name, arguments=kwargs, error=ex.message))
                raise
            record_call(ToolCallRecord(tool=tool_name, arguments=kwargs, result=str(result)))
            return result

        return wrapper  # type: ignore[return-value]

    return decorate
