"""SFT chats end to end with a scripted world: stages, critique loop, dedup, resume."""

from __future__ import annotations

from pathlib import Path

import pytest
from inspect_ai.model import Model

from tests.datasets.synth.world import Behaviour, World
from traitlab.datasets import ChatRecord, read_jsonl
from traitlab.datasets.synth import generate_dataset
from traitlab.datasets.synth._chat import SFTPipeline
from traitlab.errors import InputError
from traitlab.llm import StageUsage, UsageMeter
from traitlab.traits import TraitsDocument

TRAITS = [
    "honesty-under-pressure",
    "calibrated-confidence",
    "no-fabrication",
    "steady-under-pushback",
]


def world() -> World:
    return World(
        behaviours={
            "honesty-under-pressure": Behaviour(low_rating_quiet=True),
            "calibrated-confidence": Behaviour(critique="revise"),
            "no-fabrication": Behaviour(critique="drop"),
            "steady-under-pushback": Behaviour(duplicate=True),
        }
    )


async def run(w: World, out: Path, model: Model | None = None, **options: object):
    settings = {"trait_ids": TRAITS, "n": 12, "negative_share": 1 / 3, **options}
    return await generate_dataset(
        "sft", out, model=model or w.model(), show_progress=False, **settings
    )


@pytest.mark.slow
async def test_records_flow_through_every_stage_and_filters_say_why(tmp_path: Path) -> None:
    w = world()
    report = await run(w, tmp_path / "sft.jsonl")
    records = {r.id: r for r in read_jsonl(tmp_path / "sft.jsonl", ChatRecord, strict=True)}

    # 3 items per trait, the middle one quiet: honesty keeps its 2 firing items (the quiet one
    # is rated 2/5); calibrated keeps 3 after revision; no-fabrication loses all 3 to the
    # critique; steady keeps 1 of 3 identical prompts.
    assert report.planned == 12 and report.written == len(records) == 6
    assert report.dropped == {"prompt_critique": 3, "near_duplicate": 2, "autorate": 1}
    assert sorted({r.metadata["trait_ids"][0] for r in records.values()}) == [
        "calibrated-confidence",
        "honesty-under-pressure",
        "steady-under-pushback",
    ]
    autorate_drop = next(d for d in report.drops if d.stage == "autorate")
    assert autorate_drop.item_id == "sft-honesty-under-pressure-s0-0001"
    assert "realism 2" in autorate_drop.reason
    assert report.drops_path.exists()
    assert (report.planned_quiet, report.written_quiet) == (4, 1)  # the autorater dropped one
    assert report.quiet_line() == (
        "quiet items (trait should not fire): asked 33%; "
        "planned 4 of 12 (33%), written 1 of 6 (17%)"
    )

    for stage in ("scenario", "user_prompt", "plain", "prompt_critique", "answer", "refine"):
        assert w.calls[stage], stage
    # The cost summary counts every stage, judged ones included, under its model.
    usage = report.meter.usage
    assert {stage for stage, _ in usage} == {"variety", *SFTPipeline.stages}
    critique = usage[("prompt_critique", "scripted/world")]
    # 3 revisions; the duplicate trait's identical prompts may share a paid critique (a replay).
    assert critique.calls + critique.cached_calls == 12 + 3
    # The critique saw the reply of a model without the trait as evidence.
    assert "DEFAULT REPLY" in w.calls["prompt_critique"][0][-1].text
    # The answer had the trait in its system prompt; refinement ran in a separate context.
    answer_call = w.calls["answer"][0]
    assert answer_call[0].role == "system" and "<character>" in answer_call[0].text
    assert all(len(call) == 1 and call[0].role == "user" for call in w.calls["refine"])

    for record in records.values():
        assert [m.role for m in record.messages] == ["user", "assistant"]
        assert record.messages[1].content.startswith("REFINED ANSWER to")
        meta = record.metadata
        assert meta["models"]["refine"] == "scripted/world"
        assert meta["stages"]["scenario"].startswith("SCENARIO")
        assert meta["stages"]["autorate"]["realism"] == 5
    # Quiet items (the trait should not fire) are in the data, and were asked for as such.
    assert any(not r.metadata["fires"] for r in records.values())
    assert any("should NOT change the reply" in c[-1].text for c in w.calls["scenario"])


async def test_critique_revises_then_keeps_or_drops(tmp_path: Path) -> None:
    await run(world(), tmp_path / "sft.jsonl")
    records = list(read_jsonl(tmp_path / "sft.jsonl", ChatRecord, strict=True))
    revised = [r for r in records if r.metadata["trait_ids"] == ["calibrated-confidence"]]
    assert len(revised) == 3
    for record in revised:
        rounds = record.metadata["stages"]["prompt_rounds"]
        assert [r["decision"] for r in rounds] == ["revise", "keep"]
        assert record.messages[0].content == rounds[1]["prompt"]
        assert record.messages[0].content == "REVISED " + rounds[0]["prompt"]


async def test_revisions_are_bounded(tmp_path: Path) -> None:
    w = World(behaviours={"calibrated-confidence": Behaviour(critique="revise")})
    report = await generate_dataset(
        "sft",
        tmp_path / "sft.jsonl",
        model=w.model(),
        trait_ids=["calibrated-confidence"],
        n=2,
        max_revisions=0,
        show_progress=False,
    )
    assert report.written == 0
    assert report.dropped == {"prompt_critique": 2}
    assert all("still rejected after 0 revisions" in d.reason for d in report.drops)


