"""The bwrap sandbox's config: validated paths, the files it is read from, the limits it sets."""

from __future__ import annotations

from pathlib import Path

import pytest
from inspect_ai.util import SandboxEnvironmentSpec

from traitlab.errors import InputError
from traitlab.sandbox import BwrapConfig, BwrapLimits, BwrapMount
from traitlab.sandbox.config import load_config
from traitlab.sandbox.launcher import Launcher, check_mountable, limit_args


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


def test_mount_inside_a_read_only_host_path_must_exist() -> None:
    check_mountable("/usr/bin", ["/usr"])
    with pytest.raises(InputError, match="inside the read-only host path /usr"):
        check_mountable("/usr/no-such-dir-here", ["/usr"])


def test_command_line_has_no_host_variables() -> None:
    launcher = Launcher(bwrap="/b/bwrap", prlimit="/usr/bin/prlimit", env="/usr/bin/env")
    config = BwrapConfig(env={"LANG": "C.UTF-8"})
    backing = {m.path: Path(f"/host{m.path}") for m in config.all_mounts()}
    argv = launcher.argv(config, backing, ["ls"], cwd="/root", env={"X": "1"})
    assert argv[:3] == ["/usr/bin/env", "-i", "/b/bwrap"]
    for flag in ["--unshare-all", "--clearenv", "--die-with-parent", "--as-pid-1"]:
        assert flag in argv
    assert argv[argv.index("--cap-drop") + 1] == "ALL"
    settings = [argv[i + 1] for i, a in enumerate(argv) if a == "--setenv"]
    assert settings == ["PATH", "HOME", "LANG", "X"]
    assert argv[-2:] == ["--", "ls"]
