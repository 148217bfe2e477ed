"""The bwrap sandbox's config: validated paths, the files it is read from, the limits it sets."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
from inspect_ai.util import SandboxEnvironmentSpec

from traitlab.errors import InputError
from traitlab.sandbox import BwrapConfig, BwrapLimits, BwrapMount
from traitlab.sandbox.cgroup import Cgroup
from traitlab.sandbox.config import load_config
from traitlab.sandbox.launcher import Launcher, SampleSpace, check_mountable, limit_args


def test_mounts_include_private_dirs_parents_first() -> None:
    config = BwrapConfig(mounts=[BwrapMount(path="/usr/local/bin"), BwrapMount(path="/app/")])
    assert [m.path for m in config.all_mounts()] == [
        "/app",
        "/root",
        "/tmp",
        "/var/tmp",
        "/usr/local/bin",
    ]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("app", "absolute"),
        ("/", "root itself"),
        ("/proc/self", "made by the sandbox"),
        ("/dev", "made by the sandbox"),
    ],
)
def test_bad_mount_paths(path: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        BwrapMount(path=path)


def test_a_path_mounted_twice() -> None:
    with pytest.raises(ValueError, match="mounted twice: /app"):
        BwrapConfig(mounts=[BwrapMount(path="/app"), BwrapMount(path="/app/.")])


def test_load_config_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "bwrap.yaml"
    path.write_text(
        "mounts:\n  - {path: /app, source: scenario}\nworkdir: /app\nlimits:\n  timeout: 30\n"
    )
    config = load_config(str(path))
    assert config.workdir == "/app" and config.limits.timeout == 30
    assert config.mounts[0].source == str(tmp_path / "scenario")  # relative to the file
    assert load_config(None) == BwrapConfig()


def test_bad_config_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bwrap.yaml"
    path.write_text("mounts:\n  - path: app\n")
    with pytest.raises(InputError, match=r"bwrap\.yaml: bad bwrap sandbox config: mounts\.0\.path"):
        load_config(str(path))
    with pytest.raises(InputError, match="not found"):
        load_config(str(tmp_path / "missing.yaml"))


def test_config_survives_inspects_serialisation() -> None:
    """Inspect logs the spec as a dict and rebuilds the model through the provider."""
    import traitlab.sandbox  # noqa: F401  (registers the provider)

    config = BwrapConfig(mounts=[BwrapMount(path="/app", read_only=True)], env={"LANG": "C"})
    spec = SandboxEnvironmentSpec("bwrap", config)
    again = SandboxEnvironmentSpec.model_validate(spec.model_dump())
    assert again.config == config


def test_limits_become_prlimit_options() -> None:
    limits = BwrapLimits(memory_mb=1, processes=7, file_size_mb=None, open_files=64)
    assert limit_args(limits, cgroup=False) == ["--as=1048576", "--nproc=7", "--nofile=64"]
    # with a cgroup, the sample's budget is the cgroup's: no per-command process cap
    assert limit_args(limits, cgroup=True) == ["--as=1048576", "--nofile=64"]


@pytest.mark.parametrize(
    ("limits", "cgroup", "expected"),
    [
        # a cgroup holds the whole budget; one process may use all of it
        (BwrapLimits(), True, (4096, None)),
        (BwrapLimits(process_memory_mb=512), True, (512, None)),
        # without one, the budget is split: 16 processes of 256 MiB make 4096
        (BwrapLimits(), False, (256, 16)),
        (BwrapLimits(memory_mb=2048, fallback_processes=4), False, (512, 4)),
        # fewer processes allowed than the split: each gets a larger share, still within budget
        (BwrapLimits(memory_mb=1000, processes=8), False, (125, 8)),
        # a smaller per-process cap is kept; a larger one never breaks the budget
        (BwrapLimits(memory_mb=4096, process_memory_mb=100), False, (100, 16)),
        (BwrapLimits(memory_mb=4096, process_memory_mb=9999), False, (256, 16)),
        (BwrapLimits(memory_mb=None, process_memory_mb=300), False, (300, 16)),
    ],
)
def test_fallback_keeps_processes_times_memory_within_the_budget(
    limits: BwrapLimits, cgroup: bool, expected: tuple[int | None, int | None]
) -> None:
    address_space, processes = limits.per_process(cgroup)
    assert (address_space, processes) == expected
    if not cgroup and limits.memory_mb is not None:
        assert address_space * processes <= limits.memory_mb


def test_fallback_needs_a_sane_number_of_processes() -> None:
    with pytest.raises(ValueError, match="greater than or equal to 4"):
        BwrapLimits(fallback_processes=2)


def test_mount_inside_a_read_only_host_path_must_exist() -> None:
    check_mountable("/usr/bin", ["/usr"])
    with pytest.raises(InputError, match="inside the read-only host path /usr"):
        check_mountable("/usr/no-such-dir-here", ["/usr"])


def _space(cgroup: Cgroup | None) -> SampleSpace:
    """A sample's host side as the command line reads it (no folder, holder or cgroup made)."""
    config = BwrapConfig(env={"LANG": "C.UTF-8"})
    backing = {m.path: Path(f"/files/{i}") for i, m in enumerate(config.all_mounts())}
    holder = cast("subprocess.Popen[bytes]", SimpleNamespace(pid=4242))
    return SampleSpace(Path("/host/sandbox-x"), io.BytesIO(), holder, backing, cgroup)


