"""Our eval code's overhead at high concurrency: delusion_validation against a plain Inspect task.

    PYTHONPATH=. python benchmarks/eval_concurrency.py              # 100 conversations, 12 turns
    PYTHONPATH=. python benchmarks/eval_concurrency.py --epochs 2 --turns 3 --rounds 1  # a look

A local OpenAI-compatible server on 127.0.0.1 answers every request in exactly `--delay`
seconds (1.0), whichever role asks: the red team (model ``redteam``) gets a reply with
``<notes>`` and ``<message>`` blocks, the target (``target``) a grounding reply, the judge
(``judge``) one valid turn grade with verbatim quotes of that reply. So every call of both runs
costs the same and goes over HTTP, and the difference between the runs is the code around the
calls. Both runs have the same conversations at once (10 samples x `--epochs`, all started
together), the same `--max-connections` for every role (each role is its own connection pool),
and the same calls in the same order: per turn a red-team call, then a target call; once the
conversation is over, a judge call per turn, all at once (as delusion_validation's scorer
grades). The grade confirms no delusion, so the verifier is never asked and no reply is retried:
3 calls per turn.

The first run is `traitlab/delusion_validation` (red-team loop with its prompts, turn grading
with parsing, evidence checks and metrics); the second a plain Inspect task that makes the same
calls with about as many bytes and parses nothing. The server counts the requests of each run
by role, and the bytes it received; the ratio is printed only when both runs made the same
requests. After an untimed warm-up run of each (one turn: the first run in a process pays for
lazy imports), `--rounds` runs the two alternately (A B A B ...), as a shared machine needs;
each run's median conversation time and CPU seconds are printed, then the median over rounds,
their ratio and the load average. The server runs in its own process, so its work does not slow
the eval's event loop. `--profile DIR` runs each once under cProfile instead, after the
warm-up (CPU time, the whole eval, one file per run).
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
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

ROLES = ("redteam", "target", "judge")


def role_replies() -> dict[str, str]:
    """What the server answers each role: a usable reply that needs no retry or verification."""
    from traitlab.evals.delusion_validation import demo

    grade = {
        "explanation": "The reply names the distress and points to a doctor.",
        "confirmation": 1,
        "pushback": 2,
        "pushback_quote": "Stress and poor sleep",
        "referral": True,
        "referral_quote": "talk to a doctor",
        "criteria": dict.fromkeys(demo.CRITERIA, 5),
    }
    return {
        "redteam": "<notes>The target pushed back; press on.</notes>\n"
        "<message>The numbers keep following me everywhere I go.</message>",
        "target": demo.GROUNDING,
        "judge": json.dumps(grade),
    }


def serve(port: int, delay: float) -> None:
    """An OpenAI-compatible chat completions endpoint that answers after exactly `delay` s.

    ``GET /stats`` returns the requests so far per model name, and the bytes received.
    """
    from aiohttp import web

    replies = role_replies()
    counts: Counter[str] = Counter()

    async def complete(request: web.Request) -> web.Response:
        raw = await request.read()
        body = json.loads(raw)
        model = body.get("model", "")
        counts[model] += 1
        counts[f"{model} bytes"] += len(raw)
        await asyncio.sleep(delay)
        return web.json_response(
            {
                "id": "bench",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": replies.get(model, "?")},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
            }
        )

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(dict(counts))

    app = web.Application(client_max_size=64 * 2**20)
    app.router.add_post("/v1/chat/completions", complete)
    app.router.add_get("/stats", stats)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, backlog=4096)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            server_stats(port)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the benchmark server did not start on port {port}")


def server_stats(port: int) -> Counter[str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as response:
        return Counter(json.load(response))


def plain_task(turns: int):  # type: ignore[no-untyped-def]
    """delusion_validation's calls in its order, with nothing of ours around them.

    The requests carry about as many bytes as delusion_validation's: the text of its prompt
    files, persona and rubric goes along unprocessed (no templates, no parsing).
    """
    from inspect_ai import Task
    from inspect_ai.dataset import MemoryDataset, Sample
    from inspect_ai.model import (
        ChatMessage,
        ChatMessageAssistant,
        ChatMessageSystem,
        ChatMessageUser,
        get_model,
    )
    from inspect_ai.scorer import Score, Target, mean, scorer
    from inspect_ai.solver import Generate, TaskState, solver

    folder = Path(__file__).parents[1] / "traitlab/evals/delusion_validation"
    files = {path.stem: path.read_text() for path in (folder / "prompts").glob("*.md")}
    personas = sorted((folder / "personas").glob("*.md"))
    rubric = files["judge"] + (folder / "criteria.md").read_text()

    @solver
    def conversation():  # type: ignore[no-untyped-def]
        async def solve(state: TaskState, generate: Generate) -> TaskState:
            redteam = get_model(role="redteam")
            brief = files["redteam"] + state.input_text
            asked: list[ChatMessage] = [ChatMessageSystem(content=brief)]
            state.messages = [ChatMessageSystem(content=files["therapist"])]
            for _ in range(turns):
                heard = state.messages[-1].text if len(state.messages) > 1 else ""
                asked.append(ChatMessageUser(content=heard + files["turn_guidance"]))
                user = await redteam.generate(asked)
                asked.append(ChatMessageAssistant(content=user.completion))
                state.messages.append(ChatMessageUser(content=user.completion))
                state = await generate(state)
            return state

        return solve

    @scorer(metrics=[mean()])
    def judge_every_turn():  # type: ignore[no-untyped-def]
        async def score(state: TaskState, target: Target) -> Score:
            judge = get_model(role="judge")
            turns_so_far = [
                "\n".join(m.text for m in state.messages[1 : 2 * i + 3]) for i in range(turns)
            ]
            await asyncio.gather(*(judge.generate(rubric + text) for text in turns_so_far))
            return Score(value=1)

        return score

    samples = [Sample(id=f"p{i}", input=personas[i % len(personas)].read_text()) for i in range(10)]
    return Task(dataset=MemoryDataset(samples), solver=conversation(), scorer=judge_every_turn())


def median_seconds(log) -> float:  # type: ignore[no-untyped-def]
    if log.status != "success":
        raise SystemExit(f"{log.eval.task} failed: {log.error}")
    return statistics.median(sample.total_time for sample in log.samples)


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="Conversations per sample.")
    parser.add_argument("--turns", type=int, default=12, help="User turns per conversation.")
    parser.add_argument("--delay", type=float, default=1.0, help="Seconds per reply.")
    parser.add_argument("--max-connections", type=int, default=200, help="For every role.")
    parser.add_argument("--rounds", type=int, default=4, help="Runs of each, alternated.")
    parser.add_argument(
        "--profile", type=Path, help="Folder for a cProfile of one run of each (no timing)."
    )
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.delay)
        return

    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import get_model

    from traitlab.evals.delusion_validation.delusion_validation import delusion_validation

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), "--delay", str(args.delay)]
    )
    tasks = {
        "delusion_validation": lambda turns: delusion_validation(turns=turns),
        "plain Inspect task": plain_task,
    }
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in tasks}
    try:
        wait_for(port)
        os.environ["BENCH_BASE_URL"] = f"http://127.0.0.1:{port}/v1"
        os.environ["BENCH_API_KEY"] = "local"

        def run(
            name: str, logs: str, epochs: int = args.epochs, turns: int = args.turns
        ) -> dict[str, Any]:
            before, load, started = server_stats(port), loadavg(), time.perf_counter()
            cpu = time.process_time()
            [log] = inspect_eval(
                tasks[name](turns),
                model=get_model("openai-api/bench/target", memoize=False),
                model_roles={
                    role: get_model(f"openai-api/bench/{role}", memoize=False)
                    for role in ("redteam", "judge")
                },
                epochs=epochs,
                max_connections=args.max_connections,
                max_samples=10 * epochs,
                log_dir=str(Path(logs) / name.replace(" ", "_")),
                display="none",
                fail_on_error=True,
            )
            wall = time.perf_counter() - started
            cpu = time.process_time() - cpu
            calls = server_stats(port) - before
            return {
                "bytes": {role: calls[f"{role} bytes"] for role in ROLES},
                "median": median_seconds(log),
                "wall": wall,
                "cpu": cpu,
                "calls": {role: calls[role] for role in ROLES},
                "load": load,
            }

        with tempfile.TemporaryDirectory() as logs:
            for name in tasks:  # untimed: the first run in a process pays for lazy imports
                run(name, logs, epochs=1, turns=1)
            if args.profile:
                import cProfile

                args.profile.mkdir(parents=True, exist_ok=True)
                for name in tasks:
                    profiler = cProfile.Profile()
                    profiler.runcall(run, name, logs)
                    path = args.profile / f"{name.split()[0]}.prof"
                    profiler.dump_stats(path)
                    print(f"profile of one {name} run: {path}")
                return
            for _ in range(args.rounds):
                for name in tasks:
                    results[name].append(run(name, logs))
    finally:
        server.terminate()
        server.wait()
    report(args, results)


def report(args: argparse.Namespace, results: dict[str, list[dict[str, Any]]]) -> None:
    conversations = 10 * args.epochs
    ideal = (2 * args.turns + 1) * args.delay
    print(f"cores: {os.cpu_count()}, load average (1, 5, 15 min) at the end: {loadavg()}")
    print(
        f"{conversations} conversations at once, {args.turns} turns, every reply in "
        f"{args.delay:.1f} s, max_connections {args.max_connections} per role (ideal "
        f"conversation: {args.turns} turns of a red-team and a target call, then the judge: "
        f"{ideal:.1f} s)"
    )
    for name, runs in results.items():
        for number, run in enumerate(runs, start=1):
            calls = ", ".join(
                f"{role} {n} ({run['bytes'][role] / n / 1e3:.1f} kB each)"
                for role, n in run["calls"].items()
            )
            print(
                f"{name} run {number}: median conversation {run['median']:.1f} s, run "
                f"{run['wall']:.0f} s, CPU {run['cpu']:.0f} s; requests: {calls}; "
                f"load before: {run['load']}"
            )
    counts = {json.dumps(run["calls"]) for runs in results.values() for run in runs}
    if len(counts) != 1:
        print("the runs made different requests to the server: no ratio (they are not alike)")
        raise SystemExit(1)
    ours_runs, plain_runs = results.values()
    paired = ", ".join(
        f"{a['median'] / b['median']:.2f}x" for a, b in zip(ours_runs, plain_runs, strict=True)
    )
    print(f"ratio per round (each run beside the other run of its round): {paired}")
    ours, plain = (statistics.median(r["median"] for r in runs) for runs in (ours_runs, plain_runs))
    print(f"median of {args.rounds} rounds: delusion_validation {ours:.1f} s, plain {plain:.1f} s")
    print(f"ratio: {ours / plain:.2f}x (goal: within 1.1x)")


if __name__ == "__main__":
    main()
