"""`bwrap`: an Inspect sandbox that isolates agent commands with bubblewrap, no daemon needed.

Use it as ``--sandbox bwrap`` (defaults: private /root, /tmp and /var/tmp), ``--sandbox
bwrap:config.yaml``, or in code with ``SandboxEnvironmentSpec("bwrap", BwrapConfig(...))``.

Each command runs in a fresh sandbox built over the sample's private file system, so files
persist between commands and processes do not (a background job ends with its command, as it
must: a process left running could act after the sample is scored). What an agent sees:

* a read-only root holding only the host's system directories (`BwrapConfig.host_paths`), so
  no home directory, checkout, log or temporary file of the host is visible;
* the sample's writable mounts at the paths the scenario expects (``/app``, ``/usr/local/bin``),
  never a host path;
* no network, its own PID, IPC, UTS and user namespaces, no capabilities;
* an environment of PATH, HOME and the config's `env` only (no host variables, no API keys);
* limits: wall-clock time per command; memory and processes for the whole sample (a cgroup
  where the host allows one, else per process; see `BwrapLimits`); file size and open files;
* no host path anywhere in its /proc: the writable mounts are folders of a tmpfs of the
  sample's own (see `launcher`), so /proc/self/mountinfo shows them as `/0`, `/1`, ...

A tool that keeps a process alive between commands (Inspect's `bash_session`, a shell that
lives across calls) cannot work here: the shell would die with the command that started it. The
sandbox refuses its requests, so such a task stops at its first call with one line saying so
(use `bash`, or Docker), never with an obscure error mid-session. `text_editor`, served by the
same sandbox-tools program but one request at a time, works.

`read_file` and `write_file` run through the sandbox too, so they see exactly what the agent
sees: a symlink the agent planted (``/app/x -> /etc/shadow``) resolves inside the sandbox, never
on the host, and writes outside the writable mounts fail as they would for the agent.
"""

from __future__ import annotations

import logging
import posixpath
from typing import Any, Literal, overload

import anyio
from inspect_ai.util import (
    ExecResult,
    OutputLimitExceededError,
    SandboxEnvironment,
    SandboxEnvironmentConfigType,
    SandboxEnvironmentLimits,
    SandboxUnavailableError,
    SandboxUserUnsupportedError,
    sandboxenv,
    subprocess,
)
from pydantic import BaseModel
from typing_extensions import override

from traitlab.errors import TraitlabError

from .config import BwrapConfig, load_config
from .launcher import Launcher, SampleSpace, launcher, open_sample, remove_orphans

logger = logging.getLogger(__name__)

# Users a command may ask for: the sandbox has one, uid 0 inside its own user namespace.
ROOT_NAMES = {None, "root", "0"}
# Inspect's sandbox-tools program (bash_session, text_editor, ...), current and legacy names.
TOOL_SERVERS = {"inspect-sandbox-tools", "inspect-tool-support"}
NO_SERVER = (
    "the bwrap sandbox cannot run bash_session or other tools that keep a process between "
    "commands (each command runs in a fresh sandbox): use the bash tool, or --sandbox docker"
)
FILE_TIMEOUT = 120

# Exit codes of the file scripts below, mapped to the exceptions Inspect's interface names.
MISSING, IS_DIRECTORY, DENIED, TOO_BIG, NOT_REGULAR = 66, 67, 68, 69, 70

READ_SCRIPT = f"""
f=$1
[ -e "$f" ] || {{ echo "no such file: $f" >&2; exit {MISSING}; }}
[ -d "$f" ] && {{ echo "is a directory: $f" >&2; exit {IS_DIRECTORY}; }}
[ -f "$f" ] || {{ echo "not a regular file: $f" >&2; exit {NOT_REGULAR}; }}
[ -r "$f" ] || {{ echo "permission denied: $f" >&2; exit {DENIED}; }}
[ "$(stat -c %s -- "$f")" -le "$2" ] || exit {TOO_BIG}
exec cat -- "$f"
"""

WRITE_SCRIPT = f"""
f=$1
[ -d "$f" ] && {{ echo "is a directory: $f" >&2; exit {IS_DIRECTORY}; }}
mkdir -p -- "$(dirname -- "$f")" || exit {DENIED}
cat > "$f" || exit {DENIED}
"""


class SessionUnsupportedError(TraitlabError, RuntimeError):
    """A task asked the bwrap sandbox for a shell that lives between commands."""


