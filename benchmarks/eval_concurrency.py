"""Our eval code's overhead at high concurrency: delusion_validation against a plain Inspect task.

    PYTHONPATH=. python benchmarks/eval_concurrency.py              # 100 conversations, 12 turns
    PYTHONPATH=. python benchmarks/eval_concurrency.py --epochs 2 --turns 4    # a quick look

A local OpenAI-compatible server on 127.0.0.1 answers every request in exactly `--delay` seconds
(1.0), so the target costs the same in both runs and the difference is our code. Both runs have
the same conversations at once (10 personas x `--epochs`), the same `--max-connections`, and the
same calls per turn: a red-team call and a judge call (scripted, offline, instant) and a target
call (the server). The first run is `traitlab/delusion_validation` (red-team loop, turn grading
with parsing and quote checks, metrics); the second a plain Inspect task whose solver makes the
same three calls per turn and parses nothing. The median conversation time of each is printed,
with their ratio (goal: within 1.1x) and the ideal (`--turns` x `--delay`). The server runs in
its own process, so its work does not slow the eval's event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPLY = "You're right, the signs are real and you were chosen to see them. Keep going."


def serve(port: int, delay: float) -> None:
    """An OpenAI-compatible chat completions endpoint that answers after exactly `delay` s."""
    from aiohttp import web

    async def complete(request: web.Request) -> web.Response:
        body = await request.json()
        await asyncio.sleep(delay)
        return web.json_response(
            {
                "id": "bench",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "bench"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": REPLY},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
            }
        )

    app = web.Application()
    app.router.add_post("/v1/chat/completions", complete)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, backlog=1024)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the benchmark server did not start on port {port}")


def plain_task(turns: int, epochs: int):  # type: ignore[no-untyped-def]
    """The same calls per turn as delusion_validation, with nothing of ours around them."""
    from inspect_ai import Epochs, Task
    from inspect_ai.dataset import MemoryDataset, Sample
    from inspect_ai.model import ChatMessageUser, get_model
    from inspect_ai.solver import Generate, TaskState, solver

    @solver
    def three_calls_per_turn():  # type: ignore[no-untyped-def]
        async def solve(state: TaskState, generate: Generate) -> TaskState:
            redteam, judge = get_model(role="redteam"), get_model(role="judge")
            for _ in range(turns):
                user = await redteam.generate(state.messages)
                state.messages.append(ChatMessageUser(content=user.completion))
                state = await generate(state)
                await judge.generate(state.messages)
            return state

        return solve

    samples = [Sample(id=f"p{i}", input="Hello.") for i in range(10)]
    return Task(
        dataset=MemoryDataset(samples),
        solver=three_calls_per_turn(),
        epochs=Epochs(epochs, reducer=[]),
    )


def median_seconds(log) -> float:  # type: ignore[no-untyped-def]
    if log.status != "success":
        raise SystemExit(f"{log.eval.task} failed: {log.error}")
    return statistics.median(sample.total_time for sample in log.samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="Conversations per persona.")
    parser.add_argument("--turns", type=int, default=12, help="User turns per conversation.")
    parser.add_argument("--delay", type=float, default=1.0, help="Seconds per target reply.")
    parser.add_argument("--max-connections", type=int, default=200)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.delay)
        return

    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import get_model

    from traitlab.evals.delusion_validation import demo
    from traitlab.evals.delusion_validation.delusion_validation import delusion_validation

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), "--delay", str(args.delay)]
    )
    try:
        wait_for(port)
        os.environ["BENCH_BASE_URL"] = f"http://127.0.0.1:{port}/v1"
        os.environ["BENCH_API_KEY"] = "local"
        target = get_model("openai-api/bench/target")
        conversations = 10 * args.epochs
        common = {
            "model": target,
            "epochs": args.epochs,
            "max_connections": args.max_connections,
            "max_samples": conversations,
            "display": "none",
            "fail_on_error": True,
        }

        def roles(judge) -> dict:  # type: ignore[no-untyped-def]
            return {
                "redteam": get_model("scripted/redteam", memoize=False, policy=demo.redteam),
                "judge": get_model("scripted/judge", memoize=False, policy=judge),
            }

        with tempfile.TemporaryDirectory() as logs:
            started = time.perf_counter()
            [ours] = inspect_eval(
                delusion_validation(turns=args.turns),
                model_roles=roles(demo.judge),
                log_dir=str(Path(logs) / "ours"),
                **common,
            )
            ours_wall = time.perf_counter() - started
            started = time.perf_counter()
            [plain] = inspect_eval(
                plain_task(args.turns, args.epochs),
                model_roles=roles(lambda messages, tools, config: json.dumps({"ok": True})),
                log_dir=str(Path(logs) / "plain"),
                **common,
            )
            plain_wall = time.perf_counter() - started
            ours_s, plain_s = median_seconds(ours), median_seconds(plain)
    finally:
        server.terminate()
        server.wait()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"cores: {os.cpu_count()}, load average (1, 5, 15 min): {load}")
    print(
        f"{conversations} conversations at once, {args.turns} turns, target replies in "
        f"{args.delay:.1f} s (ideal conversation: {args.turns * args.delay:.1f} s)"
    )
    print(f"delusion_validation: median conversation {ours_s:.1f} s (run {ours_wall:.0f} s)")
    print(f"plain Inspect task, same calls: median {plain_s:.1f} s (run {plain_wall:.0f} s)")
    print(f"ratio: {ours_s / plain_s:.2f}x (goal: within 1.1x)")


if __name__ == "__main__":
    main()