def test_command_line_has_no_host_variables() -> None:
    launcher = Launcher("/b/bwrap", "/usr/bin/prlimit", "/usr/bin/env", "/u/unshare", "/u/nsenter")
    config = BwrapConfig(env={"LANG": "C.UTF-8"})
    argv = launcher.argv(config, _space(None), ["ls"], cwd="/root", env={"X": "1"})
    assert argv[:6] == ["/usr/bin/env", "-i", "/u/nsenter", "-t", "4242", "-m"]
    bwrap = argv.index("/b/bwrap")
    for flag in ["--unshare-all", "--clearenv", "--die-with-parent", "--as-pid-1"]:
        assert flag in argv[bwrap:]
    assert argv[argv.index("--cap-drop") + 1] == "ALL"
    settings = [argv[i + 1] for i, a in enumerate(argv) if a == "--setenv"]
    assert settings == ["PATH", "HOME", "LANG", "X"]
    assert argv[-2:] == ["--", "ls"]
    # mounts bind folders of the sample's tmpfs, never a host folder
    root = argv.index("/root")
    assert argv[root - 2 : root + 1] == ["--bind", "/files/0", "/root"]


def test_a_command_joins_the_cgroup_before_dropping_root() -> None:
    prefix = ("/usr/bin/setpriv", "--reuid=65534", "--")
    launcher = Launcher("/b/bwrap", "/p", "/usr/bin/env", "/u", "/n", prefix, True, 65534)
    cgroup = Cgroup((Path("/cg/memory/traitlab-x"), Path("/cg/pids/traitlab-x")), 1)
    argv = launcher.argv(BwrapConfig(), _space(cgroup), ["ls"], cwd="/root")
    join = argv.index("/bin/sh")
    procs = ["/cg/memory/traitlab-x/tasks", "/cg/pids/traitlab-x/tasks", "--"]
    assert argv[join + 4 : join + 7] == procs
    assert join < argv.index("/usr/bin/setpriv") < argv.index("/n") < argv.index("/b/bwrap")
    nsenter = argv.index("/n")
    assert argv[nsenter : nsenter + 7] == [
        "/n",
        "-t",
        "4242",
        "-m",
        "-U",
        "--preserve-credentials",
        "--",
    ]
    # the sample's budget is the cgroup's, so no per-command process cap
    assert not any(a.startswith("--nproc") for a in argv)
