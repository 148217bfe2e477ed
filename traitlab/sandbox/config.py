"""Configuration of the bubblewrap sandbox: what the agent sees and what it may use.

The model is the sandbox config that Inspect passes to the provider (``Sample(sandbox=
SandboxEnvironmentSpec("bwrap", BwrapConfig(...)))``), or a YAML/JSON file of the same fields
named on the command line (``--sandbox bwrap:bwrap.yaml``).
"""

from __future__ import annotations

import json
import posixpath
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from traitlab.errors import InputError, read_user_text

# Host directories the agent may read (never write): enough for a shell, coreutils and python3.
# A whitelist, not the whole root: /root, /home, /work, /tmp and /run hold the keys, checkouts
# and logs of the person running the eval, which the agent has no business reading.
DEFAULT_HOST_PATHS = (
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc",
    "/opt",
)
# Private writable directories every sample gets, as a container would have them.
PRIVATE_DIRS = ("/tmp", "/var/tmp", "/root")
# Kernel file systems the sandbox makes itself (a new /proc for its PID namespace, a minimal /dev).
RESERVED = ("/proc", "/dev", "/sys")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# `nobody`: the unprivileged host user that runs the sandbox when the eval runs as root, so that
# the kernel enforces the process limit (it never does for uid 0) and root-only files stay shut.
NOBODY = 65534


def _sandbox_path(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"sandbox paths are absolute: {value!r}")
    path = posixpath.normpath(value)
    path = "/" + path.lstrip("/")  # normpath keeps a leading '//'
    if path == "/":
        raise ValueError("the sandbox root itself cannot be a mount")
    if any(path == r or path.startswith(f"{r}/") for r in RESERVED):
        raise ValueError(f"{path} is made by the sandbox (/proc, /dev, /sys)")
    return path


