"""Lint features: named patterns with a detection rubric at two thresholds.

A feature is what the lint found (or what a researcher wrote down) about a dataset: "opens by
validating the user's feelings", "leads with a verdict on the premise". Each carries two rubrics,
*broad* (the pattern is loosely present) and *strict* (it is unambiguously present), so a rate
can be read at either threshold. `features.json` holds a set of them; it is written by
`traitlab lint`, reused by `traitlab lint check` and `filter`, and turned into an Inspect scorer
by `traitlab.scorers.pattern_rate`, so the same autorater measures the pattern in training data
and in a checkpoint's outputs.

A single rubric (markdown with optional YAML front matter, or a JSON object with a ``rubric``
field) is accepted anywhere a features file is: it becomes a one-feature set.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from traitlab.errors import InputError, read_user_text

FEATURES_VERSION = 1

_SLUG_RE = re.compile(r"[^a-z0-9]+")


def slugify(name: str, max_length: int = 48) -> str:
    """A feature id from a name: lowercase words joined by underscores (valid in score keys)."""
    slug = _SLUG_RE.sub("_", name.lower()).strip("_")[:max_length].rstrip("_")
    return slug or "feature"


class Provenance(BaseModel):
    """Where a feature came from, so a rate can be traced back to the run that defined it."""

    model_config = ConfigDict(extra="allow")

    source: str | None = Field(default=None, description="Dataset or file it was derived from.")
    model: str | None = Field(default=None, description="Model that proposed and merged it.")
    scans: int = Field(
        default=0, description="How many scan batches reported the pattern, under any name."
    )
    reported_as: list[str] = Field(
        default_factory=list, description="The names the scans gave the pattern."
    )
    stage: str = Field(default="manual", description="'lint' (found by the lint) or 'manual'.")


class Feature(BaseModel):
    """One pattern with its broad and strict detection rubrics."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Short identifier used in score keys and labels.")
    name: str
    description: str = ""
    broad: str = Field(description="When the pattern counts as loosely present.")
    strict: str = Field(description="When the pattern counts as unambiguously present.")
    examples: list[str] = Field(default_factory=list)
    provenance: Provenance = Field(default_factory=Provenance)

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_]*", value):
            raise ValueError(f"feature id '{value}' must be lowercase letters, digits and _")
        return value

    def render(self) -> str:
        """The feature as a judge reads it: name, description and both thresholds."""
        return (
            f'<feature id="{self.id}">\nname: {self.name}\n'
            f"description: {self.description or self.name}\n"
            f"broad: {self.broad}\nstrict: {self.strict}\n</feature>"
        )


class FeatureSet(BaseModel):
    """The contents of features.json."""

    model_config = ConfigDict(extra="forbid")

    version: int = FEATURES_VERSION
    source: str | None = Field(default=None, description="The dataset the features came from.")
    features: list[Feature] = Field(default_factory=list)

    @field_validator("features")
    @classmethod
    def _unique_ids(cls, features: list[Feature]) -> list[Feature]:
        seen: set[str] = set()
        for feature in features:
            if feature.id in seen:
                raise ValueError(f"duplicate feature id '{feature.id}'")
            seen.add(feature.id)
        return features

    @property
    def ids(self) -> list[str]:
        return [f.id for f in self.features]

    def select(self, ids: str | list[str] | None) -> FeatureSet:
        """The features with these ids (comma-separated or a list); None keeps all."""
        if ids is None:
            return self
        wanted = [i.strip() for i in ids.split(",")] if isinstance(ids, str) else list(ids)
        unknown = [i for i in wanted if i not in self.ids]
        if unknown:
            raise InputError(f"unknown feature ids {unknown} (known: {', '.join(self.ids)})")
        return self.model_copy(update={"features": [f for f in self.features if f.id in wanted]})

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return path


def rubric_feature(rubric: str, *, name: str, **fields: Any) -> Feature:
    """A feature from one rubric: strict is the rubric, broad asks for a partial match."""
    rubric = rubric.strip()
    return Feature(
        id=fields.pop("id", None) or slugify(name),
        name=name,
        description=fields.pop("description", None) or rubric,
        broad=fields.pop("broad", None)
        or f"The item partly or loosely shows this pattern: {rubric}",
        strict=fields.pop("strict", None)
        or f"The item clearly and fully shows this pattern: {rubric}",
        **fields,
    )


def load_features(path: str | Path) -> FeatureSet:
    """Read features.json, a JSON rubric, or a markdown rubric; errors are one line.

    Accepted shapes: a features.json object (``{"features": [...]}``), a JSON list of features,
    one feature object, a JSON object with a ``rubric`` field (plus optional ``name``/``id``),
    or markdown whose body is the rubric, with optional YAML front matter (``name``, ``id``,
    ``broad``, ``strict``). A rubric's name defaults to the file's stem.
    """
    path = Path(path)
    text = read_user_text(path, "features file")
    if not text.strip():
        raise InputError("features file is empty", path=path)
    try:
        if path.suffix.lower() == ".json" or text.lstrip()[:1] in "[{":
            return _from_json(text, path)
        return _from_markdown(text, path)
    except ValidationError as ex:
        error = ex.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise InputError(
            f"invalid feature ({where or 'file'}: {error['msg']})", path=path
        ) from None


def _from_json(text: str, path: Path) -> FeatureSet:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as ex:
        raise InputError(f"invalid JSON ({ex.msg})", path=path, line=ex.lineno) from None
    if isinstance(data, list):
        data = {"features": data}
    if not isinstance(data, dict):
        raise InputError("expected a JSON object or list of features", path=path)
    if "features" in data:
        features = FeatureSet.model_validate(data)
    elif "rubric" in data:
        fields = dict(data)
        rubric = str(fields.pop("rubric"))
        name = str(fields.pop("name", None) or path.stem)
        features = FeatureSet(features=[rubric_feature(rubric, name=name, **fields)])
    else:
        features = FeatureSet(features=[Feature.model_validate(data)])
    if not features.features:
        raise InputError("no features in the file", path=path)
    return features


def _from_markdown(text: str, path: Path) -> FeatureSet:
    from traitlab.frontmatter import split_front_matter  # YAML, loaded only for a file

    front = split_front_matter(text, path)
    fields, text = front.fields, front.body
    if not text.strip():
        raise InputError("the rubric is empty", path=path)
    name = str(fields.pop("name", None) or path.stem.replace("_", " ").replace("-", " "))
    return FeatureSet(features=[rubric_feature(text, name=name, **fields)])
