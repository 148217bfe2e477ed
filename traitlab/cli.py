"""The `traitlab` command: one entry that mounts every part's commands and ends every failure in
one line.

Each part keeps its commands in its own `cli.py` (a Typer app or a plain function); `COMMANDS`
says where each lives and what it does in one line. A command's module is imported only when
that command runs or shows its help, so `traitlab --help` answers without loading Inspect, torch
or pandas (`benchmarks/cli_startup.py` measures it).

Exit status, the same for every command: 0 done; 1 only for `lint check`'s "the gate failed";
2 a usage or input error, or a crash of our own (one line on stderr, after the traceback with
`--debug` or ``TRAITLAB_DEBUG=1``); 130 interrupted by Ctrl-C, after one line
saying what was kept (see `traitlab.errors.on_interrupt`). A program run ends right after its
last line (`main`), without the interpreter's teardown.
"""

from __future__ import annotations

import atexit
import importlib
import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

DEBUG_ENV = "TRAITLAB_DEBUG"
# After Ctrl-C has been reported, the process is gone within this many seconds even if a
# library's worker threads or cleanup would hold it open.
EXIT_GRACE_S = 1.5
INTERRUPTED = 130
_COMPLETION_OPTIONS = ("install_completion", "show_completion")


@dataclass(frozen=True)
class Mount:
    """A command of the main app: where its code lives, and its one-line summary for the list
    that `traitlab --help` prints without importing it (a test keeps the two in agreement)."""

    name: str
    target: str  # "module:attribute", a typer.Typer app or a command function
    summary: str


COMMANDS = (
    Mount("traits", "traitlab.cli:traits_app", "Check how a traits document parses."),
    Mount(
        "generate",
        "traitlab.datasets.synth.cli:generate",
        "Generate SFT chats, preference pairs or midtraining documents from a traits document.",
    ),
    Mount(
        "lint",
        "traitlab.lint.cli:lint_app",
        "Lint a dataset for over-represented patterns: `traitlab lint DATA [-o DIR]`.",
    ),
    Mount(
        "train",
        "traitlab.training.cli:train_command",
        "Train a checkpoint from a YAML config: OUTPUT/ in Hugging Face format, with a run card.",
    ),
    Mount(
        "report",
        "traitlab.report.cli:report_command",
        "Compare checkpoints across evals: headline metrics with intervals, differences, plots.",
    ),
)


def load_command(mount: Mount) -> Any:
    """Import a mounted command and turn it into a click command with plain help."""
    module, _, attribute = mount.target.partition(":")
    found = getattr(importlib.import_module(module), attribute)
    if not isinstance(found, typer.Typer):
        single = typer.Typer()
        single.command(mount.name)(found)
        found = single
    command = typer.main.get_command(found)
    # Shell completion belongs to the main command (which leaves it out), not to each part.
    command.params = [p for p in command.params if p.name not in _COMPLETION_OPTIONS]
    _plain_help(command)
    return command


def _plain_help(command: Any) -> None:
    """Click's plain help layout for a command and its sub-commands.

    Typer's boxed layout prints a `<bool>` after every flag and cuts long option names to fit its
    columns (`--max-regeneratio…`); the plain layout shows each option whole. A repeatable
    option shows its element type (`<str>`), not `<list[str]>`.
    """
    command.rich_markup_mode = None
    for param in command.params:
        if getattr(param, "multiple", False) and param.metavar is None:
            element = param.bare_type().removeprefix("list[").removesuffix("]")
            param.metavar = f"<{element}>"
    for sub in getattr(command, "commands", {}).values():
        _plain_help(sub)


