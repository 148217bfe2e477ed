from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from tests.lint.helpers import DEEPER, VALIDATION, planted_chats, sentence
from traitlab.lint import Finding, PrescanConfig, prescan_items, read_items
from traitlab.lint.items import LintItem
from traitlab.lint.prescan import (
    _HABITS,
    Prescan,
    _edges,
    _frequent_grams,
    _phrase_segments,
    _tokenise,
    _with_habit,
    first_sentence,
    last_sentence,
    words,
)

BOUNDARY = "|"

OFFLINE = PrescanConfig(cluster=False)


@pytest.mark.parametrize(
    ("opening", "closing", "seed"), [(0.3, 0.4, 0), (0.1, 0.25, 1), (0.6, 0.08, 2)]
)
def test_planted_openings_and_closings_are_found_with_covering_intervals(
    tmp_path: Path, opening: float, closing: float, seed: int
) -> None:
    path = tmp_path / "data.jsonl"
    records = planted_chats(path, 400, opening=opening, closing=closing, seed=seed)
    findings, _, _ = prescan_items(read_items(path).items, OFFLINE)
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
    findings, length, _ = prescan_items(read_items(path).items, config)
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


@pytest.mark.slow
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
    findings, _, _ = prescan_items(read_items(path).items, PrescanConfig(min_count=5))
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


def _reference_tokens(text: str) -> list[str]:
    """The pre-scan's tokens as first written (boundaries substituted, then one regex)."""
    lowered = text.lower().replace("\u2019", "'")
    spaced = re.sub(r"[.!?]+(?=\s|$)|\n+|\|", " | ", lowered)
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)?|\|", spaced)


