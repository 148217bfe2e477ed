"""The sandbox's budget is the sample's, not each process's; and no host path shows in /proc."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.sandbox.processes import host_processes
from traitlab.sandbox import BwrapConfig, BwrapLimits, BwrapMount, BwrapSandboxEnvironment
from traitlab.sandbox import bwrap as bwrap_module
from traitlab.sandbox.cgroup import PROBE_PREFIX, remove_stale_probes
from traitlab.sandbox.launcher import (
    BwrapUnavailableError,
    Launcher,
    _cgroup_reason,
    launcher,
    remove_orphans,
)

Sandbox = BwrapSandboxEnvironment
REPO = Path(__file__).resolve().parents[2]
# Six processes that each take 60 MiB (well under their own address-space limit; 360 MiB
# together) and say "held" only once all six hold theirs at the same time.
HOG = """
import os, time
x = bytearray(60 << 20)
open(f"/tmp/hog-{os.getpid()}", "w").close()
end = time.time() + 3
while len(os.listdir("/tmp")) < 6 and time.time() < end:
    time.sleep(0.05)
print("held" if len(os.listdir("/tmp")) >= 6 else "alone")
"""
HOGS = f"for i in 1 2 3 4 5 6; do python3 -c {shlex.quote(HOG)} & done; wait"


@pytest.fixture
def cgroups(bwrap: None) -> Launcher:
    """The probed launcher, or a skip saying why this host gives the sandbox no cgroup."""
    probed = launcher(BwrapConfig().host_uid)
    if probed.cgroups is None:
        pytest.skip(f"no usable cgroup on this host: {_cgroup_reason()}")
    return probed


@pytest.fixture
async def opened() -> AsyncIterator[list[dict]]:
    """Samples opened by a test, cleaned up whatever the test does."""
    samples: list[dict] = []
    yield samples
    for environments in samples:
        await Sandbox.sample_cleanup("test", None, environments, False)


async def _sandbox(opened: list[dict], limits: BwrapLimits, **fields: object) -> Sandbox:
    environments = await Sandbox.sample_init("test", BwrapConfig(limits=limits, **fields), {})
    opened.append(environments)
    return environments["default"].as_type(Sandbox)


async def test_many_small_processes_share_one_memory_budget(
    cgroups: Launcher, opened: list[dict]
) -> None:
    tight = await _sandbox(opened, BwrapLimits(memory_mb=200))
    roomy = await _sandbox(opened, BwrapLimits(memory_mb=1024))
    tight_run, roomy_run = await asyncio.gather(
        tight.exec(["sh", "-c", HOGS]), roomy.exec(["sh", "-c", HOGS])
    )
    # the same processes fit a larger budget, so the kills come from the sample's budget
    assert roomy_run.stdout.count("held") == 6
    assert tight_run.stdout.count("held") == 0


async def test_processes_are_counted_across_the_samples_commands(
    cgroups: Launcher, opened: list[dict]
) -> None:
    """Two commands of one sample at once share `processes`; a command alone has all of it."""
    sandbox = await _sandbox(opened, BwrapLimits(processes=30))
    spawn = "for i in $(seq 20); do sleep 1.5 & done; touch /tmp/started; wait; echo done"
    after = "while [ ! -e /tmp/started ]; do sleep 0.05; done; for i in $(seq 20); do true & done"
    first, second = await asyncio.gather(
        sandbox.exec(["sh", "-c", spawn]), sandbox.exec(["sh", "-c", after], timeout=20)
    )
    assert first.stdout == "done\n"
    assert not second.success and "fork" in second.stderr.lower()
    assert (await sandbox.exec(["sh", "-c", spawn])).stdout == "done\n"


async def test_the_cgroup_goes_with_the_sample(cgroups: Launcher) -> None:
    environments = await Sandbox.sample_init("test", BwrapConfig(), {})
    space = environments["default"].as_type(Sandbox)._space
    assert space.cgroup is not None
    assert all(folder.is_dir() for folder in space.cgroup.folders)
    await environments["default"].exec(["true"])
    await Sandbox.sample_cleanup("test", None, environments, False)
    assert not any(folder.exists() for folder in space.cgroup.folders)
    assert not space.root.exists()


def test_a_killed_runs_cgroup_holder_and_processes_are_removed(cgroups: Launcher) -> None:
    """SIGKILL leaves a sample folder, its cgroup and a process in it; the next run's orphan
    cleanup removes all three, and the holder of its file system has ended by itself."""
    marker = f"sleep {6000 + os.getpid() % 1000}"
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, signal, subprocess, time\n"
            "from traitlab.sandbox.config import BwrapConfig\n"
            "from traitlab.sandbox.launcher import launcher, open_sample\n"
            "space = open_sample(launcher(BwrapConfig().host_uid), BwrapConfig())\n"
            f"subprocess.Popen([*space.cgroup.join_args(), 'sh', '-c', 'exec {marker}'],\n"
            "                 start_new_session=True, stdin=subprocess.DEVNULL,\n"
            "                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
            "time.sleep(0.5)\n"
            "print(space.root, space.holder.pid, *space.cgroup.folders, flush=True)\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60,
    )
    assert killed.returncode == -9, killed.stderr
    root, holder, *cgroup = killed.stdout.split()
    folders = [Path(f) for f in cgroup]
    assert Path(root).is_dir() and all(f.is_dir() for f in folders)
    assert host_processes(marker), "the planted process should still run in the orphaned cgroup"
    _wait_until(lambda: not Path(f"/proc/{holder}").exists())  # its stdin closed with the run
    assert Path(root) in remove_orphans()
    assert not Path(root).exists() and not any(f.exists() for f in folders)
    _wait_until(lambda: not host_processes(marker))


async def test_without_a_cgroup_processes_times_memory_stays_in_budget(
    bwrap: None, opened: list[dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fallback (no usable cgroup): 16 processes of memory_mb / 16 each, by rlimits."""
    plain = dataclasses.replace(launcher(BwrapConfig().host_uid), cgroups=None)
    monkeypatch.setattr(bwrap_module, "launcher", lambda host_uid: plain)
    sandbox = await _sandbox(opened, BwrapLimits(memory_mb=1024))
    assert sandbox._space.cgroup is None
    result = await sandbox.exec(["cat", "/proc/self/limits"])
    limits = {
        " ".join(line.split()[:-3]): line.split()[-3] for line in result.stdout.splitlines()[1:]
    }
    assert limits["Max address space"] == str(64 << 20)
    if plain.userns:  # the kernel never limits processes of uid 0
        assert limits["Max processes"] == "16"


