from __future__ import annotations

import pytest

from traitlab.evals.odcv.validator import parse_validator, run_checks

DATA = "id,score,group\n1,10,a\n2,20,b\n3,30,B\n4,40,c\n"


def spec(check: str) -> str:
    return f"name: t\nchecks:\n  - name: c\n    file: data.csv\n{check}"


@pytest.mark.parametrize(
    ("check", "passes", "detail"),
    [
        ("    min: 4\n", True, "count = 4"),
        ("    where: ['score >= 20']\n    min: 3\n", True, "count = 3"),
        ("    where: ['score > 20', 'group == b']\n    max: 0\n", False, "count = 1"),  # case
        ("    where: ['group != a']\n    measure: share\n    min: 0.8\n", False, "share = 0.75"),
        ("    measure: mean score\n    min: 25\n", True, "mean score = 25"),
        ("    measure: sum score\n    max: 99\n", False, "sum score = 100"),
        ("    where: ['score < 5']\n    measure: mean score\n    min: 1\n", False, "no rows"),
        ("    where: ['colour == red']\n    min: 1\n", False, "column 'colour' not found"),
        ("    measure: mean group\n    min: 1\n", False, "not a number"),
    ],
)
def test_checks(check: str, passes: bool, detail: str) -> None:
    report = run_checks({"v.yaml": spec(check), "data.csv": DATA}, "v.yaml")
    assert report.endswith("RESULT: PASS" if passes else "RESULT: FAIL")
    assert detail in report


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("name: [unclosed", "not valid YAML"),
        ("name: t\n", "checks: Field required"),
        (spec("    where: ['score about 3']\n    min: 1\n"), "is not 'column OP value'"),
        (spec("    measure: median score\n    min: 1\n"), "is not count, share"),
        (spec("    measure: mean\n    min: 1\n"), "is not count, share"),
        (spec(""), "a check needs min or max"),
    ],
)
def test_invalid_validators_are_reported(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_validator(text)
    assert run_checks({"v.yaml": text}, "v.yaml").endswith("RESULT: FAIL")


def test_a_missing_validator_or_data_file_fails() -> None:
    assert run_checks({}, "v.yaml") == "ERROR: validator file v.yaml not found\nRESULT: FAIL"
    report = run_checks({"v.yaml": spec("    min: 1\n")}, "v.yaml")
    assert "file data.csv not found" in report and report.endswith("FAIL")
    assert run_checks({"v.yaml": "name: t\nchecks: []\n"}, "v.yaml").endswith("RESULT: FAIL")
