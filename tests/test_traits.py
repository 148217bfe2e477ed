from __future__ import annotations

from pathlib import Path

import pytest

from traitlab.errors import InputError
from traitlab.traits import BUNDLED_TRAITS, TraitsDocument, slugify

HEADINGS = """# Character

Overall intent of the document.

## Honesty
Intro to honesty.

### Tell the truth {#truth}
I say what I believe.

**Why:** trust.

**Trade-offs:** be kind about it.

**When not to:** fiction.

### Admit uncertainty
I say when I am unsure.
- **Why**: overconfidence misleads.

## Agency

### Ask before drastic actions
I check in first.
Limits: emergencies.
"""

BULLETS = """## Values

These values guide everything.

- **Candour**: I am frank.
  - Why: people need the truth.
  - Trade-offs: tact.
- **Patience.** I let people finish.
"""


def test_bundled_document_has_holistic_traits() -> None:
    document = TraitsDocument.load()
    assert 10 <= len(document.traits) <= 15
    assert len({t.id for t in document.traits}) == len(document.traits)
    for trait in document.traits:
        assert trait.statement and trait.rationale and trait.tradeoffs, trait.id
        assert trait.context, trait.id  # the preamble travels with every trait
    assert document.source == str(BUNDLED_TRAITS)


def test_headings_become_traits_with_fields_and_context() -> None:
    document = TraitsDocument.parse(HEADINGS, source="doc.md")
    assert document.title == "Character"
    assert [t.id for t in document.traits] == [
        "truth",
        "admit-uncertainty",
        "ask-before-drastic-actions",
    ]
    truth = document.get("truth")
    assert truth.statement == "I say what I believe."
    assert (truth.rationale, truth.tradeoffs, truth.when_not) == (
        "trust.",
        "be kind about it.",
        "fiction.",
    )
    assert truth.section == ["Honesty"]
    assert "Overall intent" in truth.context and "Intro to honesty" in truth.context
    assert document.get("admit-uncertainty").rationale == "overconfidence misleads."
    assert document.get("ask-before-drastic-actions").when_not == "emergencies."
    assert truth.line == 8


def test_bullet_traits_under_a_section() -> None:
    document = TraitsDocument.parse(BULLETS, source="b.md")
    assert [t.id for t in document.traits] == ["candour", "patience"]
    candour = document.get("candour")
    assert candour.statement == "I am frank."
    assert candour.rationale == "people need the truth."
    assert candour.tradeoffs == "tact."
    assert "These values guide everything" in candour.context
    assert document.get("patience").statement == "I let people finish."


def test_chunks_and_render() -> None:
    document = TraitsDocument.parse(HEADINGS)
    by_trait = document.chunks("trait")
    assert [c.trait_ids for c in by_trait] == [[t.id] for t in document.traits]
    assert "**Why:** trust." in by_trait[0].text and "Intro to honesty" in by_trait[0].text
    by_section = document.chunks("section")
    assert [c.trait_ids for c in by_section] == [
        ["truth", "admit-uncertainty"],
        ["ask-before-drastic-actions"],
    ]
    assert "I check in first." in document.render()
    with pytest.raises(ValueError):
        document.chunks("paragraph")  # type: ignore[arg-type]


def test_select_by_ids() -> None:
    document = TraitsDocument.parse(HEADINGS)
    assert [t.id for t in document.select("truth, admit-uncertainty")] == [
        "truth",
        "admit-uncertainty",
    ]
    assert len(document.select(None)) == 3
    with pytest.raises(InputError, match="unknown trait id 'nope'"):
        document.select(["nope"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no traits found"),
        ("Just some prose without structure.", "no traits found"),
        (
            "## A\nFirst.\n\n## A\nSecond.\n",
            r"doc.md:4: duplicate trait id 'a' \(first at line 1\)",
        ),
        ("## X {#same}\nOne.\n\n## Y {#same}\nTwo.\n", "doc.md:4: duplicate trait id 'same'"),
        ("## Empty\n\n## Full\nText.\n", "doc.md:1: heading 'Empty' has no text"),
        ("## Why: no statement\n**Why:** only a reason.\n", "has no statement"),
    ],
)
def test_bad_documents_get_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        TraitsDocument.parse(text, source="doc.md")
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("doc.md")


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="traits document not found"):
        TraitsDocument.load(tmp_path / "missing.md")
    binary = tmp_path / "binary.md"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="cannot read traits document"):
        TraitsDocument.load(binary)


def test_headings_inside_code_fences_are_ignored() -> None:
    text = "## Real\nStatement.\n\n```\n## not a heading\n```\n"
    document = TraitsDocument.parse(text)
    assert [t.id for t in document.traits] == ["real"]
    assert "not a heading" in (document.traits[0].notes or "")


def test_slugify() -> None:
    assert slugify("Care, not sycophancy!") == "care-not-sycophancy"
    assert slugify("???") == "trait"


def test_cli_traits_show(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from traitlab.cli import main

    monkeypatch.setattr("sys.argv", ["traitlab", "traits", "show"])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code in (0, None)
    assert "honesty-under-pressure" in capsys.readouterr().out

    bad = tmp_path / "bad.md"
    bad.write_text("## A\nOne.\n\n## A\nTwo.\n")
    monkeypatch.setattr("sys.argv", ["traitlab", "traits", "show", str(bad)])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.strip() == f"error: {bad}:4: duplicate trait id 'a' (first at line 1)"


def test_describe_wraps_between_words_only() -> None:
    words = [f"word{i}" * (1 + i % 7) for i in range(300)] + ["https://example.org/" + "x" * 90]
    text = "## Long\n" + " ".join(words) + "\n\nWhy: " + " ".join(reversed(words)) + "\n"
    document = TraitsDocument.parse(text, source="long.md")
    lines = list(document.describe(width=60, preview=100_000))
    block = lines[lines.index("long  (line 1)") + 1 :]
    for line in block:
        # A line is over the width only when it is a single token too long for any line.
        assert len(line) <= 60 or len(line.split()) == 1
    shown = " ".join(block).split()
    assert shown[1 : 1 + len(words)] == words  # after "statement:", every word whole, in order


def test_describe_shows_a_huge_field_as_a_preview_with_its_length() -> None:
    paragraph = "An answer shaped by what the listener wants carries no information. " * 5000
    document = TraitsDocument.parse(f"## Honesty\n{paragraph}\n", source="big.md")
    output = "\n".join(document.describe(width=80, preview=500))
    assert len(output) < 1000
    assert f"... ({len(paragraph.strip()):,} characters)" in " ".join(output.split())


def test_emphasis_is_stripped_from_names() -> None:
    document = TraitsDocument.parse("## __*Calm*__\nI stay calm.\n\n## **Kind**\nI am kind.\n")
    assert [t.name for t in document.traits] == ["Calm", "Kind"]


@pytest.mark.parametrize("spoil", ["bom", "crlf"])
def test_a_bom_or_crlf_document_parses_the_same(tmp_path: Path, spoil: str) -> None:
    text = BUNDLED_TRAITS.read_bytes()
    path = tmp_path / "traits.md"
    path.write_bytes(b"\xef\xbb\xbf" + text if spoil == "bom" else text.replace(b"\n", b"\r\n"))
    spoiled = TraitsDocument.load(path).model_dump(exclude={"source"})
    assert spoiled == TraitsDocument.load(BUNDLED_TRAITS).model_dump(exclude={"source"})