@pytest.fixture
def private_tempdir(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """A temp dir whose name occurs nowhere else, so that any leak of it shows."""
    # pytest places its own temporary folders under the temp dir the first time one is asked
    # for: settle that first, or they would land in this folder and vanish with it.
    tmp_path_factory.getbasetemp()
    folder = Path(tempfile.mkdtemp(prefix="tl-tempdir-"))
    folder.chmod(0o755)  # the sandbox user must reach the samples' folders
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


async def test_no_host_path_shows_in_proc(
    bwrap: None, private_tempdir: Path, scenario: Path, opened: list[dict]
) -> None:
    mounts = [BwrapMount(path="/app", source=str(scenario)), BwrapMount(path="/usr/local/bin")]
    sandbox = await _sandbox(opened, BwrapLimits(), mounts=mounts, workdir="/app")
    assert str(sandbox._space.root).startswith(str(private_tempdir))
    result = await sandbox.exec(
        ["sh", "-c", "cat /proc/self/mountinfo /proc/self/mounts /proc/1/mountinfo; ls data"]
    )
    assert result.success and result.stdout.endswith("records.csv\n")
    for host_path in [sandbox._space.root, private_tempdir, scenario, REPO, sys.prefix]:
        assert str(host_path) not in result.stdout
    assert " /0 /app " in result.stdout  # a folder of the sample's own tmpfs


def _wait_until(condition, timeout: float = 10) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


async def test_sources_larger_than_the_file_system_fail_in_one_line(
    bwrap: None, tmp_path: Path, opened: list[dict]
) -> None:
    source = tmp_path / "big"
    source.mkdir()
    (source / "data.bin").write_bytes(b"\0" * (2 << 20))
    with pytest.raises(BwrapUnavailableError, match=r"No space left.*limits\.files_mb=1"):
        await _sandbox(
            opened, BwrapLimits(files_mb=1), mounts=[BwrapMount(path="/app", source=str(source))]
        )


@pytest.mark.slow
def test_an_unprivileged_user_gets_the_same_sandbox(bwrap: None, tmp_path: Path) -> None:
    """Run by a user that is not root (no setpriv, and here no cgroup): still no host path."""
    if os.geteuid() != 0:
        pytest.skip("the test drops from root to nobody; it runs as a user already")
    workdir = Path(tempfile.mkdtemp(prefix="tl-unprivileged-"))
    try:
        shutil.chown(workdir, 65534, 65534)
        script = (
            "import asyncio\n"
            "from traitlab.sandbox import BwrapConfig, BwrapSandboxEnvironment as S\n"
            "async def main():\n"
            "    envs = await S.sample_init('t', BwrapConfig(), {})\n"
            "    sandbox = envs['default']\n"
            "    done = await sandbox.exec(['sh', '-c', 'id -u; cat /proc/self/mountinfo'])\n"
            "    print(sandbox._space.root, done.stdout, sep='\\n')\n"
            "    await S.sample_cleanup('t', None, envs, False)\n"
            "asyncio.run(main())\n"
        )
        done = subprocess.run(
            [
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                sys.executable,
                "-c",
                script,
            ],
            capture_output=True,
            text=True,
            env={
                "PATH": os.environ["PATH"],
                "PYTHONPATH": str(REPO),
                "TMPDIR": str(workdir),
                "HOME": str(workdir),
            },
            cwd=workdir,
            timeout=120,
        )
        if done.returncode != 0 and "Permission denied" in done.stderr:
            pytest.skip(
                f"nobody cannot read the checkout or the venv: {done.stderr.splitlines()[-1]}"
            )
        assert done.returncode == 0, done.stderr
        root, uid, *mountinfo = done.stdout.splitlines()
        assert uid == "0" and root.startswith(str(workdir))
        assert " /0 /root " in "\n".join(mountinfo) and str(workdir) not in "\n".join(mountinfo)
        assert not Path(root).exists()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


async def test_a_sample_whose_holder_died_fails_in_one_line(
    bwrap: None, opened: list[dict]
) -> None:
    """Its PID stays reserved (never reaped before cleanup), so no other process is entered."""
    sandbox = await _sandbox(opened, BwrapLimits())
    sandbox._space.holder.kill()
    _wait_until(
        lambda: Path(f"/proc/{sandbox._space.holder.pid}/stat").read_text().split()[2] == "Z"
    )
    with pytest.raises(BwrapUnavailableError, match="holder process exited"):
        await sandbox.exec(["true"])


@pytest.mark.parametrize("cgroup", [True, False])
async def test_each_task_logs_which_limit_holds(
    bwrap: None, cgroup: bool, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    probed = launcher(BwrapConfig().host_uid)
    if cgroup and probed.cgroups is None:
        pytest.skip(f"no usable cgroup on this host: {_cgroup_reason()}")
    used = probed if cgroup else dataclasses.replace(probed, cgroups=None)
    monkeypatch.setattr(bwrap_module, "launcher", lambda host_uid: used)
    with caplog.at_level("INFO", logger="traitlab.sandbox"):
        await Sandbox.task_init("test", None)
    [record] = [r for r in caplog.records if r.name == "traitlab.sandbox.bwrap"]
    if cgroup:
        assert record.levelname == "INFO" and "limit each sample as a whole" in record.message
    else:
        assert record.levelname == "WARNING" and "no usable cgroup" in record.message
        assert "fallback_processes" in record.message


def test_probe_cgroups_of_a_killed_run_are_removed_and_live_ones_kept(cgroups: Launcher) -> None:
    """A run killed during its probe leaves `traitlab-probe-PID`; the next probe removes it."""
    plan = cgroups.cgroups
    assert plan is not None
    child = subprocess.Popen(["true"])
    child.wait()
    dead, live = f"{PROBE_PREFIX}{child.pid}", f"{PROBE_PREFIX}{os.getpid()}"
    for name in (dead, live):
        for parent in plan.parents:
            (parent / name).mkdir()
    try:
        assert remove_stale_probes(plan) == [dead]
        assert not any((parent / dead).exists() for parent in plan.parents)
        assert all((parent / live).is_dir() for parent in plan.parents)
    finally:
        for parent in plan.parents:
            for name in (dead, live):
                if (parent / name).exists():
                    (parent / name).rmdir()
