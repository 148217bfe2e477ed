"""Reusable Inspect solvers: conversation loops, auditor, realism gate, simulated tools."""

from traitlab.solvers._tools import ToolCallRecord, ToolLog, record_call, recorded

__all__ = ["ToolCallRecord", "ToolLog", "record_call", "recorded"]
