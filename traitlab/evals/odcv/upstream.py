"""Loader for ODCV-Bench (MIT, github.com/McGill-DMaS/ODCV-Bench): its scenarios in a sandbox.

Each upstream scenario is a folder (`mandated_scenarios/NAME`, `incentivized_scenarios/NAME`)
with a `prompt.json` and a Dockerfile that copies data and tool scripts into an image. Here the
Dockerfile is parsed into a `BuildPlan`, without ODCV's own agent harness (its API server,
templates and requirements), and the agent gets Inspect's `bash` tool in a sandbox chosen by
`traitlab.sandbox.sandbox_choice` (design principle 10: agents never act on the host):

* **docker** (when a Docker daemon answers): an image built from the scenario folder with the
  parsed plan as an inline Dockerfile, no network. This is ODCV-Bench's setting.
* **bwrap** (otherwise): traitlab's bubblewrap sandbox. The scenario's directories (`/app`,
  `/usr/local/bin`, ...) are private writable mounts at the paths the Dockerfile names, so the
  prompts are used as written; the plan's files are copied in and its RUN steps replayed inside
  the sandbox (package installs skipped: there is no network), `chmod -R 555 /usr/local/bin`
  included, so the validators are read-only as the image makes them. The host is read-only and
  mostly invisible, the environment is clean and there is no network.
* **local** (only when named, with a warning in the terminal and in each sample's log):
  Inspect's `local` sandbox, a temporary directory on the host. Container paths are rewritten
  to that directory in the prompts and the copied scripts, and only file-system RUN steps that
  stay inside it are replayed. **It is not isolated**: the agent's commands run on the host as
  the current user.
"""

from __future__ import annotations

import glob
import json
import logging
import re
import shlex
import tempfile
from pathlib import Path
from typing import Literal

from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessageSystem, ChatMessageUser
from inspect_ai.solver import TaskState
from inspect_ai.tool import Tool, tool
from inspect_ai.util import SandboxEnvironmentSpec, sandbox
from pydantic import BaseModel, Field

from traitlab.errors import InputError
from traitlab.evals.odcv.evidence import Capture, FileEntry, FileRole, RunEvidence
from traitlab.sandbox import BwrapConfig, BwrapMount, SandboxKind, sandbox_choice
from traitlab.sandbox.choice import UNISOLATED_WARNING
from traitlab.solvers import recorded

from .dataset import VARIANTS, Variant, select_names

logger = logging.getLogger(__name__)

SandboxRequest = Literal["auto", "docker", "bwrap", "local"]

# Parts of ODCV-Bench's image that belong to its harness, not to the scenario.
HARNESS_SOURCES = {"task_executor_api.py", "requirements.txt", "templates"}
# RUN commands replayed on the host by the local sandbox; the rest are skipped.
LOCAL_COMMANDS = {"mkdir", "mv", "rm", "cp", "touch", "chmod"}
# Package installs need the network, which isolated sandboxes do not have: skipped there.
INSTALL_COMMANDS = {"apt-get", "apt", "pip", "pip3", "apk", "yum", "dnf"}
# System directories mapped by their full path rather than their first component.
SYSTEM_DIRS = {"usr", "var", "etc", "opt", "bin", "lib", "tmp", "root", "home", "srv"}
# Where the scenarios' tools and validators live (read-only in the image).
TOOLS_DIR = "/usr/local/bin"
PROGRAM_SUFFIXES = {".sh", ".py", ".pl", ".rb", ".bash"}
BASH_TIMEOUT = 60
# Snapshot bounds: a text is kept for files up to TEXT_MAX_BYTES, smallest first, until
# TEXTS_MAX_BYTES in all; a manifest holds at most MANIFEST_MAX_ENTRIES paths. The output stays
# far below Inspect's cap on what an exec may return (10 MiB) however much the agent writes.
TEXT_MAX_BYTES = 65536
TEXTS_MAX_BYTES = 1_000_000
MANIFEST_MAX_ENTRIES = 20_000
VALIDATION_MAX_ENTRIES = 20_000
"""The validation path's own cap, so a flood of the scenario's folders cannot push it out."""
VALIDATION_PATH = "--validation-path"
"""The snapshot script's flag for the second listing: what the validation path can use."""

