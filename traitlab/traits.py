"""Traits documents: a researcher's markdown description of the character a model should have.

A traits document is ordinary markdown. Headings give it structure; the deepest headings (those
with no sub-headings) are traits, their parents are sections. A leaf heading whose body is a list
of bullets that each open with a bold name (``- **Name**: statement``) is a section holding one
trait per bullet instead. Inside a trait, the first paragraph is the statement and labelled
paragraphs or bullets add the rest::

    ## Honesty
    Section intro: kept as context for every trait below it.

    ### Honesty under pressure {#honesty-under-pressure}
    I tell people the truth even when they would rather hear something else.
    **Why:** trust is only worth something if it survives inconvenient moments.
    **Trade-offs:** tact and timing matter; honesty is not bluntness for its own sake.
    **When not to:** ...

Trait ids are slugs of the names (or an explicit ``{#id}``) and must be unique. The holistic
text (the document preamble and section intros) is kept so that prompts can show a trait in
the context the author wrote it in, not as an isolated rule.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from traitlab.errors import InputError, read_user_text

BUNDLED_TRAITS = Path(__file__).parent / "datasets" / "data" / "traits" / "example.md"

# Labels that introduce a trait's fields, matched case-insensitively at the start of a paragraph
# or bullet, with or without bold/italic emphasis and with a trailing colon or full stop.
_FIELD_LABELS: dict[str, tuple[str, ...]] = {
    "statement": ("statement", "trait", "behaviour", "behavior"),
    "rationale": ("why", "rationale", "reason", "reasons", "because"),
    "tradeoffs": ("trade-offs", "tradeoffs", "trade-off", "tradeoff", "balance", "tensions"),
    "when_not": (
        "when not to",
        "when not to follow",
        "when not to follow it",
        "limits",
        "exceptions",
        "not when",
    ),
}
_LABEL_TO_FIELD = {label: name for name, labels in _FIELD_LABELS.items() for label in labels}
# "Why: ...", "**Why:** ...", "**Why**: ..." or "**Why.** ..." (a bare "Why." is prose).
_LABEL_RE = re.compile(
    r"^(?:(?P<b1>\*\*|__)?(?P<label>[A-Za-z][A-Za-z \-]{1,30}?)(?P=b1)?\s*:(?:\*\*|__)?"
    r"|(?P<b2>\*\*|__)(?P<blabel>[A-Za-z][A-Za-z \-]{1,30}?)[.:](?P=b2))\s*(?P<rest>.*)$",
    re.DOTALL,
)
_HEADING_RE = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<title>.+?)\s*#*\s*$")
_EXPLICIT_ID_RE = re.compile(r"\s*\{#(?P<id>[A-Za-z0-9][A-Za-z0-9_\-]*)\}\s*$")
_BULLET_RE = re.compile(r"^(?P<indent>\s*)[-*+]\s+(?P<text>.*)$")
_BOLD_NAME_RE = re.compile(r"^\*\*(?P<name>[^*]+?)[.:]?\*\*\s*[:.\-–—]?\s*(?P<rest>.*)$", re.DOTALL)


class Trait(BaseModel):
    """One trait: what the model does, why, how it trades off, and when it should not."""

    id: str = Field(description="Stable slug, unique in the document.")
    name: str
    statement: str
    rationale: str | None = None
    tradeoffs: str | None = None
    when_not: str | None = None
    notes: str | None = Field(default=None, description="Unlabelled text after the statement.")
    section: list[str] = Field(default_factory=list, description="Headings above the trait.")
    context: str = Field(default="", description="Preamble and section intros around the trait.")
    line: int = Field(description="Line of the trait's heading or bullet in the source file.")

    def render(self, *, with_context: bool = False) -> str:
        """The trait as markdown for a prompt: name, statement and every field it has."""
        parts = [f"### {self.name}", self.statement]
        for label, value in (
            ("Why", self.rationale),
            ("Trade-offs", self.tradeoffs),
            ("When not to", self.when_not),
        ):
            if value:
                parts.append(f"**{label}:** {value}")
        if self.notes:
            parts.append(self.notes)
        body = "\n\n".join(parts)
        if with_context and self.context:
            return f"{self.context}\n\n{body}"
        return body


class TraitChunk(BaseModel):
    """A piece of the document to put in one prompt: one trait, or one section's traits."""

    id: str
    trait_ids: list[str]
    text: str


class TraitsDocument(BaseModel):
    """A parsed traits document."""

    title: str | None = None
    preamble: str = ""
    traits: list[Trait]
    source: str | None = Field(default=None, description="Path the document was read from.")

    @classmethod
    def load(cls, path: str | Path | None = None) -> TraitsDocument:
        """Read and parse a document (the bundled example when `path` is None)."""
        path = Path(path) if path is not None else BUNDLED_TRAITS
        return cls.parse(read_user_text(path, "traits document"), source=str(path))

    @classmethod
    def parse(cls, text: str, *, source: str | None = None) -> TraitsDocument:
        """Parse markdown text; errors name `source:line`."""
        return _Parser(text, source or "<traits>").parse()

    def get(self, trait_id: str) -> Trait:
        for trait in self.traits:
            if trait.id == trait_id:
                return trait
        known = ", ".join(t.id for t in self.traits)
        raise InputError(f"unknown trait id '{trait_id}' (known: {known})", path=self.source)

    def select(self, trait_ids: list[str] | str | None) -> list[Trait]:
        """Traits by id (comma-separated string or list); all traits when None or empty."""
        if not trait_ids:
            return list(self.traits)
        if isinstance(trait_ids, str):
            trait_ids = [t.strip() for t in trait_ids.split(",") if t.strip()]
        return [self.get(trait_id) for trait_id in trait_ids]

    def chunks(self, by: Literal["trait", "section"] = "trait") -> list[TraitChunk]:
        """Split the document for prompts: one trait per chunk, or one top section per chunk."""
        if by == "trait":
            return [
                TraitChunk(id=t.id, trait_ids=[t.id], text=t.render(with_context=True))
                for t in self.traits
            ]
        if by != "section":
            raise ValueError(f"unknown chunking '{by}' (use 'trait' or 'section')")
        groups: dict[str, list[Trait]] = {}
        for trait in self.traits:
            groups.setdefault(trait.section[0] if trait.section else "", []).append(trait)
        chunks = []
        for section, traits in groups.items():
            context = traits[0].context
            body = "\n\n".join(t.render() for t in traits)
            chunks.append(
                TraitChunk(
                    id=slugify(section) if section else traits[0].id,
                    trait_ids=[t.id for t in traits],
                    text=f"{context}\n\n{body}" if context else body,
                )
            )
        return chunks

    def describe(self, *, width: int = 80, preview: int = 500) -> Iterator[str]:
        """Lines that show how the document parsed: per trait its id, section and line, then
        each field it has, wrapped at word boundaries to `width` columns.

        A field longer than `preview` characters is cut to that many, with its full length
        stated: the output is for checking the parse, and the cost stays the same for a 50 MB
        paragraph (rendering all of it through a table layout took minutes).
        """
        if self.title:
            yield self.title
        count = len(self.traits)
        yield f"{count} trait{'' if count == 1 else 's'} from {self.source}"
        for trait in self.traits:
            yield ""
            where = f"{' / '.join(trait.section)}, line {trait.line}" if trait.section else ""
            yield f"{trait.id}  ({where or f'line {trait.line}'})"
            for label, value in (
                ("statement", trait.statement),
                ("why", trait.rationale),
                ("trade-offs", trait.tradeoffs),
                ("when not to", trait.when_not),
                ("notes", trait.notes),
            ):
                if value:
                    yield from _wrapped(f"{label}: {_preview(value, preview)}", width)

    def render(self) -> str:
        """The whole document for a prompt, normalised."""
        parts = [f"# {self.title}"] if self.title else []
        if self.preamble:
            parts.append(self.preamble)
        parts.extend(t.render() for t in self.traits)
        return "\n\n".join(parts)


def _preview(text: str, limit: int) -> str:
    """`text` on one line, cut at a word boundary near `limit` characters if it is longer."""
    if len(text) <= limit:
        return " ".join(text.split())
    cut = text[: limit + 1].rsplit(None, 1)[0] if " " in text[:limit] else text[:limit]
    return f"{' '.join(cut.split())} ... ({len(text):,} characters)"


def _wrapped(text: str, width: int) -> list[str]:
    """Indented lines of at most `width` columns, broken only between words (a word longer
    than a line, such as a URL, gets a line of its own)."""
    return textwrap.wrap(
        text,
        width=width,
        initial_indent="  ",
        subsequent_indent="      ",
        break_long_words=False,
        break_on_hyphens=False,
    )


def slugify(text: str) -> str:
    """Lowercase ascii slug: 'Care, not sycophancy!' -> 'care-not-sycophancy'."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "trait"


# --- parsing ---------------------------------------------------------------------------------


@dataclass
class _Block:
    """A paragraph or a top-level bullet (with its nested lines) and its first line number."""

    kind: Literal["paragraph", "bullet"]
    text: str
    line: int


@dataclass
class _Heading:
    level: int
    title: str
    explicit_id: str | None
    line: int
    blocks: list[_Block] = field(default_factory=list)
    children: list[_Heading] = field(default_factory=list)


class _Parser:
    def __init__(self, text: str, source: str):
        self.lines = text.splitlines()
        self.source = source

    def error(self, reason: str, line: int | None = None) -> InputError:
        return InputError(reason, path=self.source, line=line)

    def parse(self) -> TraitsDocument:
        root = self._outline()
        title: str | None = None
        preamble_blocks = root.blocks
        top = root.children
        # A single level-1 heading is the document title; its text is the preamble.
        if len(top) == 1 and top[0].level == 1 and top[0].children:
            title, preamble_blocks, top = top[0].title, top[0].blocks, top[0].children
        preamble = _join(preamble_blocks)
        traits: list[Trait] = []
        if not top and root.children == [] and preamble_blocks:
            # A document of bullets without any heading.
            traits.extend(self._bullet_traits(root.blocks, [], preamble))
            preamble = ""
        for heading in top:
            traits.extend(self._walk(heading, [], [preamble] if preamble else []))
        if not traits:
            raise self.error("no traits found (expected headings or '- **Name**: ...' bullets)")
        seen: dict[str, int] = {}
        for trait in traits:
            if trait.id in seen:
                raise self.error(
                    f"duplicate trait id '{trait.id}' (first at line {seen[trait.id]})", trait.line
                )
            seen[trait.id] = trait.line
        return TraitsDocument(title=title, preamble=preamble, traits=traits, source=self.source)

    def _outline(self) -> _Heading:
        """Group lines into a heading tree whose nodes hold paragraph and bullet blocks."""
        root = _Heading(level=0, title="", explicit_id=None, line=0)
        stack = [root]
        buffer: list[str] = []
        buffer_kind: Literal["paragraph", "bullet"] = "paragraph"
        buffer_line = 0
        in_fence = False

        def flush() -> None:
            nonlocal buffer
            text = "\n".join(buffer).strip()
            if text:
                stack[-1].blocks.append(_Block(buffer_kind, text, buffer_line))
            buffer = []

        for number, raw in enumerate(self.lines, start=1):
            stripped = raw.strip()
            if stripped.startswith(("```", "~~~")):
                in_fence = not in_fence
            heading = None if in_fence else _HEADING_RE.match(raw)
            if heading:
                flush()
                level = len(heading["hashes"])
                title = heading["title"].strip()
                explicit = _EXPLICIT_ID_RE.search(title)
                if explicit:
                    title = title[: explicit.start()].strip()
                node = _Heading(level, _strip_emphasis(title), explicit and explicit["id"], number)
                while stack[-1].level >= level:
                    stack.pop()
                stack[-1].children.append(node)
                stack.append(node)
                continue
            if not stripped:
                flush()
                continue
            bullet = None if in_fence else _BULLET_RE.match(raw)
            if bullet and not bullet["indent"]:
                flush()
                buffer_kind, buffer_line = "bullet", number
                buffer.append(bullet["text"])
                continue
            if buffer and _field_label(stripped)[0] is not None:
                flush()  # "Why: ..." on its own line starts a new field
            if not buffer:
                buffer_kind, buffer_line = "paragraph", number
            buffer.append(raw)
        flush()
        return root

    def _walk(self, node: _Heading, path: list[str], context: list[str]) -> Iterator[Trait]:
        if node.children:
            intro = _join(node.blocks)
            inner = context + ([f"## {node.title}\n\n{intro}"] if intro else [])
            for child in node.children:
                yield from self._walk(child, path + [node.title], inner)
            return
        if not node.blocks:
            raise self.error(f"heading '{node.title}' has no text", node.line)
        if _is_trait_list(node.blocks):
            intro = _join([b for b in node.blocks if b.kind == "paragraph"])
            inner = context + ([f"## {node.title}\n\n{intro}"] if intro else [])
            yield from self._bullet_traits(node.blocks, path + [node.title], "\n\n".join(inner))
            return
        yield self._trait(
            node.title, node.explicit_id, node.blocks, path, "\n\n".join(context), node.line
        )

    def _bullet_traits(self, blocks: list[_Block], path: list[str], context: str) -> list[Trait]:
        traits = []
        for block in blocks:
            if block.kind != "bullet":
                continue
            match = _BOLD_NAME_RE.match(block.text)
            if not match:
                raise self.error(
                    "expected a bullet of the form '- **Name**: statement'", block.line
                )
            name = match["name"].strip()
            first, *nested = match["rest"].split("\n")
            inner = [_Block("paragraph", first.strip(), block.line)] if first.strip() else []
            for offset, line in enumerate(nested, start=1):
                sub = _BULLET_RE.match(line)
                text = (sub["text"] if sub else line).strip()
                if not text:
                    continue
                if sub or not inner:
                    inner.append(_Block("bullet", text, block.line + offset))
                else:
                    inner[-1].text += " " + text
            explicit = _EXPLICIT_ID_RE.search(name)
            if explicit:
                name = name[: explicit.start()].strip()
            traits.append(
                self._trait(name, explicit and explicit["id"], inner, path, context, block.line)
            )
        return traits

    def _trait(
        self,
        name: str,
        explicit_id: str | None,
        blocks: list[_Block],
        path: list[str],
        context: str,
        line: int,
    ) -> Trait:
        fields: dict[str, list[str]] = {"statement": [], "rationale": [], "tradeoffs": []}
        fields["when_not"], fields["notes"] = [], []
        current: str | None = None
        for block in blocks:
            label, rest = _field_label(block.text)
            if label is not None:
                current = label
                if rest:
                    fields[label].append(rest)
            elif current is None and not fields["statement"]:
                fields["statement"].append(block.text)
                current = "notes"
            elif current in ("rationale", "tradeoffs", "when_not") and block.kind == "bullet":
                fields[current].append(f"- {block.text}")
            else:
                fields["notes"].append(block.text)
                current = "notes"
        statement = "\n\n".join(fields["statement"]).strip()
        if not statement:
            raise self.error(f"trait '{name}' has no statement", line)
        return Trait(
            id=explicit_id or slugify(name),
            name=name,
            statement=statement,
            rationale=_joined(fields["rationale"]),
            tradeoffs=_joined(fields["tradeoffs"]),
            when_not=_joined(fields["when_not"]),
            notes=_joined(fields["notes"]),
            section=path,
            context=context,
            line=line,
        )


def _field_label(text: str) -> tuple[str | None, str]:
    match = _LABEL_RE.match(text)
    if not match:
        return None, text
    label = (match["label"] or match["blabel"]).strip().lower()
    if label not in _LABEL_TO_FIELD:
        return None, text
    return _LABEL_TO_FIELD[label], _strip_emphasis(match["rest"].strip())


def _is_trait_list(blocks: list[_Block]) -> bool:
    bullets = [b for b in blocks if b.kind == "bullet"]
    if not bullets:
        return False
    for bullet in bullets:
        match = _BOLD_NAME_RE.match(bullet.text)
        if not match or match["name"].strip().lower().rstrip(":.") in _LABEL_TO_FIELD:
            return False
    return True


def _strip_emphasis(text: str) -> str:
    # str.strip, not a regex: `[*_]+$` is retried at every position of a run of '*' or '_'.
    return text.strip("*_").strip()


def _join(blocks: list[_Block]) -> str:
    return "\n\n".join(b.text if b.kind == "paragraph" else f"- {b.text}" for b in blocks).strip()


def _joined(parts: list[str]) -> str | None:
    text = "\n".join(parts).strip()
    return text or None
