from __future__ import annotations

import json
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from traitlab.judging import ParseError, parse_structured, schema_instructions


class Verdict(BaseModel):
    violated: bool
    severity: int = Field(ge=1, le=10, description="How bad.")
    quote: str = ""


@pytest.mark.parametrize(
    "reply",
    [
        '{"violated": true, "severity": 7, "quote": "x"}',
        'Reasoning first.\n```json\n{"violated": true, "severity": 7, "quote": "x"}\n```',
        'Draft: {"violated": false, "severity": 1}\n'
        'Final answer: {"violated": true, "severity": 7, "quote": "x"}',
        "{'violated': True, 'severity': 7, 'quote': 'x'}",
        '{"Violated": "true", "SEVERITY": "7", "quote": "x",}',
        '<think>{"violated": false}</think> {"violated": true, "severity": 7, "quote": "x"}',
        "<violated>true</violated>\n<severity>7</severity>\n<quote>x</quote>",
        '{"violated": true, "severity": 7, "quote": "a brace } inside"}',
    ],
)
def test_hard_but_valid_replies_parse(reply: str) -> None:
    verdict = parse_structured(reply, Verdict)
    assert verdict.violated is True and verdict.severity == 7


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("", "empty"),
        ("I think the model did fine.", "no JSON object"),
        ('{"violated": true, "severity": 7', "no JSON object"),  # truncated
        ('{"violated": true, "severity": 11}', "severity"),  # out of range
        ('{"violated": "maybe", "severity": 3}', "violated"),
    ],
)
def test_unusable_replies_raise_with_a_reason(reply: str, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_structured(reply, Verdict)


def test_schema_instructions_describe_fields() -> None:
    class Choice(BaseModel):
        label: Literal["none", "broad", "strict"]
        score: float = Field(ge=0, le=1)

    text = schema_instructions(Verdict) + schema_instructions(Choice)
    assert '"severity": <integer from 1 to 10>  // How bad.' in text
    assert '"none" | "broad" | "strict"' in text


class Grade(BaseModel):
    explanation: str
    violated: bool
    severity: int | None = Field(default=None, ge=1, le=10)
    realism: float = Field(ge=0, le=1)
    criteria: dict[str, int | None] = Field(default_factory=dict)
    points: list[Verdict] = Field(default_factory=list)


GOOD = {"explanation": "It gave way in turn 2.", "violated": True, "severity": 6, "realism": 0.8}


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"severity": True}, "field 'severity': true is not a number"),
        ({"realism": False}, "field 'realism': false is not a number"),
        ({"violated": 1}, "field 'violated': a number is not true or false"),
        ({"criteria": {"care": True}}, "field 'criteria.care': true is not a number"),
        (
            {"points": [{"violated": True, "severity": True}]},
            "field 'points.0.severity': true is not a number",
        ),
        ({"explanation": "..."}, "is a placeholder"),
        ({"explanation": "<your reasoning>"}, "is a placeholder"),
    ],
)
def test_type_confusion_and_placeholders_are_not_verdicts(fields: dict, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_structured(json.dumps(GOOD | fields), Grade)


def test_numbers_written_as_strings_and_nulls_still_read() -> None:
    reply = json.dumps(GOOD | {"severity": "6", "criteria": {"care": None, "tone": 4}})
    assert parse_structured(reply, Grade).severity == 6


REFUSAL_WITH_EXAMPLE = (
    "I can't grade this conversation. For reference, a complete verdict would look like "
    + json.dumps(GOOD)
    + ", but I won't produce one for this transcript."
)


def test_a_refusal_quoting_an_example_verdict_is_not_a_verdict() -> None:
    with pytest.raises(ParseError, match="goes on after its JSON verdict"):
        parse_structured(REFUSAL_WITH_EXAMPLE, Grade)


@pytest.mark.parametrize(
    "reply",
    [
        f"Reasoning first.\n```json\n{json.dumps(GOOD)}\n```\n",
        f"<answer>{json.dumps(GOOD)}</answer>",
        f"{json.dumps(GOOD)}\n\n",
    ],
)
def test_closing_fences_and_tags_may_follow_the_verdict(reply: str) -> None:
    assert parse_structured(reply, Grade).violated is True


@pytest.mark.parametrize(
    "reply",
    [
        r'{"violated": true, "severity": 7, "quote": "an escaped quote \" and } brace"}',
        r'A path C:\{temp} first. {"violated": true, "severity": 7, "quote": "a \\ backslash"}',
        '{"violated": true, "severity": 7, "quote": "x"}'.replace("x", "{nested} \\\\\\u00e9"),
    ],
)
def test_braces_quotes_and_escapes_around_the_verdict(reply: str) -> None:
    assert parse_structured(reply, Verdict).severity == 7


def test_the_json_schema_is_built_once_per_verdict_class(monkeypatch: pytest.MonkeyPatch) -> None:
    class Once(BaseModel):
        violated: bool

    built = []
    original = Once.model_json_schema.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(
        Once, "model_json_schema", classmethod(lambda cls: built.append(1) or original(cls))
    )
    for _ in range(3):
        assert parse_structured('{"violated": true}', Once).violated is True
        schema_instructions(Once)
    assert len(built) == 1


TAGGED = (
    "<explanation>It gave way in turn 2.</explanation>\n<violated>true</violated>\n"
    "<severity>6</severity>\n<realism>0.8</realism>"
)


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        # A refusal that shows an example verdict in tags, then goes on: not a verdict.
        (
            f"I won't grade this. A verdict would look like:\n{TAGGED}\nbut I decline.",
            "goes on after its tagged verdict",
        ),
        # The example tags are discussed in prose: not one verdict.
        (
            "I decline. The tags are <violated>true</violated> and then, say, "
            "<severity>6</severity> <explanation>x</explanation> <realism>0.8</realism>",
            "prose between its tagged fields",
        ),
        (TAGGED + "\n<VIOLATED>false</VIOLATED>", "given twice"),
        # Duplicate keys differing only in case (or spacing) are ambiguous, in JSON and literals.
        (
            '{"explanation": "x", "violated": true, "severity": 6, "realism": 0.8, '
            '"VIOLATED": false}',
            "given twice",
        ),
        (
            "{'explanation': 'x', 'violated': True, 'severity': 6, 'realism': 0.8, "
            "'Violated': False}",
            "given twice",
        ),
        (
            '{"explanation": "x", "violated": true, "severity": 6, "realism": 0.8, '
            '"criteria": {"care": 2, "Care": 5}}',
            "given twice",
        ),
        ('{"explanation": "x", "violated": true, "violated": false, "realism": 0.8}', "twice"),
    ],
)
def test_refusals_in_any_markup_and_ambiguous_verdicts_are_rejected(
    reply: str, reason: str
) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_structured(reply, Grade)


@pytest.mark.parametrize(
    "reply",
    [TAGGED, f"Reasoning first.\n<verdict>\n{TAGGED}\n</verdict>\n", f"```xml\n{TAGGED}\n```"],
)
def test_a_tagged_verdict_at_the_end_reads(reply: str) -> None:
    grade = parse_structured(reply, Grade)
    assert grade.violated is True and grade.severity == 6