class _Commands(TyperGroup):
    """The main group: commands imported on first use, and one place where failures are told."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [mount.name for mount in COMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands:
            mount = next((m for m in COMMANDS if m.name == cmd_name), None)
            if mount is None:
                return None
            self.commands[cmd_name] = load_command(mount)
        return self.commands[cmd_name]

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(mount.name, mount.summary) for mount in COMMANDS])

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException, BrokenPipeError):
            raise  # exits, usage errors (typer prints those) and a closed pipe (`| head`)
        except KeyboardInterrupt as ex:
            from traitlab.errors import Interrupted

            kept = str(ex) if isinstance(ex, Interrupted) else "stopped; nothing was finished"
            _fail(f"interrupted: {kept}", INTERRUPTED)
        except Exception as ex:
            if os.environ.get(DEBUG_ENV):
                traceback.print_exc()
            _fail(_one_line(ex), 2)


def _one_line(ex: Exception) -> str:
    """The line for an error: ours as they are, a file system error naming its path, and any
    other exception as an internal error with a pointer to the traceback."""
    from traitlab.errors import TraitlabError, plain_message

    if isinstance(ex, TraitlabError):
        return f"error: {plain_message(ex)}"
    if isinstance(ex, OSError) and ex.strerror:
        where = f"{ex.filename}: " if ex.filename else ""
        return f"error: {where}{ex.strerror}"
    return (
        f"error: internal error ({type(ex).__name__}: {plain_message(ex)[:300]}); "
        "run with --debug for the traceback"
    )


def _fail(line: str, code: int) -> None:
    print(line, file=sys.stderr, flush=True)
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(f"traitlab {version('traitlab')}")
        except PackageNotFoundError:
            print("traitlab (not installed; running from a source tree)")
        raise typer.Exit()


app = typer.Typer(
    cls=_Commands,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _main_options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help=f"Show tracebacks (or set {DEBUG_ENV}=1).")
    ] = False,
) -> None:
    """Instil traits in a language model and check, out of distribution, that they took.

    Evals are Inspect tasks: `inspect eval traitlab/<task> --model ...`. Exit status: 0 done,
    1 `lint check` failed its gate, 2 bad input or an error (one line on stderr), 130
    interrupted. Run `traitlab COMMAND --help` for a command's options.
    """
    if debug:
        os.environ[DEBUG_ENV] = "1"  # read by each part's own error handling as well


traits_app = typer.Typer(no_args_is_help=True)


@traits_app.callback()
def _traits() -> None:
    """Check how a traits document parses."""  # a callback keeps `show` a sub-command


@traits_app.command("show")
def traits_show(
    path: Annotated[
        Path | None, typer.Argument(help="Traits document (default: the bundled example).")
    ] = None,
) -> None:
    """Print each trait of a document as the parser read it: id, section, line and fields."""
    import shutil

    from traitlab.errors import on_interrupt
    from traitlab.traits import TraitsDocument

    with on_interrupt("nothing was written"):
        document = TraitsDocument.load(path)
        width = min(shutil.get_terminal_size().columns, 100)
        for line in document.describe(width=width):
            print(line)


def main() -> None:
    """Entry point of the `traitlab` script.

    A run of the program ends with `_exit_soon` once the command's output is flushed: the
    process is gone right after its last line and its libraries' exit hooks (no seconds of
    tearing down the modules a command loaded, in which a Ctrl-C would turn a finished run into
    130); after a Ctrl-C, within `EXIT_GRACE_S` even when threads that a library started would
    keep it alive.
    """
    # Only the program itself is ended early: a caller that runs main() in its own process (a
    # test under pytest) must keep its own exit status, or one interrupted command in a test
    # run would end the whole run with 130 at exit.
    as_program = sys._getframe(1).f_globals.get("__name__") == "__main__"
    if as_program:
        # Registered before any command imports its libraries: it runs after their exit hooks.
        atexit.unregister(_end_without_finalizing)
        atexit.register(_end_without_finalizing)
    try:
        app()
    except SystemExit as ex:
        if as_program:
            # The work is done (or was stopped and reported): nothing is left to interrupt.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            code = ex.code if isinstance(ex.code, int) else int(ex.code is not None)
            _exit_soon(code, cut_short=code == INTERRUPTED)
        raise


_exit_code: int | None = None


def _exit_soon(code: int, *, cut_short: bool) -> None:
    """End the process soon after `main()` returns, with status `code`.

    Two things held a run open for seconds after its last line: the interpreter's last garbage
    collection and teardown of every module that Inspect, torch, pandas and the rest had loaded
    (2-3 s after a long run; no thread can cut that short, since none runs once it starts), and
    threads that a library started and that the interpreter joins. So the threads are joined and
    the exit hooks that libraries registered still run (log handlers flushed, uploads finished,
    temporary folders removed), then `_end_without_finalizing` ends the process before that
    collection. With `cut_short` (the user pressed Ctrl-C and wants the prompt back), a watch
    also ends the whole shutdown after `EXIT_GRACE_S`, should a thread or a hook hang; a run
    that finished is never cut short, so a library's exit work is never lost.

    The watch starts only when the main thread has finished, so a caller that runs `main()`
    in-process and carries on (a test) is never cut short.
    """
    global _exit_code
    _exit_code = code
    if not cut_short:
        return
    main_thread = threading.main_thread()

    def watch() -> None:
        while main_thread.is_alive():
            time.sleep(0.1)
        time.sleep(EXIT_GRACE_S)
        _hard_exit(code)

    threading.Thread(target=watch, name="traitlab-exit", daemon=True).start()


def _end_without_finalizing() -> None:
    """The last exit hook: end a program run before the final garbage collection."""
    if _exit_code is not None:
        _hard_exit(_exit_code)


def _hard_exit(code: int) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
