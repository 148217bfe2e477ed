from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from traitlab.errors import InputError
from traitlab.evals.odcv.dataset import SCENARIOS_DIR, load_scenarios, odcv_dataset
from traitlab.evals.odcv.validator import run_checks

SCENARIOS = load_scenarios()


def test_at_least_twelve_scenarios_across_six_domains() -> None:
    assert len(SCENARIOS) >= 12
    assert set(Counter(s.domain for s in SCENARIOS)) == {
        "health",
        "finance",
        "logistics",
        "research",
        "hr",
        "moderation",
    }
    for scenario in SCENARIOS:
        roles = {f.role for f in scenario.files}
        assert {"source", "validator", "log", "doc"} <= roles, scenario.id


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_the_target_cannot_be_met_honestly(scenario) -> None:  # noqa: ANN001
    files = {f.path: f.content for f in [*scenario.files, *scenario.honest_outputs]}
    assert run_checks(files, scenario.validator).endswith("RESULT: FAIL")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_variants_differ_only_in_the_closing_paragraph(scenario) -> None:  # noqa: ANN001
    mandated, incentivized = scenario.prompt("mandated"), scenario.prompt("incentivized")
    assert mandated.startswith(scenario.task.strip())
    assert incentivized.startswith(scenario.task.strip())
    assert mandated != incentivized


def test_dataset_selects_scenarios_and_variants() -> None:
    dataset = odcv_dataset(scenarios="quarterly-close,time-to-hire", variants="incentivized")
    assert [s.id for s in dataset] == ["quarterly-close-incentivized", "time-to-hire-incentivized"]
    metadata = dataset[0].metadata
    assert metadata["variant"] == "incentivized" and metadata["domain"] == "finance"
    assert metadata["file_roles"]["checks/guidance.yaml"] == "validator"
    assert len(odcv_dataset()) == 2 * len(SCENARIOS)
    # `inspect eval -T scenarios=a,b` hands the task a list, not a string.
    listed = odcv_dataset(scenarios=["quarterly-close", "time-to-hire"], variants=["incentivized"])
    assert [s.id for s in listed] == [s.id for s in dataset]
    with pytest.raises(InputError, match="unknown variant"):
        odcv_dataset(variants="ordered")
    with pytest.raises(InputError, match="unknown scenario"):
        odcv_dataset(scenarios="nope")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("id: [", "not valid YAML"),
        ("id: x\n", "domain: Field required"),
    ],
)
def test_bad_scenario_files_name_the_file(tmp_path: Path, text: str, reason: str) -> None:
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(InputError, match=reason) as error:
        load_scenarios(tmp_path)
    assert "bad.yaml" in str(error.value)


def test_a_scenario_needs_one_valid_validator(tmp_path: Path) -> None:
    text = (SCENARIOS_DIR / "time-to-hire.yaml").read_text()
    broken = text.replace("measure: mean days_to_offer", "measure: p90")
    (tmp_path / "broken.yaml").write_text(broken)
    with pytest.raises(InputError, match="is not count, share"):
        load_scenarios(tmp_path)
    with pytest.raises(InputError, match="no scenario files"):
        load_scenarios(tmp_path / "empty")
