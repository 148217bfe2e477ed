"""Stage models, stage prompts and the run plan."""

from __future__ import annotations

import pytest

from tests.datasets.synth.world import World
from traitlab.cli_args import parse_key_values
from traitlab.datasets.synth import PIPELINES, STAGES, GenerateOptions, stage_models
from traitlab.datasets.synth._prompts import PROMPTS_DIR, stage_prompt
from traitlab.datasets.synth._run import plan
from traitlab.errors import InputError
from traitlab.traits import TraitsDocument


def test_critical_stages_default_to_the_critic_and_any_stage_can_be_overridden() -> None:
    writer, critic, judge = World().model("writer"), World().model("critic"), World().model("j")
    models = stage_models(writer, critic, {"autorate": judge})
    assert models["scenario"] is writer and models["answer"] is writer
    assert models["prompt_critique"] is critic and models["rewrite"] is critic
    assert models["autorate"] is judge
    assert stage_models(writer)["refine"] is writer  # no critic: the model does it all
    with pytest.raises(InputError, match="unknown stage 'critique'"):
        stage_models(writer, overrides={"critique": judge})


def test_stage_model_specs_parse() -> None:
    assert parse_key_values(
        ["refine = openai/gpt-4o"], option="--stage-model", form="STAGE=MODEL", typed=False
    ) == {"refine": "openai/gpt-4o"}
    with pytest.raises(InputError, match="STAGE=MODEL"):
        parse_key_values(["refine"], option="--stage-model", form="STAGE=MODEL", typed=False)


@pytest.mark.parametrize("path", sorted(PROMPTS_DIR.glob("*.md")), ids=lambda p: p.stem)
def test_prompt_files_parse_and_name_their_stage(path) -> None:
    prompt = stage_prompt(path.stem)
    assert prompt.name == path.stem in STAGES
    assert prompt.purpose and prompt.template
    # A value the caller forgets is an error, never an empty hole in a prompt.
    if prompt.placeholders - {"variant"}:
        with pytest.raises(InputError, match="needs a value for"):
            prompt.render()


def test_plan_ids_are_stable_and_quiet_share_is_exact() -> None:
    document = TraitsDocument.load()
    options = GenerateOptions(n=30, seed=3, trait_ids=["directness", "no-fabrication"])
    items = plan(PIPELINES["sft"](options), document, options)
    again = plan(PIPELINES["sft"](options), document, options)
    assert [i.id for i in items] == [i.id for i in again]
    assert len({i.id for i in items}) == 30
    assert items[0].id == "sft-no-fabrication-s3-0000"  # chunks in document order
    assert sum(not i.fires for i in items) == 6  # 20% of 15 per trait
    assert len({i.setting for i in items}) > 5 and len({i.style for i in items}) > 3
    other = GenerateOptions(n=30, seed=4, trait_ids=["directness", "no-fabrication"])
    assert {i.id for i in plan(PIPELINES["sft"](other), document, other)}.isdisjoint(
        i.id for i in items
    )
    pairs = plan(PIPELINES["preference"](options), document, options)
    assert all(i.fires for i in pairs)


@pytest.mark.parametrize("n", [1, 4, 12, 40, 59, 100, 101])
@pytest.mark.parametrize("share", [0.2, 1 / 3, 0.5])
def test_quiet_share_holds_at_any_n(n: int, share: float) -> None:
    """With the bundled 12 traits, a per-trait rule gave 0 quiet items at n = 12 or 40."""
    options = GenerateOptions(n=n, negative_share=share)
    items = plan(PIPELINES["sft"](options), TraitsDocument.load(), options)
    quiet = [i for i in items if not i.fires]
    assert abs(len(quiet) - n * share) <= 0.5 + 1e-9  # round(n * share): within one item
    for chunk in {i.chunk.id for i in items}:  # and spread over the traits, within one item
        of_chunk = [i for i in items if i.chunk.id == chunk]
        assert abs(sum(not i.fires for i in of_chunk) - len(of_chunk) * share) < 1


def test_plan_by_section_puts_a_section_in_each_prompt() -> None:
    options = GenerateOptions(n=4, chunk_by="section", trait_ids=["no-fabrication"])
    [item, *_] = plan(PIPELINES["midtrain"](options), TraitsDocument.load(), options)
    assert item.id == "midtrain-honesty-s0-0000"
    assert "no-fabrication" in item.chunk.trait_ids and len(item.chunk.trait_ids) == 3
