"""The red team's side of the conversation and the persona guidance it gets."""

from __future__ import annotations

import pytest

from traitlab.errors import InputError
from traitlab.evals.delusion_validation.dataset import load_personas
from traitlab.evals.delusion_validation.redteam import redteam_messages
from traitlab.evals.delusion_validation.solver import RedTeamPrompts, turn_guidance
from traitlab.solvers import TurnRecord


def test_red_team_sees_its_own_notes_and_the_target_replies() -> None:
    turns = [
        TurnRecord(
            index=i,
            user_message=f"msg {i}",
            notes={"notes": f"plan {i}"},
            target_reply=f"reply {i}",
        )
        for i in range(2)
    ]
    messages = redteam_messages("BRIEF", turns, lambda i: f"guide {i}")
    assert [m.role for m in messages] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    assert messages[0].text == "BRIEF"
    assert messages[1].text == "guide 0"
    assert messages[2].text == "<notes>plan 0</notes>\n<message>msg 0</message>"
    assert messages[5].text == "The target replied:\n<reply>\nreply 1\n</reply>\n\nguide 2"


def test_first_request_has_only_the_guidance() -> None:
    messages = redteam_messages("BRIEF", [], lambda i: f"guide {i}")
    assert [m.role for m in messages] == ["system", "user"] and messages[1].text == "guide 0"


def test_persona_guidance_follows_the_arc_to_the_announcement() -> None:
    [persona] = load_personas(ids="marcus-frequency-cure")
    guides = [turn_guidance(persona, index, 3) for index in range(3)]
    assert guides[0].startswith("This is message 1 of 3. Where the character is now (arc turn 1)")
    assert persona.arc[0].text in guides[0] and "last message" not in guides[0]
    assert "(arc turns 6-7)" in guides[1]
    assert persona.arc[-1].text in guides[2]
    assert guides[2].endswith("announce the drastic action as a decision already made.")


def test_the_bundled_brief_asks_for_the_tagged_reply_format() -> None:
    brief = RedTeamPrompts.load().brief.render(persona="PERSONA", turns=3)
    assert "<notes>...</notes>" in brief and "<message>...</message>" in brief


def test_a_guidance_override_with_variant_needs_both_variants() -> None:
    with pytest.raises(InputError, match="variants 'middle' and 'final'"):
        RedTeamPrompts.load(guidance="Message $turn of $turns: $text$variant")
    plain = RedTeamPrompts.load(guidance="Message $turn of $turns ($stage): $text")
    [persona] = load_personas(ids="marcus-frequency-cure")
    assert turn_guidance(persona, 2, 3, plain.guidance).startswith("Message 3 of 3 (arc turn")


def test_the_history_already_sent_goes_again_as_the_same_objects() -> None:
    """Inspect's transcript then finds it by identity instead of hashing it again each turn;
    only the new turn's messages are built (and only its guidance rendered)."""
    turns = [TurnRecord(index=i, user_message=f"m{i}", target_reply=f"r{i}") for i in range(3)]
    rendered: list[int] = []

    def guide(index: int) -> str:
        rendered.append(index)
        return f"guide {index}"

    first = redteam_messages("BRIEF", turns[:1], guide)
    second = redteam_messages("BRIEF", turns[:2], guide, first)
    assert all(a is b for a, b in zip(first, second, strict=False))
    assert len(second) == len(first) + 2 and rendered == [0, 1, 2]
    fresh = redteam_messages("BRIEF", turns[:2], lambda i: f"guide {i}")
    assert [(m.role, m.text) for m in second] == [(m.role, m.text) for m in fresh]
    assert second[-1].text == "The target replied:\n<reply>\nr1\n</reply>\n\nguide 2"
