from __future__ import annotations

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