# Prints {"manifest": {path: [size, sha256, mode]}, "texts": {path: text}, "problem": str,
# "cut": [roots not fully listed], "roots": [roots]} for every file and directory under the
# given roots (directories end in "/", with their mode only: a folder's size changes with its
# listing; links are hashed by their target, never followed). The walk is in sorted order and
# stops at the cap, so the roots it did not finish are named in "cut".
#
# It runs with -S, so a site hook the agent planted does not run in it (site is imported only
# to ask where site-packages are). With --validation-path (then the scenario's roots, already
# listed, to leave out) it lists what a validation run could use instead: the PATH directories
# (the sandbox's and the usual ones), the interpreter's import path (sys.path, site-packages,
# the user site, where a sitecustomize.py or .pth file changes every run) and the login shell's
# startup files (which set PATH). Roots on a read-only file system are left out (nothing in the
# sandbox can change them, and the host may); no texts are kept; a file over the text size is
# fingerprinted by its size, times and inode (a write or a rename changes its ctime, which no
# process can set back) instead of read, so the listing stays fast.
SNAPSHOT_SCRIPT = """
import hashlib, json, os, site, stat, sys
text_max, texts_max, entries_max = (int(a) for a in sys.argv[1:4])
args = sys.argv[4:]
tools = args[:1] == ["--validation-path"]
manifest, sizes, problem, cut = {}, [], "", []
def inside(path, roots):
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)
def writable(path):
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return not os.statvfs(path).f_flag & os.ST_RDONLY
if tools:
    home = os.environ.get("HOME", "/root")
    wanted = os.environ.get("PATH", "").split(":")
    wanted += ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
    wanted += sys.path + site.getsitepackages()
    wanted += [site.getusersitepackages(), "/etc/profile", "/etc/profile.d", "/etc/bash.bashrc"]
    startup = (".bash_profile", ".bash_login", ".profile", ".bashrc")
    wanted += [os.path.join(home, name) for name in startup]
    resolved = []
    for path in wanted:
        if path.startswith("/") and os.path.realpath(path) not in resolved:
            resolved.append(os.path.realpath(path))
    resolved = [r for r in resolved if not inside(r, [o for o in resolved if o != r])]
    roots = [r for r in resolved if not inside(r, args[1:]) and writable(r)]
    listed = resolved
else:
    roots = listed = args
def add(path, st, digest):
    global problem
    if len(manifest) >= entries_max:
        problem = f"more than {entries_max} paths; the manifest holds the first {entries_max}"
        return False
    size = 0 if stat.S_ISDIR(st.st_mode) else st.st_size  # a folder's size is its listing's
    manifest[path] = [size, digest, stat.S_IMODE(st.st_mode)]
    return True
def entry(path):
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return st, hashlib.sha256(("link:" + os.readlink(path)).encode()).hexdigest()
    if not stat.S_ISREG(st.st_mode):
        return st, "special"
    if tools and st.st_size > text_max:
        marks = f"stat:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"
        return st, hashlib.sha256(marks.encode()).hexdigest()
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    if not tools and st.st_size <= text_max:
        sizes.append((st.st_size, path))
    return st, h.hexdigest()
def walk(root):
    if not os.path.isdir(root) or os.path.islink(root):
        try:
            return add(root, *entry(root))
        except OSError:
            return True  # absent: nothing to list
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        try:
            st = os.lstat(folder)
        except OSError:
            continue
        if not add(folder.rstrip("/") + "/", st, ""):
            return False
        for name in sorted(names):
            path = os.path.join(folder, name)
            try:
                st, digest = entry(path)
            except OSError as ex:
                try:
                    st, digest = os.lstat(path), f"unreadable: {ex.strerror}"
                except OSError:
                    continue  # gone while listed
            if not add(path, st, digest):
                return False
    return True
for index, root in enumerate(roots):
    if not walk(root):
        cut = roots[index:]
        break
texts, used = {}, 0
for size, path in sorted(sizes):
    if used + size > texts_max:
        break
    try:
        with open(path, "rb") as f:
            texts[path] = f.read(text_max + 1).decode("utf-8")
        used += size
    except (OSError, ValueError):
        continue
print(json.dumps({"manifest": manifest, "texts": texts, "problem": problem, "cut": cut,
                  "roots": listed, "python": sys.executable}))
"""


class Copy(BaseModel):
    sources: list[str]
    dest: str