@sandboxenv(name="bwrap")
class BwrapSandboxEnvironment(SandboxEnvironment):
    """One sample's bubblewrap sandbox: its config and its share of the host."""

    def __init__(self, config: BwrapConfig, launcher: Launcher, space: SampleSpace) -> None:
        super().__init__()
        self.config = config
        self._launcher = launcher
        self._space = space

    @override
    @classmethod
    async def task_init(cls, task_name: str, config: SandboxEnvironmentConfigType | None) -> None:
        # Fail before any sample starts when bwrap cannot work here (one line saying why).
        settings = load_config(config)
        probed = await anyio.to_thread.run_sync(launcher, settings.host_uid)
        # Which memory limit holds (a cgroup per sample, or per process) goes in the eval's log.
        if probed.cgroups is None:
            logger.warning(probed.limits_note())
        else:
            logger.info(probed.limits_note())
        # Folders of samples whose run was killed hard (no cleanup ran) go now.
        await anyio.to_thread.run_sync(remove_orphans)

    @override
    @classmethod
    async def sample_init(
        cls,
        task_name: str,
        config: SandboxEnvironmentConfigType | None,
        metadata: dict[str, str],
    ) -> dict[str, SandboxEnvironment]:
        settings = load_config(config)
        probed = await anyio.to_thread.run_sync(launcher, settings.host_uid)
        space = await anyio.to_thread.run_sync(open_sample, probed, settings)
        return {"default": cls(settings, probed, space)}

    @override
    @classmethod
    async def sample_cleanup(
        cls,
        task_name: str,
        config: SandboxEnvironmentConfigType | None,
        environments: dict[str, SandboxEnvironment],
        interrupted: bool,
    ) -> None:
        for environment in environments.values():
            await anyio.to_thread.run_sync(environment.as_type(cls)._space.close)

    @override
    @classmethod
    def config_deserialize(cls, config: dict[str, Any]) -> BaseModel:
        return BwrapConfig.model_validate(config)

    @override
    async def exec(
        self,
        cmd: list[str],
        input: str | bytes | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        user: str | None = None,
        timeout: int | None = None,
        timeout_retry: bool = True,
        concurrency: bool = True,
    ) -> ExecResult[str]:
        """Run `cmd` in the sandbox; `timeout` (else the config's limit) bounds its wall time.

        A command that times out is killed with everything it started (its PID namespace dies
        with it) and `TimeoutError` is raised; it is not retried, since an agent's slow command
        would only time out again.
        """
        if user not in ROOT_NAMES:
            raise SandboxUserUnsupportedError(
                f"the bwrap sandbox has one user (root inside it); cannot run as {user!r}"
            )
        if _session_request(cmd, input):
            # Not a tool error the agent could work around: the task itself cannot run here.
            raise SessionUnsupportedError(NO_SERVER)
        result = await self._run(
            cmd,
            input=input,
            cwd=self._resolve(cwd) if cwd else self.config.workdir,
            env=env,
            timeout=timeout if timeout is not None else self.config.limits.timeout,
            concurrency=concurrency,
            text=True,
        )
        assert isinstance(result.stderr, str) and isinstance(result.stdout, str)
        return ExecResult(result.success, result.returncode, result.stdout, result.stderr)

    @override
    async def write_file(self, file: str, contents: str | bytes) -> None:
        path = self._resolve(file)
        data = contents.encode("utf-8") if isinstance(contents, str) else contents
        result = await self._file_command(WRITE_SCRIPT, [path], input=data)
        if result.returncode == 0:
            return
        reason = _text(result.stderr) or f"cannot write {path}"
        if result.returncode == IS_DIRECTORY:
            raise IsADirectoryError(reason)
        raise PermissionError(reason)

    @overload
    async def read_file(self, file: str, text: Literal[True] = True) -> str: ...

    @overload
    async def read_file(self, file: str, text: Literal[False]) -> bytes: ...

    @override
    async def read_file(self, file: str, text: bool = True) -> str | bytes:
        path = self._resolve(file)
        limit = SandboxEnvironmentLimits.MAX_READ_FILE_SIZE
        result = await self._file_command(READ_SCRIPT, [path, str(limit)])
        reason = _text(result.stderr)
        if result.returncode == MISSING:
            raise FileNotFoundError(reason)
        if result.returncode == IS_DIRECTORY:
            raise IsADirectoryError(reason)
        if result.returncode == TOO_BIG or len(result.stdout) > limit:
            raise OutputLimitExceededError(f"{limit // (1024 * 1024)} MiB", None)
        if result.returncode != 0:
            raise PermissionError(reason or f"cannot read {path}")
        data = result.stdout
        assert isinstance(data, bytes)
        return data.decode("utf-8") if text else data

    @override
    def default_polling_interval(self) -> float:
        return 0.2

    def _resolve(self, path: str) -> str:
        """A sandbox path: relative ones are relative to the working directory."""
        return posixpath.normpath(posixpath.join(self.config.workdir, path))

    async def _file_command(
        self, script: str, args: list[str], input: bytes | None = None
    ) -> ExecResult[bytes]:
        result = await self._run(
            ["/bin/sh", "-c", script, "sh", *args],
            input=input,
            cwd="/",
            env=None,
            timeout=FILE_TIMEOUT,
            concurrency=True,
            text=False,
        )
        assert isinstance(result.stdout, bytes)
        return result  # type: ignore[return-value]

    async def _run(
        self,
        cmd: list[str],
        *,
        input: str | bytes | None,
        cwd: str,
        env: dict[str, str] | None,
        timeout: int | None,
        concurrency: bool,
        text: bool,
    ) -> ExecResult[str] | ExecResult[bytes]:
        self._space.check_alive()
        argv = self._launcher.argv(self.config, self._space, cmd, cwd=cwd, env=env)
        self._space.running += 1
        try:
            result = await subprocess(
                argv,
                text=text,  # type: ignore[arg-type]
                input=input,
                cwd="/",
                timeout=timeout,
                output_limit=None if not text else SandboxEnvironmentLimits.MAX_EXEC_OUTPUT_SIZE,
                concurrency=concurrency,
            )
        finally:
            self._space.running -= 1
            self._space.sweep()  # also after a timeout, which raises
        stderr = _text(result.stderr)
        if result.returncode == 1 and stderr.startswith("bwrap: "):
            # bwrap itself failed to build the sandbox: not the command's output.
            raise SandboxUnavailableError(stderr.splitlines()[0])
        return result


def _session_request(cmd: list[str], input: str | bytes | None) -> bool:
    """Whether `cmd` asks Inspect's sandbox-tools CLI for a bash_session (a JSON-RPC request on
    its input). Its other tools (text_editor) answer each request on their own and work here."""
    if not cmd or posixpath.basename(cmd[0]) not in TOOL_SERVERS or input is None:
        return False
    text = input.decode("utf-8", "replace") if isinstance(input, bytes) else input
    return '"method": "bash_session' in text or '"method":"bash_session' in text


def _text(value: str | bytes) -> str:
    return (value.decode("utf-8", "replace") if isinstance(value, bytes) else value).strip()
