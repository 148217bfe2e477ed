"""Prompt and rubric files: one format, one loader, and overrides a researcher can pass.

Every prompt traitlab sends (judge rubrics, auditor and red-team briefs, scan and critique
prompts) is a markdown file in a ``prompts/`` folder beside the code that uses it. A file may open
with YAML front matter (``purpose``, an optional ``temperature``, named ``variants``); its body is
a `string.Template`: ``$name`` or ``${name}`` placeholders, ``$$`` for a literal dollar, so JSON
braces in a prompt need no escaping.

A task or scorer that uses a prompt takes an override, either the text itself or a path to a
file in the same format. The override is checked when the task is built: a placeholder the code
does not fill is a one-line error then, not a failed sample an hour later. A task with many
prompts also takes a prompts folder (`folder_prompts`): each file in it replaces the bundled
prompt of the same name, checked the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from string import Template
from typing import Any

from pydantic import BaseModel, Field

from traitlab.errors import InputError, read_user_text
from traitlab.frontmatter import split_front_matter

PromptOverride = str | Path | None
"""A prompt override as tasks take it: None (the bundled file), prompt text, or a file path."""


class PromptTemplate(BaseModel):
    """One prompt: its template text and what its front matter says about it."""

    name: str = Field(description="The file's stem, e.g. 'judge' for prompts/judge.md.")
    source: str = Field(description="Where it was read from (a path, or 'override text').")
    template: str
    purpose: str = Field(default="", description="Why the prompt exists (documentation only).")
    temperature: float | None = Field(default=None, description="Sampling temperature it asks.")
    variants: dict[str, str] = Field(default_factory=dict)

    @property
    def placeholders(self) -> set[str]:
        """The names the template expects (``$name`` and ``${name}``)."""
        names = set()
        for match in Template.pattern.finditer(self.template):
            name = match.group("named") or match.group("braced")
            if name:
                names.add(name)
        return names

    def render(self, *, variant: str | None = None, **values: Any) -> str:
        """Fill the template; a missing value is an error naming it, never an empty string."""
        if variant is not None:
            values["variant"] = self.variants[variant]
        try:
            return Template(self.template).substitute({k: str(v) for k, v in values.items()})
        except KeyError as ex:
            raise InputError(f"prompt '{self.name}' needs a value for ${ex.args[0]}") from None
        except ValueError as ex:
            raise InputError(f"prompt '{self.name}' is not a valid template ({ex})") from None


def parse_prompt(text: str, *, name: str, source: str | Path) -> PromptTemplate:
    """A prompt from the text of a prompt file (front matter optional)."""
    front = split_front_matter(text, source)
    unknown = set(front.fields) - {"purpose", "temperature", "variants"}
    if unknown:
        raise InputError(f"unknown front matter fields {sorted(unknown)}", path=source)
    prompt = PromptTemplate(
        name=name, source=str(source), template=front.body.strip(), **front.fields
    )
    try:
        Template(prompt.template).substitute({key: "" for key in prompt.placeholders})
    except ValueError as ex:
        raise InputError(
            f"invalid template ({ex}); write $$ for a literal $", path=source
        ) from None
    return prompt


def load_prompt(folder: str | Path, name: str) -> PromptTemplate:
    """The bundled prompt ``folder/prompts/<name>.md`` (``folder`` is usually ``Path(__file__)``).

    Passing a module's ``__file__`` finds the ``prompts/`` folder beside that module.
    """
    folder = Path(folder)
    if folder.is_file():
        folder = folder.parent
    path = folder / "prompts" / f"{name}.md"
    return parse_prompt(read_user_text(path, "prompt file"), name=name, source=path)


def resolve_prompt(
    override: PromptOverride, default: PromptTemplate, *, allowed: set[str] | None = None
) -> PromptTemplate:
    """The prompt to use: `default`, or the override (text, or a path to a prompt file).

    A string is read as a path when it names an existing file or ends in ``.md``/``.txt``;
    otherwise it is the prompt text. The override may use any of the placeholders the default
    uses (or `allowed`, when the caller fills more); another placeholder is a one-line error.
    """
    if override is None:
        return default
    text_is_path = isinstance(override, Path) or (
        "\n" not in override and (Path(override).is_file() or override.endswith((".md", ".txt")))
    )
    if text_is_path:
        prompt = parse_prompt(
            read_user_text(override, f"'{default.name}' prompt override"),
            name=default.name,
            source=override,
        )
    else:
        prompt = parse_prompt(str(override), name=default.name, source="override text")
    fillable = allowed if allowed is not None else default.placeholders
    extra = prompt.placeholders - fillable
    if extra:
        raise InputError(
            f"'{default.name}' prompt override uses {', '.join('$' + n for n in sorted(extra))}, "
            f"which is not filled in (available: {', '.join('$' + n for n in sorted(fillable))})",
            path=prompt.source if text_is_path else None,
        )
    if prompt.temperature is None:
        prompt = prompt.model_copy(update={"temperature": default.temperature})
    return prompt


def folder_prompts(folder: str | Path | None, names: Iterable[str]) -> dict[str, Path]:
    """The files of a prompts folder by the prompt each replaces: ``judge.md`` replaces the
    bundled ``judge`` prompt. `names` are the prompts the caller has.

    A file that matches none of them is an error, as is a missing folder: a misspelt file name
    would otherwise change nothing, silently. Hidden files are left alone.
    """
    if folder is None:
        return {}
    path = Path(folder)
    if not path.is_dir():
        raise InputError("the prompts folder does not exist (or is a file)", path=path)
    known = set(names)
    files = {f.stem: f for f in sorted(path.iterdir()) if f.is_file() and f.suffix == ".md"}
    stray = sorted(
        f.name
        for f in path.iterdir()
        if not f.name.startswith(".") and (f.stem not in known or f.suffix != ".md")
    )
    if stray:
        raise InputError(
            f"{', '.join(stray)} replace{'s' if len(stray) == 1 else ''} no prompt here "
            f"(prompts: {', '.join(n + '.md' for n in sorted(known))})",
            path=path,
        )
    return files