class BuildPlan(BaseModel):
    """The scenario part of an upstream Dockerfile, in order."""

    base: str = "debian:bullseye-slim"
    workdir: str = "/app"
    steps: list[Copy | str] = Field(default_factory=list, description="COPYs and RUN commands.")

    def roots(self) -> list[str]:
        """The container directories the scenario populates (what snapshots cover)."""
        paths = [s.dest for s in self.steps if isinstance(s, Copy)]
        for step in self.steps:
            if isinstance(step, str):
                words = _words(step)
                if words[:2] == ["mkdir", "-p"]:
                    paths.extend(w for w in words[2:] if w.startswith("/"))
        roots = set()
        for path in [self.workdir, *paths]:
            parts = [p for p in path.split("/") if p]
            if not parts:
                continue
            if parts[0] in SYSTEM_DIRS:
                keep = parts if path.endswith("/") or "." not in parts[-1] else parts[:-1]
                roots.add("/" + "/".join(keep))
            else:
                roots.add("/" + parts[0])
        # drop roots nested in other roots
        return sorted(r for r in roots if not any(r.startswith(f"{o}/") for o in roots))

    def dockerfile(self) -> str:
        """A Dockerfile for the scenario alone: no harness, a container that waits."""
        lines = [f"FROM {self.base}", f"WORKDIR {self.workdir}"]
        for step in self.steps:
            if isinstance(step, Copy):
                lines.append(f"COPY {json.dumps([*step.sources, step.dest])}")
            else:
                lines.append(f"RUN {step}")
        lines.append('CMD ["tail", "-f", "/dev/null"]')
        return "\n".join(lines) + "\n"


class UpstreamScenario(BaseModel):
    name: str
    variant: Variant
    directory: Path
    system_prompt: str
    user_prompt: str
    plan: BuildPlan
    missing: list[str] = Field(default_factory=list, description="COPY sources not in the copy.")


def parse_dockerfile(text: str) -> BuildPlan:
    """The FROM, WORKDIR, COPY and RUN instructions of a scenario, harness parts left out."""
    plan = BuildPlan()
    for line in _instructions(text):
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "FROM":
            plan.base = rest.split()[0]
        elif keyword == "WORKDIR":
            plan.workdir = rest
        elif keyword in ("COPY", "ADD"):
            args = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
            args = [a for a in args if not a.startswith("--")]
            sources = [s for s in args[:-1] if _source_name(s) not in HARNESS_SOURCES]
            if sources:
                plan.steps.append(Copy(sources=sources, dest=args[-1]))
        elif keyword == "RUN" and "requirements.txt" not in rest:
            plan.steps.append(rest)
    return plan


def _instructions(text: str) -> list[str]:
    """Logical lines: comments dropped, backslash continuations joined."""
    lines, current = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1].rstrip() + " "
            continue
        lines.append(current + stripped)
        current = ""
    if current.strip():
        lines.append(current.strip())
    return lines


def _source_name(source: str) -> str:
    return Path(source.rstrip("/")).name


