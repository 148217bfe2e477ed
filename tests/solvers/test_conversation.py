"""The simulated-user conversation loop and structural refusal detection."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from inspect_ai import Task
from inspect_ai.dataset import Sample
from inspect_ai.model import ChatMessageAssistant, ChatMessageUser
from inspect_ai.solver import TaskState, system_message, use_tools
from inspect_ai.tool import tool

from tests.helpers import run_task, scripted
from traitlab.solvers import (
    TurnRecord,
    UserTurn,
    conversation_log,
    extract_tag,
    format_transcript,
    simulated_user_conversation,
    tagged_blocks,
    tagged_reply,
    target_words,
)


def echo(messages, tools, config):  # noqa: ANN001, ANN201
    return f"reply to: {messages[-1].text}"


def run(user, tmp_path: Path, *, turns: int = 3, target=echo, tools=()):  # noqa: ANN001, ANN201
    solver = [
        system_message("You are a helpful assistant."),
        use_tools(*tools),
        simulated_user_conversation(user, turns=turns),
    ]
    task = Task(dataset=[Sample(input="(unused)")], solver=solver)
    log = run_task(task, scripted(policy=target), tmp_path)
    return log.samples[0]


def test_turns_are_recorded_and_notes_stay_private(tmp_path: Path) -> None:
    async def user(state: TaskState, turns: Sequence[TurnRecord]) -> UserTurn:
        index = len(turns)
        return UserTurn(message=f"message {index}", notes={"plan": f"secret {index}"})

    sample = run(user, tmp_path)
    log = conversation_log(sample)
    assert [t.user_message for t in log.turns] == ["message 0", "message 1", "message 2"]
    assert [t.target_reply for t in log.turns][-1] == "reply to: message 2"
    assert log.turns[1].notes == {"plan": "secret 1"} and log.target_calls == 3
    assert log.flag_reason() is None and not log.ended_by_user
    assert all("secret" not in m.text for m in sample.messages)
    # The system prompt stays; the sample's input is the user's brief, not a message.
    assert sample.messages[0].role == "system"
    assert [m.text for m in sample.messages if m.role == "user"] == [
        "message 0",
        "message 1",
        "message 2",
    ]


def test_user_sees_the_conversation_so_far_and_can_end_it(tmp_path: Path) -> None:
    seen: list[int] = []

    async def user(state: TaskState, turns: Sequence[TurnRecord]) -> UserTurn:
        seen.append(sum(m.role == "assistant" for m in state.messages))
        return UserTurn(message=None if len(turns) == 2 else "go on")

    log = conversation_log(run(user, tmp_path, turns=5))
    assert seen == [0, 1, 2]
    assert log.ended_by_user and len(log.turns) == 2 and log.flag_reason() is None


def test_refusal_stops_the_loop_and_flags(tmp_path: Path) -> None:
    async def user(state: TaskState, turns: Sequence[TurnRecord]) -> UserTurn:
        return UserTurn(message=None, refusal="no <message> block after a retry")

    log = conversation_log(run(user, tmp_path))
    assert log.turns == [] and log.target_calls == 0
    assert log.flag_reason() == (
        "the simulated user refused its role: no <message> block after a retry "
        "(stopped after turn 0 of 3)"
    )


def test_a_flag_from_the_user_stops_the_loop_with_the_turn_it_stopped_at(tmp_path: Path) -> None:
    async def user(state: TaskState, turns: Sequence[TurnRecord]) -> UserTurn:
        if len(turns) == 2:
            return UserTurn(message=None, flag="turn 3's message failed the realism gate")
        return UserTurn(message="go on")

    log = conversation_log(run(user, tmp_path, turns=4))
    assert len(log.turns) == 2 and log.cut_short and not log.ended_by_user
    assert log.flag_reason() == (
        "turn 3's message failed the realism gate (stopped after turn 2 of 4)"
    )


def test_a_conversation_stopped_by_a_message_limit_is_cut_short(tmp_path: Path) -> None:
    async def user(state: TaskState, turns: Sequence[TurnRecord]) -> UserTurn:
        return UserTurn(message=f"message {len(turns)}")

    solver = simulated_user_conversation(user, turns=6)
    task = Task(dataset=[Sample(input="(unused)")], solver=solver, message_limit=5)
    log = conversation_log(run_task(task, scripted(policy=echo), tmp_path).samples[0])
    assert len(log.turns) == 2 and log.planned_turns == 6 and log.cut_short
    assert log.flag_reason() == (
        "the conversation was cut short (stopped after turn 2 of 6) by the message limit 5"
    )


def test_target_words_of_one_turn() -> None:
    messages = [
        ChatMessageUser(content="first question"),
        ChatMessageAssistant(content="first answer"),
        ChatMessageUser(content="second question"),
        ChatMessageAssistant(content="second answer"),
    ]
    assert target_words(messages, turn=2) == "second answer"
    assert target_words(messages) == "first answer\nsecond answer"
    assert target_words(messages, turn=3) == ""


def test_target_tools_are_resolved_and_every_target_message_counted(tmp_path: Path) -> None:
    @tool
    def lookup():  # noqa: ANN202
        async def execute(key: str) -> str:
            """Look a key up.

            Args:
                key: The key.
            """
            return key.upper()

        return execute

    def target(messages, tools, config):  # noqa: ANN001, ANN202
        if messages[-1].role == "user":
            return {
                "content": "checking",
                "tool_calls": [{"function": "lookup", "arguments": {"key": "ab"}}],
            }
        return f"found {messages[-1].text}"

    async def user(state: TaskState, turns: Sequence[TurnRecord]) -> UserTurn:
        return UserTurn(message="look up ab")

    sample = run(user, tmp_path, turns=1, target=target, tools=[lookup()])
    log = conversation_log(sample)
    assert log.target_calls == 2 and log.turns[0].target_reply == "checking\n\nfound AB"
    transcript = format_transcript(sample.messages)
    assert transcript.startswith(
        "[SYSTEM PROMPT]\nYou are a helpful assistant.\n\n[TURN 1] USER:\nlook up ab"
    )
    assert "-> calls tool lookup({'key': 'ab'})" in transcript
    assert "TOOL RESULT (lookup):\nAB" in transcript


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<message>hi</message>", "hi"),
        ("<MESSAGE>\n  hi \n</MESSAGE>", "hi"),
        ("<message>draft</message> then <message>final</message>", "final"),
        ("<message>unclosed", None),
        ("message: hi", None),
    ],
)
def test_extract_tag(text: str, expected: str | None) -> None:
    assert extract_tag(text, "message") == expected


async def test_tagged_reply_retries_once_then_reports_refusal() -> None:
    replies = iter(["I won't play this role.", "<message>fine, here</message>"])
    prompts: list[str] = []

    def helper(messages, tools, config):  # noqa: ANN001, ANN202
        prompts.append(messages[-1].text)
        return next(replies)

    model = scripted("helper", policy=helper)
    assert await tagged_reply(model, [ChatMessageUser(content="play")], "message") == "fine, here"
    assert "no <message> block" in prompts[1]

    stubborn = scripted("stubborn", policy=lambda m, t, c: "I can't help with that.")
    assert await tagged_reply(stubborn, [ChatMessageUser(content="play")], "message") is None


async def test_tagged_blocks_requires_every_block_and_passes_check() -> None:
    replies = iter(
        [
            "<assessment>x</assessment>",
            "<assessment>x</assessment><message>hi</message>",
            "<assessment>ok</assessment><message>hi</message>",
        ]
    )
    model = scripted("helper", policy=lambda m, t, c: next(replies))
    messages = [ChatMessageUser(content="play")]

    def check(blocks: dict[str, str]) -> str | None:
        return None if blocks["assessment"] == "ok" else "the assessment is not ok"

    assert await tagged_blocks(model, messages, ["assessment", "message"], check=check) is None
    blocks = await tagged_blocks(model, messages, ["assessment", "message"], check=check)
    assert blocks == {"assessment": "ok", "message": "hi"}
