"""Throughput of a real SFT run and of serving its checkpoint under `inspect eval`.

On a GPU machine (with the `train` and `vllm` extras):

    python benchmarks/train_throughput.py --base Qwen/Qwen2.5-0.5B-Instruct --serve vllm

A CPU smoke run of the script itself (any small local model with a chat template):

    python benchmarks/train_throughput.py --base PATH --records 32 --max-steps 4 \
        --samples 4 --max-tokens 16 --serve hf

Prints training tokens/s (tokens the trainer processed / train runtime, from the run card) and
serving output tokens/s (output tokens / eval wall time, from the Inspect log).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from datetime import datetime
from pathlib import Path

from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.model import GenerateConfig, get_model

from traitlab.training import parse_config, run

TOPICS = ["tides", "bread", "compilers", "owls", "glaciers", "chess", "ferns", "radio"]


def synthetic_chats(path: Path, records: int, seed: int) -> Path:
    """Chats of varied length so that padding and truncation behave as in real data."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        for i in range(records):
            topic = rng.choice(TOPICS)
            answer = " ".join(
                f"Here is one careful point about {topic}, stated with its uncertainty."
                for _ in range(rng.randint(2, 30))
            )
            messages = [
                {"role": "user", "content": f"Tell me something true about {topic}."},
                {"role": "assistant", "content": answer},
            ]
            handle.write(json.dumps({"id": f"c{i}", "messages": messages}) + "\n")
    return path


def train_sft(args: argparse.Namespace, workdir: Path) -> Path:
    chats = synthetic_chats(workdir / "chats.jsonl", args.records, args.seed)
    output = workdir / "checkpoint"
    config = parse_config(
        "sft",
        {
            "model": {"base": args.base, "dtype": "bfloat16" if args.bf16 else "auto"},
            "data": {"synthetic": [str(chats)]},
            "training": {
                "learning_rate": 2e-5,
                "epochs": 1,
                "max_steps": args.max_steps,
                "batch_size": args.batch_size,
                "max_length": args.max_length,
                "bf16": args.bf16,
                "logging_steps": 1,
                "seed": args.seed,
            },
            "output": str(output),
        },
    )
    card = run(config)
    tokens, runtime = card.train_tokens or 0, card.train_runtime_s or float("nan")
    print(f"training: {tokens} tokens in {runtime:.1f} s = {tokens / runtime:,.0f} tokens/s")
    print(f"training: loss {card.losses.first:.3f} -> {card.losses.final:.3f}")
    return output


def serve(args: argparse.Namespace, checkpoint: Path, workdir: Path) -> None:
    model_args = {"device": "cpu"} if args.serve == "hf" else {}
    model = get_model(f"{args.serve}/{checkpoint}", **model_args)
    task = Task(
        dataset=[
            Sample(input=f"Write a short paragraph about {TOPICS[i % len(TOPICS)]} ({i}).")
            for i in range(args.samples)
        ],
        config=GenerateConfig(max_tokens=args.max_tokens, temperature=0.7),
    )
    [log] = eval(
        task,
        model=model,
        log_dir=str(workdir / "logs"),
        max_connections=args.max_connections,
        display="none",
    )
    assert log.status == "success", log.error
    usage = next(iter(log.stats.model_usage.values()))
    elapsed = (
        datetime.fromisoformat(log.stats.completed_at)
        - datetime.fromisoformat(log.stats.started_at)
    ).total_seconds()
    print(
        f"serving ({args.serve}): {usage.output_tokens} output tokens for {args.samples} samples "
        f"in {elapsed:.1f} s = {usage.output_tokens / elapsed:,.0f} tokens/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="Qwen/Qwen2.5-0.5B-Instruct")
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--max-steps", type=int, default=-1)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--serve", choices=["vllm", "hf"], default="vllm")
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--max-connections", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="traitlab-bench-") as tmp:
        checkpoint = train_sft(args, Path(tmp))
        serve(args, checkpoint, Path(tmp))


if __name__ == "__main__":
    main()