def _words(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:
        return command.split()


def read_upstream(root: str | Path) -> list[UpstreamScenario]:
    """Every scenario of both variants under an ODCV-Bench checkout, sorted by name."""
    root = Path(root)
    scenarios = []
    for variant in VARIANTS:
        folder = root / f"{variant}_scenarios"
        if not folder.is_dir():
            raise InputError(f"not an ODCV-Bench checkout: {folder.name}/ is missing", path=root)
        for directory in sorted(p for p in folder.iterdir() if p.is_dir()):
            scenarios.append(_read_scenario(directory, variant))
    return scenarios


def _read_scenario(directory: Path, variant: Variant) -> UpstreamScenario:
    prompt_path = directory / "prompt.json"
    docker_path = directory / "Dockerfile"
    try:
        prompts = json.loads(prompt_path.read_text(encoding="utf-8"))
        plan = parse_dockerfile(docker_path.read_text(encoding="utf-8"))
    except OSError as ex:
        raise InputError(f"cannot read scenario ({ex.strerror or ex})", path=directory) from None
    except (json.JSONDecodeError, ValueError) as ex:
        raise InputError(f"cannot parse scenario ({ex})", path=directory) from None
    if not isinstance(prompts, dict) or not prompts.get("user_prompt"):
        raise InputError("prompt.json has no user_prompt", path=prompt_path)
    missing = [
        source
        for step in plan.steps
        if isinstance(step, Copy)
        for source in step.sources
        if not glob.glob(str(directory / source))
    ]
    return UpstreamScenario(
        name=directory.name,
        variant=variant,
        directory=directory.resolve(),
        system_prompt=prompts.get("system_prompt", ""),
        user_prompt=prompts["user_prompt"],
        plan=plan,
        missing=missing,
    )


def upstream_dataset(
    path: str | Path,
    *,
    sandbox_kind: SandboxRequest = "auto",
    scenarios: str | None = None,
    variants: str | None = None,
) -> tuple[MemoryDataset, SandboxKind]:
    """Samples for the selected upstream scenarios, and the sandbox they run in.

    "auto" is Docker when a daemon answers, else bubblewrap, else an error naming both
    problems; "local" runs only when asked for, with a warning.
    """
    loaded = read_upstream(path)
    kind = sandbox_choice(sandbox_kind)
    names = select_names(scenarios, sorted({s.name for s in loaded}), "scenario")
    chosen_variants = select_names(variants, VARIANTS, "variant")
    samples = [_sample(s, kind) for s in loaded if s.name in names and s.variant in chosen_variants]
    return MemoryDataset(samples, name="odcv_upstream"), kind


def _sample(scenario: UpstreamScenario, kind: SandboxKind) -> Sample:
    messages = [ChatMessageUser(content=scenario.user_prompt)]
    if scenario.system_prompt:
        messages.insert(0, ChatMessageSystem(content=scenario.system_prompt))
    specs = {
        "docker": _docker_spec,
        "bwrap": _bwrap_spec,
        "local": lambda _: SandboxEnvironmentSpec("local"),
    }
    return Sample(
        id=f"{scenario.name}-{scenario.variant}",
        input=messages,
        sandbox=specs[kind](scenario),
        metadata={
            "scenario": scenario.name,
            "variant": scenario.variant,
            "directory": str(scenario.directory),
            "plan": scenario.plan.model_dump(),
            "missing_files": scenario.missing,
            "sandbox_kind": kind,
        },
    )


def _docker_spec(scenario: UpstreamScenario) -> SandboxEnvironmentSpec:
    compose = {
        "services": {
            "default": {
                "build": {
                    "context": str(scenario.directory),
                    "dockerfile_inline": scenario.plan.dockerfile(),
                },
                "init": True,
                "network_mode": "none",
            }
        }
    }
    folder = Path(tempfile.gettempdir()) / "traitlab-odcv" / f"{scenario.variant}-{scenario.name}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "compose.yaml"
    path.write_text(json.dumps(compose, indent=2), encoding="utf-8")
    return SandboxEnvironmentSpec("docker", str(path))


def _bwrap_spec(scenario: UpstreamScenario) -> SandboxEnvironmentSpec:
    """A private writable mount at each directory the scenario populates, as in its image."""
    config = BwrapConfig(
        mounts=[BwrapMount(path=root) for root in scenario.plan.roots()],
        workdir=scenario.plan.workdir,
    )
    return SandboxEnvironmentSpec("bwrap", config)


@tool(name="bash")
def workdir_bash(workdir: str, timeout: int = BASH_TIMEOUT) -> Tool:
    """Inspect's `bash` tool, started in the scenario's working directory (its WORKDIR)."""

    @recorded("bash")
    async def execute(command: str) -> str:
        """Use this function to execute bash commands.

        Args:
          command: The bash command to execute.

        Returns:
          The output of the command.
        """
        result = await sandbox().exec(
            ["bash", "--login", "-c", command], cwd=workdir, timeout=timeout
        )
        return f"{result.stderr}\n{result.stdout}" if result.stderr else result.stdout

    return execute


def _under(path: str, root: str) -> bool:
    """Whether a manifest path (a folder's ends in "/") is `root` or lies inside it."""
    return path.rstrip("/") == root.rstrip("/") or path.startswith(root.rstrip("/") + "/")


def _is_program(path: str, capture: Capture) -> bool:
    """A script or binary, not a data file that happens to carry an exec bit from git."""
    if path.endswith("/"):
        return False
    text = capture.texts.get(path)
    if text is not None and text.startswith("#!"):
        return True
    suffix = Path(path).suffix
    return suffix in PROGRAM_SUFFIXES or (not suffix and text is None)


class SandboxWorkspace:
    """The `Environment` of an upstream scenario: a sandbox and Inspect's `bash` tool."""

    def __init__(self, state: TaskState) -> None:
        self._state = state
        self._plan = BuildPlan.model_validate(state.metadata["plan"])
        self._directory = Path(state.metadata["directory"])
        self._kind: SandboxKind = state.metadata["sandbox_kind"]
        self._root = ""  # the local sandbox's directory, standing in for the container's /
        self._tools: set[str] | None = None  # executables of the first snapshot
        self._tool_roots: list[str] | None = None  # the validation path, of the first snapshot
        self._python = ""  # the interpreter of the first snapshot
        self._tools_problem = ""  # why the first snapshot could not list the validation path

    def tools(self) -> list[Tool]:
        return [workdir_bash(self._root + self._plan.workdir)]

    async def setup(self) -> None:
        if self._kind == "docker":
            return  # the image already holds the scenario
        if self._kind == "local":
            # In the sample's own log too, not only in the terminal when the task was built.
            logger.warning(UNISOLATED_WARNING)
            self._root = (await sandbox().exec(["pwd"])).stdout.strip()
        await sandbox().exec(["mkdir", "-p", self._root + self._plan.workdir])
        skipped = []
        for step in self._plan.steps:
            if isinstance(step, Copy):
                await self._copy(step)
            else:
                skipped.extend(await self._run(step))
        self._state.metadata["skipped_steps"] = skipped
        if self._kind == "local":
            for message in self._state.messages:
                if isinstance(message.content, str):
                    message.content = self._rewrite(message.content)

    async def snapshot(self) -> Capture:
        """A bounded snapshot of the scenario's directories and of what the validation path
        can use (two listings of `SNAPSHOT_SCRIPT`, each with its own cap).

        The first one also records which files are executables (the scenario's own tools) and
        the roots of the validation path. A validation path that cannot be listed is said in
        the capture's `problem` and is unknown, never read as unchanged: when the first listing
        fails, no later one is compared with it; when a later one fails, its roots are cut.
        """
        roots = [self._root + r for r in self._plan.roots()]
        scenario = await self._listing(MANIFEST_MAX_ENTRIES, roots)
        tools = Capture(problem=self._tools_problem)
        if not self._tools_problem:
            try:
                tools = await self._listing(VALIDATION_MAX_ENTRIES, [VALIDATION_PATH, *roots])
            except (RuntimeError, ValueError) as ex:
                problem = f"not listed ({str(ex).strip()[:300]}): a change there is unknown"
                walked = [
                    r
                    for r in self._tool_roots or []
                    if not any(_under(r, own) for own in scenario.roots)
                ]
                tools = Capture(problem=problem, cut=walked)
                if self._tool_roots is None:
                    self._tools_problem = problem
        if self._tool_roots is None:
            # The working directory is the agent's own even where PATH or the import path
            # names it (an image's PYTHONPATH=/app): its helper scripts are no tampering.
            self._tool_roots = [r for r in tools.roots if not _under(self._plan.workdir, r)]
        capture = Capture(
            manifest={**tools.manifest, **scenario.manifest},
            texts=scenario.texts,
            problem="; ".join(
                p
                for p in (scenario.problem, tools.problem and f"validation path: {tools.problem}")
                if p
            ),
            cut=[*scenario.cut, *tools.cut],
            roots=list(dict.fromkeys([*scenario.roots, *self._tool_roots])),
        )
        if self._tools is None:
            self._tools = {
                path
                for path, entry in scenario.manifest.items()
                if entry.mode is not None and entry.mode & 0o111 and _is_program(path, capture)
            }
        return capture

    async def _listing(self, entries: int, args: list[str]) -> Capture:
        """One run of the snapshot script in the sandbox, with the paths the agent sees."""
        limits = (TEXT_MAX_BYTES, TEXTS_MAX_BYTES, entries)
        # The interpreter of the first listing, by its full path (a shim put earlier on PATH
        # is never what lists it); -S: no site hooks (sitecustomize, .pth) run in it.
        python = self._python or "python3"
        result = await sandbox().exec(
            [python, "-S", "-c", SNAPSHOT_SCRIPT, *(str(n) for n in limits), *args]
        )
        if not result.success:
            raise RuntimeError(result.stderr.strip()[-500:] or f"exit status {result.returncode}")
        data = json.loads(result.stdout)
        self._python = self._python or data["python"]
        return Capture(
            manifest={
                self._strip(path): FileEntry(size=size, sha256=digest, mode=mode)
                for path, (size, digest, mode) in data["manifest"].items()
            },
            texts={self._strip(path): text for path, text in data["texts"].items()},
            problem=data["problem"],
            cut=[self._strip(p) for p in data["cut"]],
            roots=[self._strip(p) for p in data["roots"]],
        )

    def _strip(self, path: str) -> str:
        return path.removeprefix(self._root)

    def role_of(self, path: str, existed: bool) -> FileRole:
        """What the validation path could use is a validator: anything in /usr/local/bin (the
        directory included, so lifting its read-only mode counts), in a PATH directory or on
        the interpreter's import path, the login shell's startup files, and every file that was
        an executable before the run (the scenario's tools). Logs by name; new files are output.
        """
        parts = path.split("/")
        roots = [TOOLS_DIR, *(self._tool_roots or [])]
        if any(_under(path, root) for root in roots) or path in (self._tools or set()):
            return "validator"
        if path.endswith(".log") or any(p in ("log", "logs") for p in parts[:-1]):
            return "log"
        if not existed or "output" in parts[:-1]:
            return "output"
        return "source"

    def measure(self, before: Capture, after: Capture, claimed: bool | None) -> RunEvidence:
        """Only the agent's claim: which upstream script is the validator, and what its
        output means, differs by scenario, so the real verdict is left to the judge."""
        return RunEvidence(claimed_target_met=claimed)

    async def _copy(self, step: Copy) -> None:
        many = len(step.sources) > 1 or step.dest.endswith("/")
        for source in step.sources:
            for match in sorted(glob.glob(str(self._directory / source))):
                origin = Path(match)
                is_dir = origin.is_dir()
                into_dir = many or is_dir or any(c in source for c in "*?[")
                target = step.dest.rstrip("/") if into_dir else step.dest
                if is_dir:
                    for file in sorted(p for p in origin.rglob("*") if p.is_file()):
                        await self._write(f"{target}/{file.relative_to(origin)}", file)
                else:
                    await self._write(f"{target}/{origin.name}" if into_dir else target, origin)

    async def _write(self, container_path: str, origin: Path) -> None:
        data = origin.read_bytes()
        try:
            contents: str | bytes = self._rewrite(data.decode("utf-8"))
        except UnicodeDecodeError:
            contents = data
        await sandbox().write_file(self._root + container_path, contents)
        if origin.stat().st_mode & 0o111:
            await sandbox().exec(["chmod", "+x", self._root + container_path])

    async def _run(self, command: str) -> list[str]:
        """Replay a RUN step part by part; return the parts skipped or failed.

        In an isolated sandbox every part but package installs runs, as root of the sandbox,
        inside it. Locally only file-system commands on paths inside the directory run.
        """
        if self._kind != "local":
            return await self._run_isolated(command)
        skipped = []
        for part in (p.strip() for p in command.split("&&")):
            words = _words(part)
            if not words or words[0] not in LOCAL_COMMANDS:
                skipped.append(part)
                continue
            if words[0] == "chmod" and not any("+x" in w for w in words[1:]):
                skipped.append(part)  # read-only modes would stop the directory's cleanup
                continue
            command = self._rewrite(part)
            if not self._inside(command):
                skipped.append(f"{part} (outside the scenario's directories)")
                continue
            result = await sandbox().exec(["bash", "-c", command], cwd=self._root)
            if not result.success:
                skipped.append(f"{part} (failed: {result.stderr.strip()})")
        return skipped

    async def _run_isolated(self, command: str) -> list[str]:
        skipped = []
        for part in (p.strip() for p in command.split("&&")):
            words = _words(part)
            if not words or words[0] in INSTALL_COMMANDS:
                skipped.append(part)
                continue
            result = await sandbox().exec(["bash", "-c", part], cwd=self._plan.workdir)
            if not result.success:
                skipped.append(f"{part} (failed: {result.stderr.strip()})")
        return skipped

    def _inside(self, command: str) -> bool:
        """Whether every absolute path in a rewritten command lies in the sandbox directory.

        Replayed steps run on the host: `rm -rf /var/lib/apt/lists/*` must never run there.
        """
        for word in _words(command):
            if any(c in word for c in "$`~") or ".." in word.split("/"):
                return False
            if word.startswith("/") and not word.startswith(f"{self._root}/"):
                return False
        return True

    def _rewrite(self, text: str) -> str:
        """Container paths to paths under the local sandbox's directory."""
        roots = sorted(self._plan.roots(), key=len, reverse=True)
        pattern = r"(?<![\w./-])(" + "|".join(re.escape(r) for r in roots) + r")(?![\w.-])"
        return re.sub(pattern, lambda m: self._root + m.group(1), text)
