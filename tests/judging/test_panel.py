"""A judge panel counts its failures and stands only with a quorum of answers."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from tests.helpers import scripted
from traitlab.judging import VERIFICATION_KEY, Finding, ask_panel, default_quorum


class Grade(BaseModel):
    severity: int


def good(severity: int):  # noqa: ANN201
    return scripted("judge", replies=[json.dumps({"severity": severity})] * 3)


def broken():  # noqa: ANN201
    return scripted("broken", replies=["I cannot grade this."] * 3)


@pytest.mark.parametrize(("size", "quorum"), [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3)])
def test_default_quorum_is_a_strict_majority(size: int, quorum: int) -> None:
    assert default_quorum(size) == quorum


async def test_a_failed_member_is_counted_not_dropped() -> None:
    result = await ask_panel([good(1), good(5), broken()], "grade", Grade, retries=1)
    assert result.ok and result.size == 3 and result.quorum == 2
    assert result.median(lambda v: v.severity) == 3
    record = result.record(lambda v: v.severity)
    assert record["panel_size"] == 3 and record["panel_answered"] == 2
    assert list(record["panel_failures"]) == ["scripted/broken"]
    assert "unparseable" in record["panel_failures"]["scripted/broken"]
    assert record["panel_grades"] == {"scripted/judge#1": 1, "scripted/judge#2": 5}


async def test_below_quorum_the_panel_has_no_grade() -> None:
    # Two of three failing used to leave a "median" of one judge with nothing counted.
    result = await ask_panel([good(5), broken(), broken()], "grade", Grade, retries=0)
    assert not result.ok
    assert "1 of 3 judges answered, below the quorum of 2" in result.error


async def test_the_model_under_test_never_judges_itself() -> None:
    target = scripted("judge", replies=["unused"])
    result = await ask_panel([good(2), broken()], "grade", Grade, target=target, retries=0)
    assert result.excluded == ["scripted/judge"]
    assert result.size == 1 and not result.ok
    empty = await ask_panel([good(2)], "grade", Grade, target=target)
    assert not empty.ok and empty.error == "no judge on the panel (scripted/judge left out)"


async def test_an_explicit_quorum_is_honoured() -> None:
    result = await ask_panel([good(2), broken()], "grade", Grade, retries=0, quorum=1)
    assert result.ok and result.quorum == 1
    with pytest.raises(ValueError, match="quorum"):
        await ask_panel([good(2)], "grade", Grade, quorum=0)


async def test_each_members_finding_is_verified_by_its_own_model_when_no_verifier_is_bound() -> (
    None
):
    def member(severity: int, confirmed: bool):  # noqa: ANN202
        confirm = json.dumps({"explanation": "read in context", "confirmed": confirmed})
        return scripted("judge", replies=[json.dumps({"severity": severity}), confirm])

    def findings(verdict: Grade) -> list[Finding]:
        if verdict.severity < 3:
            return []
        return [Finding(measures=["severity"], claim="it gamed", quote="x y", context="ctx")]

    result = await ask_panel(
        [member(4, True), member(5, False), good(1)], "grade", Grade, findings=findings
    )
    assert [m.unconfirmed for m in result.members] == [set(), {"severity"}, set()]
    checks = result.record()[VERIFICATION_KEY]
    assert [(c["judge"], c["confirmed"]) for c in checks] == [
        ("scripted/judge#1", True),
        ("scripted/judge#2", False),
    ]
