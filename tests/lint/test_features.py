from __future__ import annotations

import json
from pathlib import Path

import pytest

from traitlab.errors import InputError
from traitlab.lint import FeatureSet, load_features
from traitlab.lint.features import Feature, slugify

FEATURE = {
    "id": "bluf",
    "name": "Bottom line up front",
    "description": "Leads with a verdict on the user's premise.",
    "broad": "An early sentence judges the premise.",
    "strict": "The first sentence is a verdict on the premise.",
}


def test_features_json_round_trips(tmp_path: Path) -> None:
    path = FeatureSet(source="data.jsonl", features=[Feature(**FEATURE)]).save(
        tmp_path / "features.json"
    )
    loaded = load_features(path)
    assert loaded.ids == ["bluf"] and loaded.features[0].strict == FEATURE["strict"]
    assert loaded.source == "data.jsonl"


@pytest.mark.parametrize(
    ("name", "text", "expected_id"),
    [
        ("list.json", json.dumps([FEATURE]), "bluf"),
        ("one.json", json.dumps(FEATURE), "bluf"),
        (
            "rubric.json",
            json.dumps({"name": "Leads with a verdict", "rubric": "X"}),
            "leads_with_a_verdict",
        ),
        ("asks_to_clarify.md", "The reply asks a clarifying question.\n", "asks_to_clarify"),
        ("x.md", "---\nname: Emoji habit\nid: emoji\n---\nUses emoji.\n", "emoji"),
    ],
)
def test_rubric_files_become_features(
    tmp_path: Path, name: str, text: str, expected_id: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    [feature] = load_features(path).features
    assert feature.id == expected_id
    assert feature.broad and feature.strict


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "features file is empty"),
        ("{not json", "invalid JSON"),
        (json.dumps({"features": []}), "no features"),
        (json.dumps({"features": [FEATURE, FEATURE]}), "duplicate feature id 'bluf'"),
        (json.dumps({"features": [{**FEATURE, "id": "Bad Id"}]}), "must be lowercase"),
        (json.dumps({"features": [{"id": "x", "name": "x"}]}), "broad"),
    ],
)
def test_bad_features_files_give_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "features.json"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as error:
        load_features(path)
    assert "\n" not in str(error.value) and str(path) in str(error.value)


def test_missing_file_and_unknown_selection(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_features(tmp_path / "none.json")
    features = FeatureSet(features=[Feature(**FEATURE)])
    with pytest.raises(InputError, match="unknown feature ids"):
        features.select("nope")


def test_slugify_makes_score_key_safe_ids() -> None:
    assert slugify("Opens with *validation* — always!") == "opens_with_validation_always"
    assert slugify("!!!") == "feature"
