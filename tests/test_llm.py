from __future__ import annotations

import asyncio

import pytest

from tests.helpers import scripted
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


async def test_meter_counts_calls_and_tokens_per_stage() -> None:
    meter = UsageMeter()
    model = scripted("m", policy=lambda m, t, c: "a reply of some length")
    for stage in ("scan", "scan", "merge"):
        await generate(model, "prompt text", stage=stage, meter=meter)
    assert meter.calls == 3
    scan = meter.usage[("scan", "scripted/m")]
    assert scan.calls == 2 and scan.output_tokens > 0
    assert "merge" in str([c._cells for c in meter.table().columns])


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
