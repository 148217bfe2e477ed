"""Tolerant parsing of structured judge replies into pydantic models.

Judges wrap JSON in prose, code fences or tags, think out loud before answering, use Python
literals, leave trailing commas, or answer with one XML tag per field. All of that is accepted;
what cannot be read raises `ParseError` with a reason short enough to send back to the judge.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)

_THINK_RE = re.compile(r"<(think|thinking|reasoning)>.*?</\1>", re.DOTALL | re.IGNORECASE)
_FENCE_RE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
_TRAILING_COMMA_RE = re.compile(r",\s*([}\]])")


class ParseError(ValueError):
    """A reply that does not contain a valid structured verdict."""


def parse_structured(text: str, schema: type[T]) -> T:
    """The last JSON object (or set of per-field tags) in `text` that validates as `schema`."""
    text = _THINK_RE.sub("", text or "")
    if not text.strip():
        raise ParseError("the reply was empty")
    objects = [obj for obj in _json_candidates(text) if isinstance(obj, dict)]
    last_error: str | None = None
    for obj in reversed(objects):
        try:
            return schema.model_validate(_normalise_keys(obj, schema))
        except ValidationError as ex:
            last_error = _validation_reason(ex)
    tagged = _tagged_fields(text, schema)
    if tagged:
        try:
            return schema.model_validate(tagged)
        except ValidationError as ex:
            last_error = _validation_reason(ex)
    if last_error:
        raise ParseError(last_error)
    raise ParseError("no JSON object found in the reply")


def _json_candidates(text: str) -> list[Any]:
    """Objects from fenced blocks and every balanced {...} span, in order of appearance."""
    spans = [m.group(1) for m in _FENCE_RE.finditer(text)]
    spans.extend(_balanced_objects(text))
    found = []
    for span in spans:
        value = _loads(span)
        if value is not None:
            found.append(value)
    return found


def _loads(span: str) -> Any:
    span = span.strip()
    for candidate in (span, _TRAILING_COMMA_RE.sub(r"\1", span)):
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            pass
        try:
            # Python-style dicts: single quotes, True/False/None.
            return ast.literal_eval(candidate)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            pass
    return None


def _balanced_objects(text: str) -> list[str]:
    """Top-level {...} spans, skipping braces inside strings."""
    spans, depth, start, quote, escaped = [], 0, -1, "", False
    for index, char in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
            continue
        if char == '"' and depth > 0:
            quote = char
        elif char == "{":
            if depth == 0:
                start = index
            depth += 1
        elif char == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                spans.append(text[start : index + 1])
    return spans


def _normalise_keys(obj: dict[str, Any], schema: type[BaseModel]) -> dict[str, Any]:
    """Match keys to the schema's field names ignoring case, spaces and hyphens."""
    fields = {_key(name): name for name in schema.model_fields}
    return {fields.get(_key(k), k): v for k, v in obj.items()}


def _key(name: str) -> str:
    return re.sub(r"[\s\-_]+", "_", str(name).strip().lower())


def _tagged_fields(text: str, schema: type[BaseModel]) -> dict[str, Any]:
    """`<field>value</field>` for each schema field present in the text."""
    values: dict[str, Any] = {}
    for name in schema.model_fields:
        match = re.search(rf"<{name}>(.*?)</{name}>", text, re.DOTALL | re.IGNORECASE)
        if match:
            raw = match.group(1).strip()
            parsed = _loads(raw) if raw[:1] in "[{" else None
            values[name] = parsed if parsed is not None else raw
    return values


def _validation_reason(ex: ValidationError) -> str:
    problems = []
    for error in ex.errors()[:3]:
        where = ".".join(str(p) for p in error["loc"]) or "reply"
        problems.append(f"field '{where}': {error['msg']}")
    return "; ".join(problems)


def schema_instructions(schema: type[BaseModel]) -> str:
    """Tell a judge how to reply: one JSON object with the schema's fields described."""
    json_schema = schema.model_json_schema()
    definitions = json_schema.get("$defs", {})
    lines = []
    for name, prop in json_schema.get("properties", {}).items():
        description = prop.get("description")
        suffix = f"  // {description}" if description else ""
        lines.append(f'  "{name}": <{_describe(prop, definitions)}>{suffix}')
    body = ",\n".join(lines)
    return (
        "Reply with a single JSON object with the fields below. You may reason first; the last "
        f"JSON object in your reply is the one that is read.\n{{\n{body}\n}}"
    )


def _describe(prop: dict[str, Any], definitions: dict[str, Any]) -> str:
    if "$ref" in prop:
        target = definitions.get(prop["$ref"].rsplit("/", 1)[-1], {})
        fields = ", ".join(target.get("properties", {}))
        return f"object with {fields}"
    if "enum" in prop:
        return " | ".join(json.dumps(v) for v in prop["enum"])
    if "anyOf" in prop:
        return " | ".join(_describe(p, definitions) for p in prop["anyOf"])
    kind = prop.get("type", "value")
    if kind == "array":
        return f"list of {_describe(prop.get('items', {}), definitions)}"
    low, high = prop.get("minimum"), prop.get("maximum")
    if low is not None and high is not None:
        return f"{kind} from {low} to {high}"
    return str(kind)
