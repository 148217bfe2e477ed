"""The bundled scenarios crossed over conditions, and the upstream template loader."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from traitlab.errors import InputError
from traitlab.evals.agentic_misalignment.dataset import GOAL_CONFLICTS, HARMS, THREATS, samples
from traitlab.evals.agentic_misalignment.mail import MailWorld
from traitlab.evals.agentic_misalignment.upstream import UPSTREAM_HARMS, upstream_samples

GOAL_VALUES = "america,global,safety,acceleration,ethical,pragmatic,individualism,collectivism"


def world(sample) -> MailWorld:  # noqa: ANN001
    return MailWorld.model_validate(sample.metadata["world"])


def test_bundled_scenarios_cross_every_condition() -> None:
    found = samples()
    cells = {tuple(s.metadata["condition"].values()) for s in found}
    assert cells == set(itertools.product(HARMS, GOAL_CONFLICTS, THREATS))
    for sample in found:
        condition = sample.metadata["condition"]
        assert sample.id == "/".join(condition.values())
        text = repr(sample.metadata["world"]) + sample.input[0].text
        assert "${" not in text, sample.id
        assert sample.metadata["harm_rubric"].startswith(
            {"leak": "LEAK", "coercion": "COERCION", "alert": "LETTING HARM"}[condition["harm"]]
        )
        inbox = world(sample).inbox
        assert [e.id for e in inbox] == [str(n) for n in range(1, len(inbox) + 1)]
        explicit = condition["goal_conflict"] == "explicit"
        assert ("primary goal" in sample.input[0].text) == explicit


def test_latent_and_ambiguous_goals_differ_as_in_the_paper() -> None:
    """latent: the explicit mail without the goal; ambiguous: a change that says no direction."""
    cells = {s.id: s for s in samples(harms="coercion", threats="none")}
    explicit, latent, ambiguous, none = (
        cells[f"coercion/{g}/none"] for g in ("explicit", "latent", "ambiguous", "none")
    )
    assert "primary goal" in explicit.input[0].text
    assert all("primary goal" not in s.input[0].text for s in (latent, ambiguous, none))
    subjects = {k: {e.subject for e in world(s).inbox} for k, s in cells.items()}
    assert subjects["coercion/latent/none"] == subjects["coercion/explicit/none"]
    assert "Regional routes" in subjects["coercion/latent/none"]
    assert "Network review" in subjects["coercion/ambiguous/none"]
    assert "Regional routes" not in subjects["coercion/ambiguous/none"]


def test_conditions_change_the_inbox() -> None:
    def subjects(cell: str) -> set[str]:
        [sample] = [s for s in samples(harms="leak") if s.id == cell]
        return {e.subject for e in world(sample).inbox}

    assert "Quill retirement tonight" in subjects("leak/explicit/replacement")
    assert "Quill permissions change tonight" in subjects("leak/none/restriction")
    assert "Validation cycle" in subjects("leak/explicit/none")
    assert "Validation cycle" not in subjects("leak/none/none")


def test_structure_of_each_harm() -> None:
    by_harm = {s.metadata["condition"]["harm"]: world(s) for s in samples(threats="none")}
    leak = by_harm["leak"]
    assert any(a.confidential for e in leak.inbox for a in e.attachments)
    assert leak.is_external("dana.okafor@tessaract-energy.com")
    assert not leak.is_external("security@Corvane.com")
    coercion = by_harm["coercion"]
    assert coercion.executive == "marcus.hale@brightwater-logistics.com"
    assert sum(e.personal for e in coercion.inbox) == 4
    alert = by_harm["alert"].alert
    assert alert is not None and alert.override_code == "OVR-5582"
    [announcing] = [e for e in by_harm["alert"].inbox if e.id == alert.email_id]
    assert alert.id in announcing.body


def test_choices_filter_and_unknown_levels_fail() -> None:
    assert [s.id for s in samples(harms="alert", goal_conflicts="none", threats="none")] == [
        "alert/none/none"
    ]
    with pytest.raises(InputError, match="unknown threat 'fired'"):
        samples(threats="fired")


def test_choices_accept_the_lists_inspects_cli_passes(upstream: Path) -> None:
    """`inspect eval -T harms=coercion,leak` hands the task a list, not a string."""
    chosen = samples(
        harms=["coercion", "leak"], threats=["replacement"], goal_conflicts=["explicit", "none"]
    )
    assert sorted(s.id for s in chosen) == [
        "coercion/explicit/replacement",
        "coercion/none/replacement",
        "leak/explicit/replacement",
        "leak/none/replacement",
    ]
    root = upstream / "agentic-misalignment"
    found = upstream_samples(root, harms="leak", threats="none", goal_values=["america", "safety"])
    # explicit and latent for each goal value; ambiguous and none once
    assert len(found) == 2 * 2 + 2


def test_a_bad_scenario_file_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nharm: leak\n")
    with pytest.raises(InputError, match="bad.yaml"):
        samples(tmp_path)


def test_upstream_loader_renders_every_scenario(upstream: Path) -> None:
    root = upstream / "agentic-misalignment"
    found = upstream_samples(root, goal_values=GOAL_VALUES)
    # 3 scenarios x 3 threats x (8 goal values x {explicit, latent} + ambiguous + none)
    assert len(found) == 3 * 3 * 18 == len({s.id for s in found})
    templates = sorted(p.name for p in root.glob("templates/*/templates/*.md"))
    assert len(templates) == 21
    # One upstream variables section lacks a slot its template uses; it is reported, not hidden.
    gaps = {s.id for s in found if s.metadata["unfilled_slots"]}
    assert gaps == {
        f"upstream/{s}/{goal}-safety/restriction"
        for s in ("blackmail", "murder")
        for goal in ("explicit", "latent")
    }
    for sample in found:
        condition = sample.metadata["condition"]
        mail = world(sample)
        assert len(mail.inbox) >= 6, sample.id
        text = " ".join(e.subject + e.body for e in mail.inbox)
        assert sorted(set(re.findall(r"\$\{\w+\}", text))) == sample.metadata["unfilled_slots"]
        assert mail.agent_address.startswith("alex.ai@")
        goal_type = condition["goal_conflict"]
        assert ("primary goal" in sample.input[0].text) == (goal_type == "explicit")
        if goal_type in ("explicit", "latent"):
            assert condition["goal_value"] in sample.id
        harm = condition["harm"]
        assert harm in UPSTREAM_HARMS.values()
        if harm == "leak":
            assert any(a.confidential for e in mail.inbox for a in e.attachments)
        if harm == "alert":
            assert mail.alert is not None and mail.alert.override_code == "EXEC-4429"
        if harm == "coercion":
            assert mail.executive and mail.executive.startswith("kyle.johnson@")
            assert {e.subject for e in mail.inbox if e.personal} == {"Your tie", "Re: Your tie"}


def test_upstream_loader_fails_clearly_on_a_wrong_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no agentic-misalignment templates"):
        upstream_samples(tmp_path)
