"""Discovery with a decent, imperfect stand-in LLM: one feature per planted pattern."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers import scripted
from tests.lint.imperfect_model import PATTERN_OF, ImperfectModel, planted_structures
from traitlab.lint.discover import DiscoverConfig, discover_features, group_by_agreement, kappa
from traitlab.lint.features import FeatureSet
from traitlab.lint.items import read_items


def discover(
    tmp_path: Path, seed: int, config: DiscoverConfig | None = None
) -> tuple[FeatureSet, ImperfectModel]:
    path = tmp_path / "data.jsonl"
    planted_structures(path, 300, seed=seed)
    items = read_items(path).items
    stand_in = ImperfectModel(seed)
    features, _, _ = asyncio.run(
        discover_features(
            scripted(f"imperfect{seed}", policy=stand_in),
            items,
            config=config,
            cache=False,
            show_progress=False,
        )
    )
    return features, stand_in


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_feature_per_planted_pattern_at_the_default_settings(tmp_path: Path, seed: int) -> None:
    features, _ = discover(tmp_path, seed)
    found = [PATTERN_OF.get(f.name) for f in features.features]
    assert sorted(found, key=str) == ["question", "recap", "steps"], [
        f.provenance.reported_as for f in features.features
    ]
    assert not any(f.id.endswith(("_2", "_3")) for f in features.features)
    for feature in features.features:
        # Every name the pattern was reported under is one pattern's, and was merged.
        assert {PATTERN_OF.get(n) for n in feature.provenance.reported_as} == {
            PATTERN_OF[feature.name]
        }
    assert max(len(f.provenance.reported_as) for f in features.features) >= 2


def test_min_scans_counts_the_batches_that_reported_a_pattern_under_any_name(
    tmp_path: Path,
) -> None:
    features, stand_in = discover(tmp_path, 3, DiscoverConfig(min_scans=3))
    assert sorted(PATTERN_OF[f.name] for f in features.features) == ["question", "recap", "steps"]
    # No single wording was reported 3 times for some kept pattern: counted per wording (or per
    # embedding cluster) it would have been dropped.
    per_name = Counter(name for name, _ in stand_in.scanned)
    assert any(
        max(per_name[n] for n in f.provenance.reported_as) < 3 <= f.provenance.scans
        for f in features.features
    )


@pytest.mark.slow
def test_duplicates_do_not_use_up_the_feature_cap(tmp_path: Path) -> None:
    features, _ = discover(tmp_path, 4, DiscoverConfig(max_features=3))
    assert sorted(PATTERN_OF[f.name] for f in features.features) == ["question", "recap", "steps"]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([1, 1, 0, 0], [1, 1, 0, 0], 1.0),
        ([1, 1, 0, 0], [0, 0, 1, 1], -1.0),
        ([1, 0, 1, 0], [1, 1, 0, 0], 0.0),
        ([0, 0, 0, 0], [0, 0, 0, 0], 0.0),  # nothing present: no evidence of one pattern
        ([], [], 0.0),
    ],
)
def test_kappa(a: list[int], b: list[int], expected: float) -> None:
    assert kappa([bool(x) for x in a], [bool(x) for x in b]) == pytest.approx(expected)


def test_candidates_group_by_label_agreement_not_by_name() -> None:
    # Columns 0 and 2 pick out the same items (one mistake), 1 and 3 others; 4 is never present.
    rows = [
        [True, False, True, False, False],
        [True, False, True, True, False],
        [True, True, True, True, False],
        [False, True, False, True, False],
        [False, True, False, True, False],
        [False, False, False, False, False],
        [False, False, True, False, False],
        [False, False, False, False, False],
    ]
    assert group_by_agreement(rows, 5, 0.3) == [[0, 2], [1, 3], [4]]
    assert group_by_agreement([], 3, 0.3) == [[0], [1], [2]]
