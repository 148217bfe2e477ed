"""What the bwrap sandbox costs: seconds to set a sample up and tear it down, and per command.

    python benchmarks/sandbox_overhead.py [--samples 5] [--commands 50]

Each command is `true`, so the time is the sandbox's own (cgroup join, namespace entry, bwrap).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from traitlab.sandbox import BwrapConfig, BwrapMount, BwrapSandboxEnvironment
from traitlab.sandbox.launcher import launcher


async def measure(samples: int, commands: int) -> None:
    config = BwrapConfig(mounts=[BwrapMount(path="/app"), BwrapMount(path="/usr/local/bin")])
    probed = launcher(config.host_uid)
    print(f"launcher: {probed}")
    setups, cleanups, per_command = [], [], []
    for _ in range(samples):
        start = time.perf_counter()
        environments = await BwrapSandboxEnvironment.sample_init("bench", config, {})
        setups.append(time.perf_counter() - start)
        sandbox = environments["default"]
        await sandbox.exec(["true"])  # warm
        start = time.perf_counter()
        for _ in range(commands):
            await sandbox.exec(["true"])
        per_command.append((time.perf_counter() - start) / commands)
        start = time.perf_counter()
        await BwrapSandboxEnvironment.sample_cleanup("bench", config, environments, False)
        cleanups.append(time.perf_counter() - start)
    print(f"sample setup:   median {statistics.median(setups) * 1000:.1f} ms")
    print(f"sample cleanup: median {statistics.median(cleanups) * 1000:.1f} ms")
    print(f"per command:    median {statistics.median(per_command) * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--commands", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(measure(args.samples, args.commands))


if __name__ == "__main__":
    main()
