"""Reusable Inspect solvers: conversation loops, auditor, realism gate, simulated tools."""
