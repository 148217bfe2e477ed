"""Throughput of the generation pipelines with a scripted model that answers after a delay.

    PYTHONPATH=. python benchmarks/generate_throughput.py --kind sft -n 120 --latency 0.05

(the scripted world that plays every stage lives in tests/datasets/synth/world.py).

Every model call sleeps `--latency` seconds, like a remote API; the run is repeated at each
`--concurrency` on a fresh cache, so the figures show how much concurrency buys and what the
pipeline itself costs on top of the model calls (embedding dedup, writing, validation). A second
run on the warm cache measures a resume after a crash: every call replayed from the cache.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from inspect_ai.model import ChatMessage, GenerateConfig, get_model
from inspect_ai.tool import ToolInfo

from tests.datasets.synth.world import World
from traitlab.datasets.synth import generate_dataset


async def measure(kind: str, n: int, latency: float, concurrency: int, out: Path) -> None:
    world = World()

    async def policy(messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig):
        await asyncio.sleep(latency)
        return world(messages, tools, config)

    model = get_model("scripted/bench", policy=policy, memoize=False)
    for label in ("cold", "cached"):
        out.unlink(missing_ok=True)
        start = time.perf_counter()
        report = await generate_dataset(
            kind, out, model=model, n=n, concurrency=concurrency, show_progress=False
        )
        elapsed = time.perf_counter() - start
        rate = report.planned / elapsed
        print(
            f"{kind:10} concurrency={concurrency:3} {label:6}: {report.written:4} records, "
            f"{report.meter.calls:5} paid calls, {report.meter.cached_calls:5} from the cache, "
            f"{elapsed:6.2f} s, {rate:7.1f} items/s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kind", default="sft", choices=["sft", "preference", "midtrain"])
    parser.add_argument("-n", type=int, default=120)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    args = parser.parse_args()
    from traitlab.embeddings import load_encoder

    load_encoder()  # load once, outside the timings
    for concurrency in args.concurrency:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["INSPECT_CACHE_DIR"] = str(Path(tmp) / "cache")
            asyncio.run(
                measure(args.kind, args.n, args.latency, concurrency, Path(tmp) / "o.jsonl")
            )


if __name__ == "__main__":
    main()
