from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.helpers import scripted
from traitlab.errors import InputError
from traitlab.llm import UsageMeter, generate, map_concurrently


async def test_map_concurrently_bounds_concurrency_and_keeps_order() -> None:
    in_flight, peak = 0, 0

    async def work(item: int) -> int:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.001 * (5 - item % 5))
        in_flight -= 1
        return item * 2

    results = await map_concurrently(range(20), work, concurrency=3, show_progress=False)
    assert results == [i * 2 for i in range(20)]
    assert peak == 3


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh Inspect cache, so the first call of a prompt is paid and a repeat is a replay."""
    monkeypatch.setenv("INSPECT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


async def test_meter_counts_paid_calls_and_cache_replays_apart(cache_dir: Path) -> None:
    meter = UsageMeter()
    model = scripted("m", policy=lambda m, t, c: "a reply of some length")
    for stage, prompt in (("scan", "prompt text"), ("scan", "prompt text"), ("merge", "other")):
        await generate(model, prompt, stage=stage, meter=meter)
    assert (meter.calls, meter.cached_calls) == (2, 1)
    scan = meter.usage[("scan", "scripted/m")]
    assert (scan.calls, scan.cached_calls) == (1, 1)
    once = scan.output_tokens
    assert once > 0
    await generate(model, "prompt text", stage="scan", meter=meter, cache=False)
    assert (scan.calls, scan.cached_calls, scan.output_tokens) == (2, 1, 2 * once)
    columns = [column.header for column in meter.table().columns]
    assert columns == ["stage", "model", "calls", "cached", "input tokens", "output tokens"]


async def test_usage_is_summed_over_the_sessions_of_an_unfinished_run(
    cache_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "out.usage.json"
    model = scripted("m", policy=lambda m, t, c: "reply")
    first = UsageMeter.resume(path)
    await generate(model, "a", stage="scan", meter=first)
    first.save(path, complete=False)  # a crash or Ctrl-C

    second = UsageMeter.resume(path)
    await generate(model, "a", stage="scan", meter=second)  # replayed from the cache
    await generate(model, "b", stage="scan", meter=second)
    second.save(path, complete=True)
    scan = second.usage[("scan", "scripted/m")]
    assert (second.sessions, scan.calls, scan.cached_calls) == (2, 2, 1)
    assert "over 2 sessions" in str(second.table().title)
    # A finished run's file is not carried into the next run of the same output.
    assert UsageMeter.resume(path).usage == {} and UsageMeter.resume(path).sessions == 1


def test_a_broken_usage_file_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "out.usage.json"
    path.write_text('{"sessions": "two"}')
    with pytest.raises(InputError, match=r"out.usage.json: not a usage file \(sessions: "):
        UsageMeter.resume(path)


async def test_map_concurrently_cancels_the_rest_when_one_fails() -> None:
    finished: list[int] = []

    async def work(item: int) -> int:
        if item == 0:
            raise RuntimeError("boom")
        await asyncio.sleep(0.05)
        finished.append(item)
        return item

    with pytest.raises(RuntimeError, match="boom"):
        await map_concurrently(range(5), work, concurrency=5, show_progress=False)
    await asyncio.sleep(0.1)
    assert finished == []