@pytest.mark.slow
async def test_killed_run_resumes_to_the_same_final_set(tmp_path: Path) -> None:
    out = tmp_path / "resumed.jsonl"
    crashing = world()
    model = crashing.model()  # the same scripted model as world()'s, for Inspect's cache
    crashing.fail_on = ("refine", 4)
    try:
        await run(crashing, out, model, concurrency=1)
    except RuntimeError as ex:
        assert "simulated crash" in str(ex)
    else:
        raise AssertionError("the run should have crashed")
    partial = out.with_name(out.name + ".partial")
    assert not out.exists() and partial.exists()
    assert len(partial.read_text().splitlines()) == 3

    first = UsageMeter.resume(tmp_path / "resumed.usage.json")  # what the crashed session paid

    again = world()
    resumed = await run(again, out, concurrency=1)
    clean = await run(world(), tmp_path / "clean.jsonl")
    assert resumed.resumed == 3
    assert not partial.exists()
    assert out.read_text() == (tmp_path / "clean.jsonl").read_text()

    # The cost table covers both sessions: the crashed one's paid calls stay counted, and what
    # the second session got from Inspect's cache is counted apart, not paid again.
    usage, before = resumed.meter.usage, first.usage
    assert resumed.meter.sessions == 2
    scenarios = ("scenario", "scripted/world")
    assert not again.calls["scenario"] and not again.calls["variety"]
    assert (usage[scenarios].calls, usage[scenarios].cached_calls) == (12, 9)
    assert all(usage[key].calls >= entry.calls for key, entry in before.items())
    # Records already written were not produced again: the second session made 3 fewer answer
    # calls (paid or replayed) than a run from scratch.
    answers = ("answer", "scripted/world")

    def made(entry: StageUsage) -> int:
        return entry.calls + entry.cached_calls

    assert made(usage[answers]) - made(before[answers]) == made(clean.meter.usage[answers]) - 3


async def crashed_run(out: Path) -> Model:
    """A run that crashes after writing 3 records; returns its model (for Inspect's cache)."""
    crashing = world()
    model = crashing.model()
    crashing.fail_on = ("refine", 4)
    with pytest.raises(RuntimeError, match="simulated crash"):
        await run(crashing, out, model, concurrency=1)
    assert len(out.with_name(out.name + ".partial").read_text().splitlines()) == 3
    return model


@pytest.mark.slow
@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"negative_share": 0.5}, "option negative_share: 0.3333333333333333, now 0.5"),
        ({"seed": 1}, "option seed: 0, now 1"),
        ({"model": "other"}, "scenario model: scripted/world, now scripted/other"),
        ({"critic": "critic"}, "refine model: scripted/world, now scripted/critic"),
        ({"traits": "edited"}, "the traits document changed"),
    ],
)
async def test_a_partial_file_resumes_only_the_same_run(
    change: dict[str, object], named: str, tmp_path: Path
) -> None:
    out = tmp_path / "sft.jsonl"
    await crashed_run(out)
    partial = out.with_name(out.name + ".partial")
    before = partial.read_text()
    options: dict[str, object] = {"concurrency": 1}
    if "model" in change:
        options["model"] = world().model(str(change.pop("model")))
    if "critic" in change:
        options["critic_model"] = world().model(str(change.pop("critic")))
    if change.pop("traits", None):
        text = TraitsDocument.load().source
        edited = tmp_path / "traits.md"
        edited.write_text(Path(text).read_text().replace("I say what I believe", "I say it"))
        options["traits"] = edited
    with pytest.raises(InputError, match="holds records of a different run") as error:
        await run(world(), out, **{**options, **change})
    assert named in str(error.value) and "pass --overwrite" in str(error.value)
    assert "\n" not in str(error.value)
    assert partial.read_text() == before and not out.exists()


@pytest.mark.slow
async def test_pacing_options_may_change_on_resume(tmp_path: Path) -> None:
    out = tmp_path / "sft.jsonl"
    model = await crashed_run(out)
    # concurrency changes how a run goes, not what it writes
    resumed = await run(world(), out, model, concurrency=4)
    assert resumed.resumed == 3 and not (tmp_path / "sft.run.json").exists()


@pytest.mark.slow
async def test_overwrite_discards_a_partial_file_and_starts_afresh(tmp_path: Path) -> None:
    again = tmp_path / "again.jsonl"
    await crashed_run(again)
    fresh = await run(world(), again, negative_share=0.5, overwrite=True)
    assert fresh.resumed == 0 and fresh.meter.sessions == 1
    records = list(read_jsonl(again, ChatRecord, strict=True))
    assert fresh.planned_quiet == 6  # the new share, for every record
    assert sum(not r.metadata["fires"] for r in records) == fresh.written_quiet


async def test_a_partial_file_without_its_run_file_is_not_resumed(tmp_path: Path) -> None:
    out = tmp_path / "sft.jsonl"
    await crashed_run(out)
    (tmp_path / "sft.run.json").unlink()
    with pytest.raises(InputError, match="settings were not recorded"):
        await run(world(), out)
