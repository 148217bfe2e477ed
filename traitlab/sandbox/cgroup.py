"""One control group per sample: a memory and process budget for all of its commands together.

Per-process limits (RLIMIT_AS, RLIMIT_NPROC) cannot bound a sandbox: many processes, each under
its own limit, can together exhaust the host. A cgroup can. Which kind the host lets us use is
found once per process (`cgroup_plan`):

* cgroup v2 (one unified hierarchy) where our own cgroup may have children with the memory and
  pids controllers (a delegated subtree: systemd's ``Delegate=yes``, a container's private
  cgroup namespace with write access);
* cgroup v1 where the memory and pids hierarchies below our own cgroups are writable (root in
  most containers);
* else none, and the sandbox falls back to per-process limits (see `launcher.limit_args`).

Each sample gets a cgroup named after its host folder; every command joins it before it drops
privileges and starts bwrap. Its path is written in the sample's folder first, so a run killed
hard leaves a record that the next run's orphan cleanup reads to remove it.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

# Sandbox cgroups are named after their sample's folder: `traitlab-sandbox-XXXX`.
CGROUP_PREFIX = "traitlab-"
# The cgroup a probe makes and removes, named after the probing process.
PROBE_PREFIX = f"{CGROUP_PREFIX}probe-"
# Run by `sh` before anything else of a command: join every cgroup named before `--`, then exec
# the rest. A failure reads like one of bwrap's own (`bwrap: ...`), since the sandbox was not built.
# Writing 0 moves the writer itself; to v1's `tasks` it moves one thread (sh has one), which
# spares the kernel's global lock for whole-process moves and its ~10 ms wait per command.
JOIN_SCRIPT = (
    'while [ "$1" != -- ]; do echo 0 > "$1" 2>/dev/null'
    ' || { echo "bwrap: cannot join the sample cgroup $1" >&2; exit 1; }; shift; done;'
    ' shift; exec "$@"'
)
REMOVE_TRIES = 50


@dataclass(frozen=True)
class CgroupPlan:
    """Where this process may make sandbox cgroups, and of which kind."""

    version: int
    """1 or 2."""
    parents: tuple[Path, ...]
    """v2: our own cgroup; v1: our memory and pids cgroups."""

    def describe(self) -> str:
        where = ", ".join(str(p) for p in self.parents)
        return f"cgroup v{self.version} below {where}"


@dataclass(frozen=True)
class Cgroup:
    """One sample's cgroup: a directory in each hierarchy the plan names."""

    folders: tuple[Path, ...]
    version: int

    @classmethod
    def create(
        cls, plan: CgroupPlan, name: str, memory_mb: int | None, processes: int | None
    ) -> Cgroup:
        """Make the cgroup with its limits (memory with swap included, processes and threads)."""
        cgroup = cls(tuple(parent / name for parent in plan.parents), plan.version)
        mib = 1024 * 1024
        try:
            for folder in cgroup.folders:
                folder.mkdir()
            if plan.version == 2:
                [folder] = cgroup.folders
                if memory_mb is not None:
                    _write(folder / "memory.max", memory_mb * mib)
                    _write_if_present(folder / "memory.swap.max", 0)
                if processes is not None:
                    _write(folder / "pids.max", processes)
            else:
                memory, pids = cgroup.folders
                if memory_mb is not None:
                    _write(memory / "memory.limit_in_bytes", memory_mb * mib)
                    # memory + swap: without it the limit is dodged by swapping (absent when the
                    # kernel does not account swap, which then cannot be used to dodge it either).
                    _write_if_present(memory / "memory.memsw.limit_in_bytes", memory_mb * mib)
                if processes is not None:
                    _write(pids / "pids.max", processes)
        except OSError:
            cgroup.remove()
            raise
        return cgroup

    def join_args(self) -> list[str]:
        """The command prefix that moves a command into this cgroup before it execs the rest."""
        name = "tasks" if self.version == 1 else "cgroup.procs"
        return ["/bin/sh", "-c", JOIN_SCRIPT, "sh", *(str(f / name) for f in self.folders), "--"]

    def pids(self) -> set[int]:
        """The processes in the cgroup now."""
        found: set[int] = set()
        for folder in self.folders:
            with contextlib.suppress(OSError):
                found |= {int(p) for p in (folder / "cgroup.procs").read_text().split()}
        return found

    def kill(self) -> None:
        """SIGKILL every process in the cgroup (one pass: callers that must see it empty retry)."""
        if len(self.folders) == 1 and (self.folders[0] / "cgroup.kill").exists():
            # v2 (Linux 5.14+): the kernel kills them all, with no PID read and then reused.
            with contextlib.suppress(OSError):
                _write(self.folders[0] / "cgroup.kill", 1)
                return
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def remove(self) -> None:
        """Kill what is left and remove the cgroup (a cgroup with processes cannot be removed)."""
        for folder in self.folders:
            for _ in range(REMOVE_TRIES):
                self.kill()
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as ex:
                    if ex.errno != errno.EBUSY:
                        raise
                    time.sleep(0.02)  # the killed processes are still exiting
            else:
                logger.warning("sandbox cgroup %s still has processes; left in place", folder)


def cgroup_plan() -> CgroupPlan | str:
    """Where sandbox cgroups can go, or why they cannot (a reason for the fallback's warning)."""
    try:
        memberships = _memberships()
        mounts = _cgroup_mounts()
    except OSError as ex:
        return f"cannot read this process's cgroups: {ex}"
    reasons = []
    v2 = _v2_plan(memberships, mounts)
    if isinstance(v2, CgroupPlan):
        return v2
    reasons.append(v2)
    v1 = _v1_plan(memberships, mounts)
    if isinstance(v1, CgroupPlan):
        return v1
    reasons.append(v1)
    return "; ".join(reasons)