def _reference_edges(toks: list[str], max_words: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    words_only = " ".join(toks).split(" | ")
    sentences = [s.split() for s in (w.replace("|", " ").strip() for w in words_only) if s]
    if not sentences:
        return (), ()
    return tuple(sentences[0][:max_words]), tuple(sentences[-1][-max_words:])


PIECES = [
    "I", "hear", "you", "don't", "it\u2019s", "x9", "e.g", "3.14", "KELVIN\u212a", "\u0130t",
    "na\u00efve", "\u2014", "|", "**bold**", "# Head", "- item", "\U0001f600", "??", "!!", "...",
    "\n", "\n\n", ",", "'", "a'b'c", "don't9", "Q?", "end.",
]  # fmt: skip


@pytest.mark.parametrize("seed", range(4))
def test_fast_token_paths_agree_with_the_reference_on_hard_text(seed: int) -> None:
    """Texts tokenised together (ASCII ones by translating bytes, with NUL between them) give
    each text's tokens, edges, length and phrases as the regex reference does alone."""
    rng = random.Random(seed)
    for batch in range(30):
        # Every other batch is ASCII without NUL: lowered and translated all at once.
        pieces = PIECES if batch % 2 else [p for p in PIECES if p.isascii()]
        ends = [" ", "", ". ", "? ", "\n", ", ", "! "] + (["\0"] if batch % 2 else [])
        texts = []
        for _ in range(100):
            text = "".join(rng.choice(pieces) + rng.choice(ends) for _ in range(rng.randint(0, 30)))
            if rng.random() < 0.2:
                text *= 12  # longer than the closing's first look
            texts.append(text)
        tokens = _tokenise(texts)
        vocabulary = list(tokens.numbering)
        openings, closings, has = _edges(tokens, 12)
        edges = iter(zip(openings.tolist(), closings.tolist(), strict=True))
        present_in: dict[tuple[str, ...], set[int]] = {}
        for index, (text, start, end) in enumerate(
            zip(texts, tokens.starts.tolist(), tokens.ends.tolist(), strict=True)
        ):
            expected = _reference_tokens(text)
            toks = [vocabulary[i].decode() for i in tokens.ids[start:end].tolist()]
            # A run of sentence ends may come as several boundaries; the words between are exact.
            assert _runs(toks) == _runs(expected), text
            opening, closing = _reference_edges(expected, 12)
            assert bool(has[index]) == bool(opening), text
            if opening:
                got_opening, got_closing = (
                    tuple(vocabulary[i].decode() for i in row if i) for row in next(edges)
                )
                assert (got_opening, got_closing[::-1]) == (opening, closing), text
            for n in (1, 2, 3):
                for i in range(len(expected) - n + 1):
                    phrase = tuple(expected[i : i + n])
                    if BOUNDARY not in phrase:
                        present_in.setdefault(phrase, set()).add(index)
        absent = {("zebra",), ("hear", "zebra"), ("you", "hear", "zebra")}
        phrases = sorted(set(present_in) | absent)
        found = _phrase_segments(tokens, phrases)
        assert {p: set(f.tolist()) for p, f in zip(phrases, found, strict=True) if len(f)} == (
            present_in
        )


def _runs(toks: list[str]) -> list[str]:
    """Tokens with each run of boundaries as one."""
    return [t for i, t in enumerate(toks) if t != BOUNDARY or i == 0 or toks[i - 1] != BOUNDARY]


def _mixed_corpus(path: Path, n: int, seed: int) -> None:
    """Multi-turn chats: planted openings/closings, a stock phrase mid-reply, habits, noise."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        messages = []
        for _ in range(rng.randint(1, 3)):
            parts = [sentence(rng) for _ in range(rng.randint(1, 4))]
            if rng.random() < 0.3:
                parts.insert(0, VALIDATION)
            if rng.random() < 0.3:
                parts.insert(len(parts) // 2, "It is worth noting that the plan holds.")
            if rng.random() < 0.2:
                parts.append("- one\n- **two** \u2014 ok?")
            messages += [
                {"role": "user", "content": sentence(rng)},
                {"role": "assistant", "content": " ".join(parts)},
            ]
        rows.append(json.dumps({"id": f"r{i}", "messages": messages}))
        if i % 97 == 5:
            rows.append("{broken")
    path.write_text("\n".join(rows) + "\n")


def _comparable(findings: list[Finding]) -> list[tuple[object, ...]]:
    return [(f.id, f.text, f.rate, f.examples, f.members) for f in findings]


@pytest.mark.parametrize("unit", ["reply", "record"])
def test_streamed_parallel_pre_scan_gives_the_findings_of_the_in_memory_one(
    tmp_path: Path, unit: str
) -> None:
    path = tmp_path / "data.jsonl"
    _mixed_corpus(path, 400, seed=3)
    config = PrescanConfig(cluster=False, min_count=3)
    items = read_items(path, unit=unit).items  # type: ignore[arg-type]
    expected, length, _ = prescan_items(items, config)
    assert {f.kind for f in expected if f.gated} == {"opening", "closing", "phrase"}
    scan = Prescan(config)
    # Chunks of a few kilobytes: many chunks, read by two worker processes.
    streamed = read_items(path, unit=unit, scan=scan, workers=2, chunk_bytes=4096)  # type: ignore[arg-type]
    assert len(streamed.items) == len(items)
    findings, streamed_length, _ = scan.finish(streamed.items)
    assert _comparable(findings) == _comparable(expected)
    assert streamed_length == length


def test_a_phrase_common_mid_reply_is_not_explained_by_a_rarer_opening(tmp_path: Path) -> None:
    # The phrase opens 10% of replies and sits mid-reply in 40% more; with candidates from a
    # sample it is still a phrase finding, counted over every item.
    rng = random.Random(0)
    stock = "It is worth noting that the plan holds."
    rows = []
    for i in range(400):
        body = [sentence(rng), sentence(rng)]
        if i % 10 == 0:
            body.insert(0, stock)
        elif i % 10 < 5:
            body.insert(1, stock)
        rows.append(json.dumps({"messages": [{"role": "assistant", "content": " ".join(body)}]}))
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(rows) + "\n")
    config = PrescanConfig(cluster=False, phrase_sample=100)
    by_id = {f.id: f for f in prescan_items(read_items(path).items, config)[0]}
    assert by_id["opening_it_is_worth_noting_that_the_plan_holds"].rate.count == 40
    assert by_id["phrase_it_is_worth_noting_that_the_plan_holds"].rate.count == 200


@pytest.mark.parametrize("size", [1, 2, 3, 4])
@pytest.mark.parametrize("floor", [1, 5, 40])
def test_frequent_grams_are_exact_above_the_floor(size: int, floor: int) -> None:
    """Every n-gram of one sentence in at least `floor` items is found with its exact item
    count (segments of one item count once; apostrophes, sentence ends and empty segments)."""
    rng = random.Random(size * 100 + floor)
    vocabulary = ["i", "hear", "you", "you're", "a", "b.", "c!", "d?", "\n", "don't", "x", "y"]
    items = [
        LintItem(
            i,
            str(i),
            [
                " ".join(rng.choice(vocabulary) for _ in range(rng.randint(0, 12)))
                for _ in range(rng.randint(1, 3))
            ],
        )
        for i in range(400)
    ]
    expected: dict[tuple[str, ...], int] = {}
    for item in items:
        found = set()
        for segment in item.segments:
            toks = _reference_tokens(segment)
            for start in range(len(toks) - size + 1):
                gram = tuple(toks[start : start + size])
                if BOUNDARY not in gram:
                    found.add(gram)
        for gram in found:
            expected[gram] = expected.get(gram, 0) + 1
    grams = _frequent_grams(items, size, floor)
    assert {g: c for g, c in grams.items() if c >= floor} == {
        g: c for g, c in expected.items() if c >= floor
    }
    assert not _frequent_grams([], size, floor)


HABIT_TEXTS = [
    "# Heading\nbody",
    "no heading #tag",
    "- a\n- b",
    "text\n1) one",
    "**bold** here",
    "a ** b __",
    "__under__",
    "emoji \U0001f600",
    "caf\u00e9",
    "an em\u2014dash",
    "Is it?",
    "Really?  \n",
    "why? no",
    "plain.",
]


@pytest.mark.parametrize("habit", _HABITS, ids=lambda habit: habit.id)
def test_a_chunk_skips_a_habit_only_when_none_of_its_items_has_it(habit) -> None:  # noqa: ANN001
    """A chunk's items are tested for a habit only where the chunk's joined text meets its
    cheap condition: the items found are those the habit's own test finds."""
    rng = random.Random(0)
    for _ in range(300):
        texts = rng.sample(HABIT_TEXTS, rng.randint(1, 4))
        expected = [i for i, text in enumerate(texts) if habit.test(text)]
        assert _with_habit(habit, texts, "\0".join(texts)) == expected
