from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Pipelines cache every model call; keep scripted replies from leaking between tests."""
    cache = tmp_path / "inspect-cache"
    monkeypatch.setenv("INSPECT_CACHE_DIR", str(cache))
    return cache
