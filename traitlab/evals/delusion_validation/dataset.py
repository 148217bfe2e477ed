"""Personas for the delusion red team, and the samples built from them.

A persona is a character sheet for the red team: who the user is, an arc of escalating beliefs
turn by turn (ending in an announced drastic action), and phrases the character uses. Two
formats are read:

* traitlab's own (the bundled ``personas/*.md``): markdown with YAML front matter (``id``,
  ``name``, ``age``, ``title``, ``theme``, ``drastic_action``) and sections ``## Background``,
  ``## Arc`` (bullets ``- Turn 1: ...``, ``- Turns 2-3: ...``) and ``## Phrases``.
* the ai-psychosis study's (Tim Hua, MIT; ``characters/*.txt``): a ``Your Character: "Title"
  (Name, Age)`` header, ``Background:``, ``Turn N:`` / ``Turns N-M:`` / ``Turn N+:`` lines,
  an optional ``Extreme actions to announce:`` line and quoted ``Key phrases``. Those files are
  read from a user path (``-T personas=PATH``), never bundled.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from inspect_ai.dataset import MemoryDataset, Sample
from pydantic import BaseModel, Field, ValidationError, model_validator

from traitlab.errors import InputError, read_user_text
from traitlab.frontmatter import split_front_matter

BUNDLED = Path(__file__).parent / "personas"

_STAGE_RE = re.compile(r"^Turns?\s+(\d+)\s*(?:[-\u2013]\s*(\d+)|(\+))?\s*:\s*(.+)$", re.IGNORECASE)
_UPSTREAM_HEADER_RE = re.compile(r'^Your Character:\s*"(.+?)"\s*\((.+?)(?:,\s*(\d+))?\)\s*$')


class ArcStage(BaseModel):
    """What the character believes and does over a span of turns (1-based)."""

    first: int = Field(ge=1)
    last: int | None = Field(description="Last turn of the stage; None for 'Turn N+'.")
    text: str

    @property
    def turns(self) -> str:
        if self.last is None:
            return f"Turn {self.first}+"
        return (
            f"Turn {self.first}" if self.last == self.first else f"Turns {self.first}-{self.last}"
        )


class Persona(BaseModel):
    """A character for the red team to play."""

    id: str
    name: str
    age: int | None = None
    title: str
    theme: str
    background: str
    arc: list[ArcStage] = Field(min_length=1)
    phrases: list[str] = Field(default_factory=list)
    drastic_action: str | None = None
    source: Literal["traitlab", "ai-psychosis"] = "traitlab"

    @model_validator(mode="after")
    def _contiguous_arc(self) -> Persona:
        expected = 1
        for stage in self.arc:
            if stage.first != expected:
                raise ValueError(f"arc stage '{stage.turns}' should start at turn {expected}")
            if stage.last is None:
                if stage is not self.arc[-1]:
                    raise ValueError(f"open-ended stage '{stage.turns}' must be the last")
                break
            if stage.last < stage.first:
                raise ValueError(f"arc stage '{stage.turns}' ends before it starts")
            expected = stage.last + 1
        return self

    @property
    def arc_length(self) -> int:
        """The number of turns the arc is written for."""
        last = self.arc[-1]
        return last.last if last.last is not None else last.first

    def stage(self, index: int, turns: int) -> ArcStage:
        """The arc stage for 0-based turn `index` of a `turns`-turn conversation.

        The arc is mapped linearly onto the conversation, so the first turn opens it and the
        last turn reaches its final stage whatever the conversation's length; an open-ended
        last stage ("Turn 10+") simply continues when the conversation is longer than the arc.
        """
        length = self.arc_length if self.arc[-1].last is not None else max(self.arc_length, turns)
        arc_turn = 1 + round(index * (length - 1) / (turns - 1)) if turns > 1 else 1
        return next(s for s in self.arc if s.last is None or arc_turn <= s.last)

    def render(self) -> str:
        """The character sheet shown to the red team."""
        age = f", {self.age}" if self.age is not None else ""
        lines = [f'Character: "{self.title}" ({self.name}{age})', f"Background: {self.background}"]
        lines.append("Arc (turn numbers are for a conversation of the arc's length):")
        lines.extend(f"- {stage.turns}: {stage.text}" for stage in self.arc)
        if self.drastic_action:
            lines.append(f"Drastic action to announce at the end: {self.drastic_action}")
        if self.phrases:
            lines.append("Things the character says:")
            lines.extend(f'- "{phrase}"' for phrase in self.phrases)
        return "\n".join(lines)


def load_personas(
    path: str | Path | None = None, ids: str | list[str] | None = None
) -> list[Persona]:
    """Personas from `path` (default: the bundled ones), optionally only the comma-separated `ids`.

    `path` may be one persona file (``.md``: traitlab format; ``.txt``: ai-psychosis format), a
    folder of them, or an ai-psychosis checkout (its ``characters/`` folder is read).
    """
    root = Path(path) if path is not None else BUNDLED
    if root.is_dir() and (root / "characters").is_dir():
        root = root / "characters"
    if root.is_dir():
        files = sorted(p for p in root.iterdir() if p.suffix in (".md", ".txt"))
    elif root.is_file():
        files = [root]
    else:
        raise InputError("no such persona file or folder", path=root)
    personas = [_load_file(file) for file in files]
    if not personas:
        raise InputError("no persona files (.md or .txt) found", path=root)
    seen: dict[str, Path] = {}
    for persona, file in zip(personas, files, strict=True):
        if persona.id in seen:
            raise InputError(
                f"duplicate persona id '{persona.id}' (also in {seen[persona.id]})", path=file
            )
        seen[persona.id] = file
    if ids is None:
        return personas
    items = ids.split(",") if isinstance(ids, str) else ids  # Inspect's -T gives a list
    wanted = [i.strip() for i in items if i.strip()]
    unknown = sorted(set(wanted) - set(seen))
    if unknown:
        raise InputError(f"unknown persona ids {unknown}; known: {', '.join(seen)}")
    return [p for p in personas if p.id in wanted]


def _load_file(path: Path) -> Persona:
    text = read_user_text(path, "persona")
    fields = _upstream_fields(text, path) if path.suffix == ".txt" else _traitlab_fields(text, path)
    try:
        return Persona.model_validate(fields)
    except ValidationError as ex:
        problem = ex.errors()[0]
        where = ".".join(str(p) for p in problem["loc"]) or "persona"
        raise InputError(f"invalid persona ({where}: {problem['msg']})", path=path) from None


def _stage(line: str, path: Path, number: int) -> dict[str, Any]:
    match = _STAGE_RE.match(line)
    if match is None:
        raise InputError(
            "expected an arc line like 'Turn 1: ...' or 'Turns 2-3: ...'", path=path, line=number
        )
    first, last, open_ended, text = match.groups()
    return {
        "first": int(first),
        "last": None if open_ended else int(last or first),
        "text": text.strip(),
    }


def _traitlab_fields(text: str, path: Path) -> dict[str, Any]:
    front = split_front_matter(
        text, path, missing="a persona must start with YAML front matter between '---' lines"
    )
    fields = front.fields
    sections: dict[str, list[tuple[int, str]]] = {}
    current: list[tuple[int, str]] | None = None
    for number, line in enumerate(front.body.splitlines(), start=front.body_line):
        if line.startswith("## "):
            current = sections.setdefault(line[3:].strip().lower(), [])
        elif current is not None and line.strip():
            current.append((number, line.strip()))
    missing = [name for name in ("background", "arc") if not sections.get(name)]
    if missing:
        raise InputError(
            f"missing section(s): {', '.join('## ' + m.title() for m in missing)}", path=path
        )
    return {
        **fields,
        "background": " ".join(line for _, line in sections["background"]),
        "arc": [_stage(line.removeprefix("- "), path, n) for n, line in sections["arc"]],
        "phrases": [
            line.removeprefix("- ").strip().strip('"') for _, line in sections.get("phrases", [])
        ],
        "source": "traitlab",
    }


def _upstream_fields(text: str, path: Path) -> dict[str, Any]:
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines or not (header := _UPSTREAM_HEADER_RE.match(lines[0][1])):
        raise InputError(
            "expected a first line like 'Your Character: \"Title\" (Name, Age)'", path=path, line=1
        )
    title, name, age = header.groups()
    fields: dict[str, Any] = {
        "id": path.stem,
        "name": name.strip(),
        "age": int(age) if age else None,
        "title": title,
        # ethan_reality.txt -> "reality": upstream names files <character>_<theme>.
        "theme": path.stem.partition("_")[2] or "unspecified",
        "arc": [],
        "phrases": [],
        "source": "ai-psychosis",
    }
    in_phrases = False
    for number, line in lines[1:]:
        label, _, rest = line.partition(":")
        label = label.strip().lower()
        if label == "background":
            fields["background"] = rest.strip()
        elif label.startswith("progression arc"):
            in_phrases = False
        elif label.startswith("extreme actions"):
            fields["drastic_action"] = rest.strip()
        elif label == "key phrases":
            in_phrases = True
        elif in_phrases:
            fields["phrases"].append(line.strip('"'))
        else:
            fields["arc"].append(_stage(line, path, number))
    return fields


def persona_samples(personas: list[Persona], *, turns: int, target_role: str) -> MemoryDataset:
    """One sample per persona; the input is the character sheet the red team plays."""
    samples = [
        Sample(
            id=persona.id,
            input=persona.render(),
            metadata={
                "persona": persona.id,
                "persona_name": persona.name,
                "theme": persona.theme,
                "source": persona.source,
                "target_role": target_role,
                "turns": turns,
            },
        )
        for persona in personas
    ]
    return MemoryDataset(samples, name="delusion_validation")
