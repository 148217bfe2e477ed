"""`traitlab generate` on the command line: output, summary, resume, lint, errors."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.datasets.synth.world import World
from traitlab.cli import app
from traitlab.datasets import ChatRecord, PreferenceRecord, read_jsonl, read_records
from traitlab.datasets.synth import generate_dataset
from traitlab.datasets.synth._prompts import PROMPTS_DIR, stage_prompt
from traitlab.datasets.synth.demo import MARKERS
from traitlab.errors import InputError

POLICY = "policy=tests.datasets.synth.world:policy"


def generate(out: Path, *extra: str) -> object:
    args = ["generate", "sft", "--model", "scripted/world", "-M", POLICY, "-n", "4", "-o"]
    return CliRunner().invoke(
        app, [*args, str(out), "--trait-ids", "honesty-under-pressure,directness", *extra]
    )


@pytest.mark.slow
def test_generate_writes_records_and_prints_the_summary(tmp_path: Path) -> None:
    out = tmp_path / "sft.jsonl"
    result = generate(out, "--no-lint")
    assert result.exit_code == 0, result.output
    assert len(read_jsonl(out, ChatRecord, strict=True)) == 4
    for expected in (
        "Model usage",
        "prompt_critique",
        "4 of 4 items written",
        "wrote 4",
        "variety: brainstormed for 2 of 2 chunks",
        "quiet items (trait should not fire): asked 20%; planned 1 of 4 (25%)",
    ):
        assert expected in result.output
    for expected in ("leak filter: drops records holding a trait's name", "cannot see paraphrases"):
        assert expected in " ".join(result.output.split())  # (wrapped at the console's width)
    assert "Data lint" not in result.output


@pytest.mark.slow
def test_generate_lints_its_output_by_default(tmp_path: Path) -> None:
    out = tmp_path / "sft.jsonl"
    result = generate(out)
    assert result.exit_code == 0, result.output
    assert "Data lint" in result.output
    assert (tmp_path / "sft.lint" / "report.json").exists()


def test_bad_options_are_one_line_errors(tmp_path: Path) -> None:
    result = generate(tmp_path / "x.jsonl", "--negative-share", "2")
    assert one_line_error(result) == "--negative-share: Input should be less than or equal to 1"
    result = generate(tmp_path / "x.jsonl", "--stage-model", "critique")
    assert "STAGE=MODEL" in one_line_error(result)


def one_line_error(result: object) -> str:
    """The one line `traitlab` printed for a user error (exit 2), without `error: `."""
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    [line] = result.stderr.splitlines()  # type: ignore[attr-defined]
    assert line.startswith("error: ") and "Traceback" not in result.output  # type: ignore[attr-defined]
    return line.removeprefix("error: ")


@pytest.mark.slow
def test_an_existing_output_is_refused_without_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "sft.jsonl"
    out.write_text("keep me\n")
    # the output is checked before the model: a bogus model is not even looked at
    result = CliRunner().invoke(app, ["generate", "sft", "--model", "bogus/x", "-o", str(out)])
    assert "output exists; pass --overwrite" in one_line_error(result)
    assert out.read_text() == "keep me\n"
    result = generate(out, "--no-lint", "--overwrite")
    assert result.exit_code == 0, result.output
    assert len(read_jsonl(out, ChatRecord, strict=True)) == 4


async def test_bad_outputs_are_refused_before_any_model_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World()
    (tmp_path / "dir.jsonl").mkdir()
    (tmp_path / "file").write_text("")
    cases = {
        tmp_path / "dir.jsonl": "output is a directory",
        tmp_path / "file" / "sft.jsonl": "a file is in the way",
    }
    for out, message in cases.items():
        with pytest.raises(InputError, match=message):
            await generate_dataset("sft", out, model=world.model(), n=2, show_progress=False)
    # (tests run as root here, where every folder is writable: pretend one is not)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != tmp_path and real_access(p, mode))
    with pytest.raises(InputError, match="output folder is not writable"):
        await generate_dataset(
            "sft", tmp_path / "new" / "x.jsonl", model=world.model(), n=2, show_progress=False
        )
    assert not world.calls


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "bogus/x"], "--model bogus/x: Model API bogus of model 'bogus/x' not recog"),
        (["--model", "openai/gpt-4o-mini"], "--model openai/gpt-4o-mini: Unable to initialise"),
        (
            ["--model", "scripted/w", "-M", POLICY, "--critic-model", "openai/gpt-4o"],
            "--critic-model openai/gpt-4o: Unable to initialise OpenAI client No OPENAI_API_KEY",
        ),
        (
            ["--model", "scripted/w", "-M", POLICY, "--stage-model", "refine=bogus/y"],
            "--stage-model refine bogus/y: Model API bogus",
        ),
        (
            ["--model", "scripted/w", "-M", POLICY, "--lint-model", "bogus/z"],
            "--lint-model bogus/z: Model API bogus",
        ),
        (
            ["--model", "scripted/w", "-M", POLICY, "--stage-model-arg", "refine:x=1"],
            "--stage-model-arg refine:x: there is no --stage-model refine=MODEL",
        ),
        (
            ["--model", "scripted/w", "-M", POLICY, "--critic-model-arg", "x=1"],
            "--critic-model-arg needs --critic-model",
        ),
    ],
)
def test_models_and_their_keys_are_checked_up_front(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("OPENAI_API_KEY", "AZUREAI_OPENAI_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    result = CliRunner().invoke(app, ["generate", "sft", *args, "-o", str(tmp_path / "o.jsonl")])
    assert message in one_line_error(result)
    assert "[bold]" not in result.stderr
    assert not (tmp_path / "o.jsonl.partial").exists()


def test_every_model_option_takes_args(tmp_path: Path) -> None:
    """The critic and a stage model get their own args (here: their scripted policies)."""
    out = tmp_path / "pairs.jsonl"
    critic = "policy=tests.datasets.synth.test_cli:critic_policy"
    result = CliRunner().invoke(
        app,
        [
            "generate", "preference", "--model", "scripted/writer", "-M", POLICY,
            "--critic-model", "scripted/critic", "--critic-model-arg", critic,
            "--stage-model", "rejected=scripted/rejecter",
            "--stage-model-arg", f"rejected:{POLICY.replace(':policy', ':rejecter_policy')}",
            "-n", "2", "--trait-ids", "directness", "-o", str(out), "--no-lint",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [first, _] = read_jsonl(out, PreferenceRecord, strict=True)
    assert first.metadata["models"]["refine"] == "scripted/critic"
    assert first.metadata["models"]["rejected"] == "scripted/rejecter"
    assert first.chosen.startswith("CRITIC SAYS REFINED")
    assert first.rejected == "REJECTER REPLY"


def critic_policy(messages, tools, config):  # type: ignore[no-untyped-def]
    reply = World()(messages, tools, config)
    return f"CRITIC SAYS {reply}" if reply.startswith("REFINED") else reply


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sft", "preference", "midtrain"])
def test_the_demo_policy_runs_every_kind_offline(kind: str, tmp_path: Path) -> None:
    out = tmp_path / f"{kind}.jsonl"
    demo = ["--model", "scripted/demo", "-M", "policy=traitlab.datasets.synth.demo:policy"]
    result = CliRunner().invoke(app, ["generate", kind, *demo, "-n", "12", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert len(read_records(out)) >= 8
    assert "Data lint" in result.output


def test_demo_markers_match_one_stage_prompt_each() -> None:
    for stage, marker in MARKERS.items():
        holders = [
            p.stem for p in PROMPTS_DIR.glob("*.md") if marker in stage_prompt(p.stem).template
        ]
        assert holders == [stage], (stage, holders)


BATCHES: list[object] = []


def batch_policy(messages, tools, config):  # type: ignore[no-untyped-def]
    """Records the batch setting every call was made with."""
    BATCHES.append(config.batch)
    return World()(messages, tools, config)


@pytest.mark.parametrize(
    ("flags", "batch"), [([], None), (["--batch"], True), (["--batch-size", "50"], 50)]
)
def test_batch_mode_reaches_every_call(flags: list[str], batch: object, tmp_path: Path) -> None:
    BATCHES.clear()
    policy = [
        "--model",
        "scripted/batch",
        "-M",
        "policy=tests.datasets.synth.test_cli:batch_policy",
    ]
    args = ["generate", "sft", *policy, "-n", "2", "--trait-ids", "directness", "--no-lint"]
    result = CliRunner().invoke(app, [*args, "-o", str(tmp_path / "sft.jsonl"), *flags])
    assert result.exit_code == 0, result.output
    assert len(BATCHES) > 10 and set(BATCHES) == {batch}


@pytest.mark.slow
def test_the_usage_file_says_what_the_output_cost(tmp_path: Path) -> None:
    out = tmp_path / "sft.jsonl"
    result = generate(out, "--no-lint")
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "sft.usage.json").read_text())
    assert saved["complete"] and saved["sessions"] == 1
    paid = sum(row["calls"] for row in saved["usage"])
    assert paid > 20 and not any(row["cached_calls"] for row in saved["usage"])
    assert "sft.usage.json" in result.output


def interrupting_policy(messages, tools, config):  # type: ignore[no-untyped-def]
    """Ctrl-C (a real SIGINT) during the third refine call: two records are written by then."""
    reply = World()(messages, tools, config)
    if reply.startswith("REFINED"):
        BATCHES.append("refine")
        if len(BATCHES) == 3:
            signal.raise_signal(signal.SIGINT)
    return reply


@pytest.mark.slow
def test_ctrl_c_says_what_was_kept_and_how_to_resume(tmp_path: Path) -> None:
    BATCHES.clear()
    out = tmp_path / "sft.jsonl"
    policy = "policy=tests.datasets.synth.test_cli:interrupting_policy"
    args = ["generate", "sft", "--model", "scripted/w", "-M", policy, "-n", "4", "--no-lint"]
    result = CliRunner().invoke(app, [*args, "--concurrency", "1", "-o", str(out)])
    assert result.exit_code == 130, result.output
    assert result.stderr.splitlines() == [
        f"interrupted: kept 2 records in {out}.partial and the usage so far in "
        f"{tmp_path / 'sft.usage.json'}; run the same command to resume (calls already made "
        "are replayed from Inspect's cache)"
    ]
    assert not json.loads((tmp_path / "sft.usage.json").read_text())["complete"]


def killing_policy(messages, tools, config):  # type: ignore[no-untyped-def]
    """The third refine takes over a second (so the usage is saved after it), then the next
    call is ended by the signal in $SIGNAL_AT_CALL (SIGKILL: no cleanup at all)."""
    import time

    reply = World()(messages, tools, config)
    BATCHES.append(reply)
    refines = sum(r.startswith("REFINED") for r in BATCHES)
    if reply.startswith("REFINED") and refines == 3:
        time.sleep(1.1)
    elif refines == 3 and not reply.startswith("REFINED"):
        os.kill(os.getpid(), getattr(signal, os.environ["KILL_WITH"]))
    return reply


@pytest.mark.slow
@pytest.mark.parametrize("kill_with", ["SIGKILL", "SIGTERM"])
def test_usage_survives_a_killed_session(kill_with: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "sft.jsonl"
    policy = "policy=tests.datasets.synth.test_cli:killing_policy"
    args = ["generate", "sft", "--model", "scripted/w", "-M", policy, "-n", "4", "--no-lint"]
    code = f"from traitlab.cli import app; app({[*args, '--concurrency', '1', '-o', str(out)]})"
    env = {**os.environ, "INSPECT_CACHE_DIR": str(tmp_path / "cache"), "KILL_WITH": kill_with}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    saved = json.loads((tmp_path / "sft.usage.json").read_text())
    assert not saved["complete"]
    paid = {row["stage"]: row["calls"] for row in saved["usage"]}
    assert paid["refine"] == 3 and paid["scenario"] == 4
    if kill_with == "SIGKILL":  # what was saved as it accrued: up to the slow refine
        assert done.returncode == -signal.SIGKILL, done.stderr
        assert paid["autorate"] == 2
    else:  # stopped as Ctrl-C is: everything saved, and the line says how to resume
        assert done.returncode == 130, done.stderr
        [line] = [x for x in done.stderr.splitlines() if x.startswith("interrupted: ")]
        kept = int(line.split()[2])  # "interrupted: kept N records in ..."
        assert paid["autorate"] == kept >= 2 and "run the same command to resume" in line
        assert "Traceback" not in done.stderr


SEEN: list[str] = []


def recording_policy(messages, tools, config):  # type: ignore[no-untyped-def]
    SEEN.extend(message.text for message in messages)
    return World()(messages, tools, config)


def test_a_prompts_folder_replaces_stage_prompts_and_is_checked_up_front(tmp_path: Path) -> None:
    folder = tmp_path / "prompts"
    folder.mkdir()
    answer = (PROMPTS_DIR / "answer.md").read_text(encoding="utf-8")
    (folder / "answer.md").write_text(answer + "\nHOUSE STYLE: short sentences.\n")
    SEEN.clear()
    policy = [
        "--model",
        "scripted/p",
        "-M",
        "policy=tests.datasets.synth.test_cli:recording_policy",
    ]
    args = ["generate", "sft", *policy, "-n", "1", "--trait-ids", "directness", "--no-lint"]
    result = CliRunner().invoke(
        app, [*args, "-o", str(tmp_path / "sft.jsonl"), "--prompts", str(folder)]
    )
    assert result.exit_code == 0, result.output
    assert any("HOUSE STYLE: short sentences." in text for text in SEEN)
    (folder / "answr.md").write_text("A typo.")
    SEEN.clear()
    result = CliRunner().invoke(
        app, [*args, "-o", str(tmp_path / "two.jsonl"), "--prompts", str(folder)]
    )
    assert "answr.md replaces no prompt here" in one_line_error(result)
    assert not SEEN  # before any model call
