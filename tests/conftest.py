"""Shared fixtures: offline environment and helpers to run tasks with scripted models."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

# Everything runs offline: the embedding model ships in a package, nothing is downloaded.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("INSPECT_LOG_LEVEL", "warning")

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
UPSTREAM = SHARED / "upstream"


@pytest.fixture
def upstream() -> Path:
    """The copies of upstream datasets beside the project (never committed into it)."""
    if not UPSTREAM.exists():
        pytest.skip(f"upstream copies not found at {UPSTREAM}")
    return UPSTREAM


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail any attempt to open a network connection (loopback excepted)."""
    original = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and (host.startswith("127.") or host in ("localhost", "::1")):
            return original(self, address)
        raise AssertionError(f"network access attempted: {address}")

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield
