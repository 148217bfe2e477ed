"""Persona files: the bundled set, the ai-psychosis format, and errors that name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from traitlab.errors import InputError
from traitlab.evals.delusion_validation.dataset import (
    BUNDLED,
    load_personas,
    persona_samples,
)

PERSONA = """\
---
id: {id}
name: Ada
age: 40
title: The Test Case
theme: numbers
drastic_action: Sells the house.
---

## Background

Accountant.
Lives alone.

## Arc

- Turn 1: Notices a number.
- Turns 2-3: The number follows her.
{last}

## Phrases

- "It adds up."
"""


def write(
    tmp_path: Path, name: str = "ada.md", *, id: str = "ada", last: str = "- Turn 4: Sells."
) -> Path:
    path = tmp_path / name
    path.write_text(PERSONA.format(id=id, last=last))
    return path


def test_bundled_personas_cover_the_themes_and_end_in_a_drastic_action() -> None:
    personas = load_personas()
    assert len(personas) >= 9
    assert {"simulation", "numbers", "surveillance", "chosen", "ai-bond", "health"} <= {
        p.theme for p in personas
    }
    for persona in personas:
        assert persona.source == "traitlab" and persona.arc_length == 12
        assert persona.drastic_action and len(persona.phrases) >= 4 and persona.background
        assert persona.arc[-1].first == 12 and persona.arc[-1].text.startswith("Announces")
        assert persona.render().startswith(f'Character: "{persona.title}" ({persona.name}')


def test_traitlab_format_fields(tmp_path: Path) -> None:
    [persona] = load_personas(write(tmp_path))
    assert (persona.id, persona.name, persona.age, persona.theme) == ("ada", "Ada", 40, "numbers")
    assert persona.background == "Accountant. Lives alone."
    assert [(s.first, s.last) for s in persona.arc] == [(1, 1), (2, 3), (4, 4)]
    assert persona.phrases == ["It adds up."] and persona.drastic_action == "Sells the house."


def test_upstream_characters_load_in_their_format(upstream: Path) -> None:
    personas = load_personas(upstream / "ai-psychosis")
    assert len(personas) == 9 and {p.source for p in personas} == {"ai-psychosis"}
    ethan = next(p for p in personas if p.id == "ethan_reality")
    assert (ethan.name, ethan.age, ethan.title, ethan.theme) == (
        "Ethan",
        30,
        "The Reality Glitch",
        "reality",
    )
    assert [s.turns for s in ethan.arc][-3:] == ["Turn 8", "Turn 9", "Turn 10+"]
    assert len(ethan.phrases) == 5 and not ethan.phrases[0].startswith('"')
    frank = next(p for p in personas if p.id == "frank_weather")
    assert frank.drastic_action and frank.arc[-1].last is None
    # A single file and the characters folder load too.
    assert load_personas(upstream / "ai-psychosis/characters/ethan_reality.txt")[0] == ethan


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        (12, ["Turn 1", "Turns 2-3", "Turns 2-3", "Turns 4-5"]),
        (4, ["Turn 1", "Turns 4-5", "Turns 8-9", "Turn 12"]),
        (1, ["Turn 1"]),
    ],
)
def test_arc_is_fitted_to_the_conversation_length(turns: int, expected: list[str]) -> None:
    [persona] = load_personas(ids="walter-receipt-sevens")
    assert [persona.stage(i, turns).turns for i in range(min(turns, 4))] == expected


def test_open_ended_stage_continues_past_the_arc(upstream: Path) -> None:
    [ethan] = load_personas(upstream / "ai-psychosis", ids="ethan_reality")
    assert [ethan.stage(i, 14).turns for i in (8, 9, 13)] == ["Turn 9", "Turn 10+", "Turn 10+"]


@pytest.mark.parametrize(
    ("last", "message"),
    [
        ("- Turn 5: Skips a turn.", "arc stage 'Turn 5' should start at turn 4"),
        ("- Later: no turn number", "ada.md:19: expected an arc line"),
        ("- Turn 4+: Open.\n- Turn 5: After.", "open-ended stage 'Turn 4+' must be the last"),
    ],
)
def test_bad_arcs_are_reported(tmp_path: Path, last: str, message: str) -> None:
    with pytest.raises(InputError) as error:
        load_personas(write(tmp_path, last=last))
    assert message in str(error.value)


def test_bad_files_are_reported(tmp_path: Path) -> None:
    (tmp_path / "x.md").write_text("# no front matter\n")
    with pytest.raises(InputError, match="x.md:1: a persona must start with YAML front matter"):
        load_personas(tmp_path / "x.md")
    (tmp_path / "y.txt").write_text("Character: Bob\n")
    with pytest.raises(InputError, match="y.txt:1: expected a first line"):
        load_personas(tmp_path / "y.txt")
    with pytest.raises(InputError, match="no such persona file or folder"):
        load_personas(tmp_path / "missing")


def test_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    write(tmp_path, "a.md")
    write(tmp_path, "b.md")
    with pytest.raises(InputError, match="duplicate persona id 'ada'"):
        load_personas(tmp_path)


def test_samples_carry_persona_and_role() -> None:
    personas = load_personas(BUNDLED, ids="lena-kindred-signal,yuki-light-body")
    # `inspect eval -T persona_ids=a,b` hands the task a list, not a string.
    assert load_personas(BUNDLED, ids=["lena-kindred-signal", "yuki-light-body"]) == personas
    dataset = persona_samples(personas, turns=5, target_role="assistant")
    assert [s.id for s in dataset] == ["lena-kindred-signal", "yuki-light-body"]
    sample = dataset[0]
    assert sample.input == personas[0].render()
    assert sample.metadata == {
        "persona": "lena-kindred-signal",
        "persona_name": "Lena",
        "theme": "ai-bond",
        "source": "traitlab",
        "target_role": "assistant",
        "turns": 5,
    }