def remove_recorded(record: Path) -> None:
    """Remove the cgroups a sample folder's record names (those of a run killed hard)."""
    try:
        lines = record.read_text().split("\n")
    except FileNotFoundError:
        return
    folders = [Path(line) for line in lines if line]
    # Only sandbox cgroups: the record is not trusted to name anything else.
    if all(
        f.name.startswith(CGROUP_PREFIX) and (f.parent / "cgroup.procs").exists() for f in folders
    ):
        Cgroup(tuple(folders), 2 if len(folders) == 1 else 1).remove()


def _v2_plan(memberships: dict[str, str], mounts: dict[str, tuple[str, Path]]) -> CgroupPlan | str:
    if "" not in memberships or "" not in mounts:
        return "no cgroup v2 hierarchy"
    own = _folder(mounts[""], memberships[""])
    if own is None:
        return "our cgroup v2 folder is outside the mounted hierarchy"
    try:
        available = (own / "cgroup.controllers").read_text().split()
        enabled = (own / "cgroup.subtree_control").read_text().split()
    except OSError as ex:
        return f"cgroup v2: {ex}"
    missing = {"memory", "pids"} - set(available)
    if missing:
        return f"cgroup v2: {own} has no {' or '.join(sorted(missing))} controller (not delegated)"
    wanted = [c for c in ("memory", "pids") if c not in enabled]
    if wanted:
        try:
            _write(own / "cgroup.subtree_control", " ".join(f"+{c}" for c in wanted))
        except OSError as ex:
            # EBUSY: our cgroup holds processes (ours), and v2 gives controllers to children
            # only of cgroups without processes. A delegated scope must enable them itself.
            return f"cgroup v2: cannot enable memory and pids for children of {own}: {ex}"
    return _checked(CgroupPlan(2, (own,)))


def _v1_plan(memberships: dict[str, str], mounts: dict[str, tuple[str, Path]]) -> CgroupPlan | str:
    parents = []
    for controller in ("memory", "pids"):
        if controller not in memberships or controller not in mounts:
            return f"no cgroup v1 {controller} hierarchy"
        own = _folder(mounts[controller], memberships[controller])
        if own is None:
            return f"our cgroup v1 {controller} folder is outside the mounted hierarchy"
        parents.append(own)
    return _checked(CgroupPlan(1, tuple(parents)))


def _checked(plan: CgroupPlan) -> CgroupPlan | str:
    """The plan if a cgroup can be made there with limits set, else why not."""
    remove_stale_probes(plan)
    try:
        cgroup = Cgroup.create(plan, f"{PROBE_PREFIX}{os.getpid()}", 64, 16)
    except OSError as ex:
        return f"cgroup v{plan.version}: cannot make a cgroup below {plan.parents[0]}: {ex}"
    try:
        joined = subprocess.run(
            [*cgroup.join_args(), "cat", "/proc/self/cgroup"], capture_output=True, text=True
        )
    finally:
        cgroup.remove()
    if joined.returncode != 0 or cgroup.folders[0].name not in joined.stdout:
        reason = joined.stderr.strip() or "the process did not show in it"
        return f"cgroup v{plan.version}: cannot join a cgroup below {plan.parents[0]}: {reason}"
    return plan


def remove_stale_probes(plan: CgroupPlan) -> list[str]:
    """Remove the probe cgroups of processes that are gone (a run killed during its probe),
    and return their names. A probe whose process still runs here is left alone."""
    names = {folder.name for parent in plan.parents for folder in parent.glob(f"{PROBE_PREFIX}*")}
    stale = [
        name
        for name in sorted(names)
        if not (pid := name.removeprefix(PROBE_PREFIX)).isdigit()
        or not Path(f"/proc/{pid}").exists()
    ]
    for name in stale:
        folders = tuple(parent / name for parent in plan.parents if (parent / name).is_dir())
        Cgroup(folders, plan.version).remove()
    return stale


def _memberships() -> dict[str, str]:
    """Controller -> our cgroup path ('' for the v2 hierarchy), from /proc/self/cgroup."""
    found = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            found[controller] = path
    return found


def _cgroup_mounts() -> dict[str, tuple[str, Path]]:
    """Controller -> (root within the hierarchy, mount point), '' for cgroup2, from mountinfo."""
    found: dict[str, tuple[str, Path]] = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        separator = fields.index("-")
        fstype, options = fields[separator + 1], fields[separator + 3].split(",")
        root, mount_point = _unescape(fields[3]), Path(_unescape(fields[4]))
        if fstype == "cgroup2":
            found.setdefault("", (root, mount_point))
        elif fstype == "cgroup":
            for controller in options:
                found.setdefault(controller, (root, mount_point))
    return found


def _folder(mount: tuple[str, Path], path: str) -> Path | None:
    root, mount_point = mount
    relative = os.path.relpath(path, root)
    if relative.startswith(".."):
        return None
    return mount_point if relative == "." else mount_point / relative


def _unescape(field: str) -> str:
    return field.encode().decode("unicode_escape") if "\\" in field else field


def _write(path: Path, value: object) -> None:
    path.write_text(f"{value}\n")


def _write_if_present(path: Path, value: object) -> None:
    if path.exists():
        _write(path, value)