class BwrapMount(BaseModel):
    """A private directory of the sample, mounted at `path` inside the sandbox.

    Each sample gets its own empty host directory for every mount (a temporary one, removed at
    sample cleanup); `source`, when given, is copied into it first, so the host's copy is never
    touched by the agent.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str = Field(description="Absolute path inside the sandbox, e.g. /app.")
    source: str | None = Field(
        default=None, description="Host directory whose contents are copied in at sample start."
    )
    read_only: bool = Field(default=False, description="Mount it read-only for the agent.")

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        return _sandbox_path(value)


class BwrapLimits(BaseModel):
    """Limits of one sample's sandbox. `None` leaves a limit unset (the host's own applies).

    `memory_mb` and `processes` are a budget for the whole sample, all processes of all its
    commands together, enforced by a cgroup where the host lets traitlab make one. Elsewhere
    they fall back to per-process limits sized so that the sandbox stays within the same memory
    (see `fallback_processes`); which of the two held is logged when the first sample starts.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout: int | None = Field(
        default=600,
        gt=0,
        description="Seconds a command may run when the caller gives no timeout of its own.",
    )
    memory_mb: int | None = Field(
        default=4096,
        gt=0,
        description="Memory of the whole sandbox, swap included: its processes and the files"
        " it writes (a cgroup). Without a cgroup: split between `fallback_processes` processes.",
    )
    processes: int | None = Field(
        default=256,
        gt=0,
        description="Processes and threads of the whole sandbox (a cgroup; without one,"
        " RLIMIT_NPROC per command, at most `fallback_processes`).",
    )
    process_memory_mb: int | None = Field(
        default=None,
        gt=0,
        description="Address space of any one process (RLIMIT_AS), so that one oversized"
        " allocation fails with MemoryError instead of the sandbox being killed for memory."
        " Default: memory_mb (without a cgroup, memory_mb / fallback_processes).",
    )
    fallback_processes: int = Field(
        default=16,
        ge=4,
        description="Without a cgroup: the processes and threads a command may run, each"
        " limited to memory_mb / fallback_processes of address space (256 MiB by default), so"
        " that together they stay within memory_mb.",
    )
    files_mb: int = Field(
        default=1024,
        gt=0,
        description="Size of the sample's writable folders together: an in-memory file system"
        " (with a cgroup, what the agent writes there also counts towards memory_mb).",
    )
    file_size_mb: int | None = Field(
        default=1024, gt=0, description="Largest file a command may write (RLIMIT_FSIZE)."
    )
    open_files: int | None = Field(default=1024, gt=0, description="RLIMIT_NOFILE.")

    def per_process(self, cgroup: bool) -> tuple[int | None, int | None]:
        """The address space (MiB) and process count each command gets through rlimits.

        With a cgroup the budget is the cgroup's and a process may use all of it. Without one,
        the count is capped and the memory divided, so processes x address space <= memory_mb.
        """
        if cgroup:
            return self.process_memory_mb or self.memory_mb, None
        count = min(self.processes or self.fallback_processes, self.fallback_processes)
        if self.memory_mb is None:
            return self.process_memory_mb, count
        share = max(1, self.memory_mb // count)
        return min(share, self.process_memory_mb or share), count


class BwrapConfig(BaseModel):
    """What a sample's bubblewrap sandbox looks like from inside.

    The root is an empty read-only file system holding: the host's `host_paths` read-only, the
    sample's private writable `mounts` (plus private /tmp, /var/tmp and /root), a fresh /proc and
    a minimal /dev. No network, new PID/IPC/UTS/user namespaces, no capabilities, and an
    environment of `PATH`, `HOME` and `env` only.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    mounts: list[BwrapMount] = Field(default_factory=list)
    workdir: str = Field(
        default="/root", description="Where commands start and relative paths resolve."
    )
    host_paths: list[str] = Field(default_factory=lambda: list(DEFAULT_HOST_PATHS))
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment variables.")
    path: str = Field(default=DEFAULT_PATH, description="PATH inside the sandbox.")
    home: str = "/root"
    limits: BwrapLimits = Field(default_factory=BwrapLimits)
    host_uid: int = Field(
        default=NOBODY,
        ge=1,
        description="Unprivileged host user that runs the sandbox when the eval runs as root.",
    )

    def __hash__(self) -> int:
        # Inspect caches sandboxes by their config, so it must hash; lists and dicts do not.
        return hash(self.model_dump_json())

    @field_validator("workdir", "home")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"must be an absolute path: {value!r}")
        return posixpath.normpath(value)

    @field_validator("host_paths")
    @classmethod
    def _host_paths(cls, values: list[str]) -> list[str]:
        return [_sandbox_path(v) for v in values]

    @field_validator("env")
    @classmethod
    def _env(cls, values: dict[str, str]) -> dict[str, str]:
        for key in values:
            if not key or "=" in key or "\0" in key:
                raise ValueError(f"bad environment variable name: {key!r}")
        return values

    @model_validator(mode="after")
    def _distinct_mounts(self) -> BwrapConfig:
        paths = [m.path for m in self.mounts]
        duplicates = sorted({p for p in paths if paths.count(p) > 1})
        if duplicates:
            raise ValueError(f"mounted twice: {', '.join(duplicates)}")
        return self

    def all_mounts(self) -> list[BwrapMount]:
        """The configured mounts plus the private dirs not already covered, parents first."""
        mounts = list(self.mounts)
        taken = {m.path for m in mounts}
        mounts += [BwrapMount(path=p) for p in PRIVATE_DIRS if p not in taken]
        return sorted(mounts, key=lambda m: (m.path.count("/"), m.path))


def load_config(config: object) -> BwrapConfig:
    """The sandbox config from what Inspect passes: None, a model, a dict, or a file path."""
    if config is None:
        return BwrapConfig()
    if isinstance(config, BwrapConfig):
        return config
    try:
        if isinstance(config, BaseModel):
            return BwrapConfig.model_validate(config.model_dump())
        if isinstance(config, dict):
            return BwrapConfig.model_validate(config)
    except ValidationError as ex:
        raise InputError(f"bad bwrap sandbox config: {_first_error(ex)}") from None
    if isinstance(config, str | Path):
        text = read_user_text(config, "bwrap sandbox config")
        try:
            data = json.loads(text) if str(config).endswith(".json") else yaml.safe_load(text)
            loaded = BwrapConfig.model_validate(data or {})
        except (ValueError, yaml.YAMLError) as ex:
            reason = _first_error(ex) if isinstance(ex, ValidationError) else str(ex)
            raise InputError(f"bad bwrap sandbox config: {reason}", path=config) from None
        # A mount's relative source is relative to the file, as in a compose file.
        base = Path(config).resolve().parent
        mounts = [
            m.model_copy(update={"source": str(base / m.source)}) if m.source else m
            for m in loaded.mounts
        ]
        return loaded.model_copy(update={"mounts": mounts})
    raise InputError(f"bad bwrap sandbox config: expected a BwrapConfig, got {type(config)}")


def _first_error(ex: ValidationError) -> str:
    error = ex.errors()[0]
    where = ".".join(str(p) for p in error["loc"])
    return f"{where}: {error['msg']}" if where else error["msg"]
