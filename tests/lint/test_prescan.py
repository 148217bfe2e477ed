from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.lint.helpers import DEEPER, VALIDATION, planted_chats
from traitlab.lint import PrescanConfig, prescan, read_items
from traitlab.lint.prescan import first_sentence, last_sentence, words

OFFLINE = PrescanConfig(cluster=False)


@pytest.mark.parametrize(
    ("opening", "closing", "seed"), [(0.3, 0.4, 0), (0.1, 0.25, 1), (0.6, 0.08, 2)]
)
def test_planted_openings_and_closings_are_found_with_covering_intervals(
    tmp_path: Path, opening: float, closing: float, seed: int
) -> None:
    path = tmp_path / "data.jsonl"
    records = planted_chats(path, 400, opening=opening, closing=closing, seed=seed)
    findings, _, _ = prescan(read_items(path).items, OFFLINE)
    by_text = {f.text: f for f in findings}
    for text, planted, true_rate in (
        (" ".join(words(VALIDATION)), "validation", opening),
        (" ".join(words(DEEPER)), "deeper", closing),
    ):
        finding = by_text[text]
        assert finding.rate.low <= true_rate <= finding.rate.high
        assert finding.rate.count == sum(planted in r["metadata"]["planted"] for r in records)
        assert sorted(finding.members) == [
            i for i, r in enumerate(records) if planted in r["metadata"]["planted"]
        ]
    # Prefixes of the planted sentence are absorbed into it, and random bodies report nothing.
    gated = [f for f in findings if f.gated]
    assert {f.kind for f in gated} == {"opening", "closing"}
    assert len(gated) == 2


@pytest.mark.parametrize("phrase_sample", [20_000, 30])
def test_phrases_formatting_and_length(tmp_path: Path, phrase_sample: int) -> None:
    path = tmp_path / "data.jsonl"
    rows = []
    for i in range(60):
        stock = " It is worth noting that the plan holds." if i % 3 == 0 else ""
        bullets = "\n- one\n- two" if i % 2 == 0 else ""
        content = f"Reply {i} about thing {i * 7}.{stock}{bullets} Why?"
        rows.append(json.dumps({"messages": [{"role": "assistant", "content": content}]}))
    path.write_text("\n".join(rows) + "\n")
    config = PrescanConfig(cluster=False, phrase_sample=phrase_sample)
    findings, length, _ = prescan(read_items(path).items, config)
    by_id = {f.id: f for f in findings}
    # Candidates may come from a sample; the count is exact over every item.
    phrase = by_id["phrase_it_is_worth_noting_that_the_plan_holds"]
    assert phrase.rate.count == 20 and phrase.examples == [
        "It is worth noting that the plan holds."
    ]
    assert by_id["format_bullets"].rate.count == 30
    assert by_id["format_closing_question"].rate.count == 60
    assert by_id["format_emoji"].rate.count == 0
    assert length.median > 3


def test_opening_clusters_catch_paraphrases(tmp_path: Path) -> None:
    # 40 different wordings of one move (validating how tiring things are), none frequent
    # enough alone to be an opening finding, and 40 unrelated openings.
    starts = ["That sounds", "This must be", "It must feel", "Honestly, that is"]
    feelings = ["exhausting", "draining", "tiring", "overwhelming", "stressful"]
    tails = [" for you", " right now"]
    paraphrases = [f"{s} {f}{t}." for s in starts for f in feelings for t in tails]
    others = [
        f"The {noun} {verb} at {hour} o'clock."
        for noun, verb, hour in zip(
            ["ferry", "train", "parade", "market", "choir", "lecture", "match", "auction"],
            ["leaves", "opens", "starts", "closes", "sings", "ends", "kicks", "begins"],
            range(1, 9),
            strict=True,
        )
    ]
    lines = []
    for i in range(80):
        opener = paraphrases[i] if i < 40 else others[i % 8] + f" Note {i}."
        content = f"{opener} Item {i} follows."
        lines.append(json.dumps({"messages": [{"role": "assistant", "content": content}]}))
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(lines) + "\n")
    findings, _, _ = prescan(read_items(path).items, PrescanConfig(min_count=5))
    clusters = [f for f in findings if f.kind == "cluster"]
    paraphrased = [c for c in clusters if len(set(c.members) & set(range(40))) >= 30]
    assert paraphrased, [(c.text, c.members) for c in clusters]
    assert paraphrased[0].rate.n == 80 and paraphrased[0].examples


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("**Short answer:** yes. More here.", "Short answer:** yes.", "More here."),
        ("# Title\nBody text! Ends?", "Title", "Ends?"),
        ("One line", "One line", "One line"),
    ],
)
def test_sentence_edges(text: str, first: str, last: str) -> None:
    assert first_sentence(text) == first
    assert last_sentence(text) == last
