"""The main `traitlab` command: lazy mounts, plain help, one-line failures, Ctrl-C, --version."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from traitlab.cli import COMMANDS, DEBUG_ENV, app, load_command
from traitlab.errors import InputError, Interrupted, on_interrupt
from traitlab.traits import TraitsDocument

runner = CliRunner()
# Modules that make a command slow to start; `traitlab --help` must import none of them.
HEAVY = ("inspect_ai", "torch", "pandas", "numpy", "matplotlib", "pydantic", "rich")


def run_python(script: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


def test_help_imports_no_part_of_the_package() -> None:
    parts = ("traitlab.lint", "traitlab.datasets", "traitlab.training", "traitlab.report")
    result = run_python(
        f"""
        import sys
        sys.argv = ["traitlab", "--help"]
        from traitlab.cli import main
        try:
            main()
        except SystemExit:
            pass
        heavy = {HEAVY + parts!r}
        print("LOADED", sorted(m for m in sys.modules if m in heavy))
        """
    )
    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stdout
    for mount in COMMANDS:
        assert mount.name in result.stdout


def test_help_is_for_users() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "tests call directly" not in result.output
    assert "Instil traits" in result.output and "--version" in result.output


@pytest.mark.parametrize("mount", COMMANDS, ids=lambda m: m.name)
def test_the_listed_summary_is_the_command_s_own(mount: Any) -> None:
    """`traitlab --help` lists summaries without importing; they must say what the help says."""
    command = load_command(mount)
    first_paragraph = (command.help or "").split("\n\n")[0]
    assert " ".join(first_paragraph.split()) == mount.summary


def command_paths() -> list[list[str]]:
    paths = []
    for mount in COMMANDS:
        paths.append([mount.name])
        command = load_command(mount)
        paths += [[mount.name, sub] for sub in getattr(command, "commands", {})]
    return paths


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_every_help_shows_options_whole(path: list[str]) -> None:
    result = runner.invoke(app, [*path, "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output and "…" not in result.output
    assert "--install-completion" not in result.output
    command = load_command(next(m for m in COMMANDS if m.name == path[0]))
    if len(path) > 1:
        command = command.commands[path[1]]
    for param in command.params:
        for option in param.opts if param.param_type_name == "option" else []:
            assert option in result.output


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"traitlab {version('traitlab')}"


def fail_with(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> Any:
    """`traits show` with the document loader raising `error`."""

    def load(path: Any = None) -> None:
        raise error

    monkeypatch.setattr(TraitsDocument, "load", load)
    return runner.invoke(app, ["traits", "show"])


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (InputError("no traits found", path="t.md"), "error: t.md: no traits found"),
        (PermissionError(13, "Permission denied", "/out/x"), "error: /out/x: Permission denied"),
        (
            RuntimeError("[bold]boom[/bold]\n  on two lines"),
            "error: internal error (RuntimeError: boom on two lines); "
            "run with --debug for the traceback",
        ),
    ],
)
def test_a_failure_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, error: Exception, line: str
) -> None:
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    result = fail_with(monkeypatch, error)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [line]


def test_debug_shows_the_traceback_and_still_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DEBUG_ENV, "")  # --debug sets it; monkeypatch unsets it afterwards

    def load(path: Any = None) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(TraitsDocument, "load", load)
    result = runner.invoke(app, ["--debug", "traits", "show"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert result.stderr.splitlines()[-1].startswith("error: internal error (RuntimeError: boom)")


def test_ctrl_c_says_what_was_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    result = fail_with(monkeypatch, KeyboardInterrupt())
    assert result.exit_code == 130
    assert result.stderr.splitlines() == ["interrupted: nothing was written"]


def test_the_innermost_interrupt_hint_wins_and_is_written_when_ctrl_c_comes() -> None:
    written = []

    @on_interrupt("outer")
    def work() -> None:
        with on_interrupt(lambda: f"kept {len(written)} records"):
            written.extend([1, 2])
            raise KeyboardInterrupt

    with pytest.raises(Interrupted, match="^kept 2 records$") as info:
        work()
    assert isinstance(info.value, KeyboardInterrupt)


def interrupt_when_ready(load: str, ready: Path) -> tuple[int, str, float]:
    """Run `traitlab traits show` with `TraitsDocument.load` replaced by `load` (source of a
    function that touches `ready` once it is running), send a real SIGINT once it is, and
    return the exit status, stderr and the seconds from the signal to the exit."""
    script = textwrap.dedent(load) + textwrap.dedent(
        """
        import sys
        from traitlab.traits import TraitsDocument

        TraitsDocument.load = load
        sys.argv = ["traitlab", "traits", "show"]
        from traitlab.cli import main
        main()
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        for _ in range(600):
            if ready.exists():
                break
            try:
                process.wait(timeout=0.1)
                break
            except subprocess.TimeoutExpired:
                pass
        process.send_signal(signal.SIGINT)
        sent = time.monotonic()
        _, err = process.communicate(timeout=30)
        return process.returncode, err, time.monotonic() - sent
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)


def test_a_real_ctrl_c_ends_the_process_even_with_a_thread_holding_it(tmp_path: Path) -> None:
    """SIGINT while a command runs: one line, exit 130, although a non-daemon thread that a
    library started would keep the interpreter alive for a minute."""
    ready = tmp_path / "ready"
    load = f"""
        import threading, time
        from pathlib import Path

        def load(path=None):
            threading.Thread(target=time.sleep, args=(60,)).start()
            Path({str(ready)!r}).touch()
            time.sleep(60)
        """
    code, err, _ = interrupt_when_ready(load, ready)
    assert code == 130, err
    assert err.splitlines() == ["interrupted: nothing was written"]


@pytest.mark.slow
def test_after_ctrl_c_exit_hooks_run_and_the_final_collection_is_skipped(tmp_path: Path) -> None:
    """Late in a long run the interpreter's last garbage collection took 2-3 s after the line.

    A library's exit hook still runs (it may flush a log or remove a temporary folder); the
    finalization after it does not: an object that would be collected only then never is, and
    a heap whose collection takes seconds does not delay the exit.
    """
    ready, hook, finalized = tmp_path / "ready", tmp_path / "hook", tmp_path / "finalized"
    load = f"""
        import atexit, time
        from pathlib import Path

        class Cycle:
            def __init__(self):
                self.me = self

            def __del__(self):
                Path({str(finalized)!r}).touch()

        def load(path=None):
            atexit.register(Path({str(hook)!r}).touch)  # as a library registers its hooks
            global heap
            heap = [Cycle()] + [[[i]] for i in range(1_000_000)]  # ~1 s of collection
            Path({str(ready)!r}).touch()
            time.sleep(60)
        """
    code, err, seconds = interrupt_when_ready(load, ready)
    assert code == 130, err
    assert err.splitlines() == ["interrupted: nothing was written"]
    assert hook.exists() and not finalized.exists()
    assert seconds < 2.0
