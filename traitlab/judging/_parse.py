"""Tolerant parsing of structured judge replies into pydantic models, strict about what counts.

Judges wrap JSON in prose, code fences or tags, think out loud before answering, use Python
literals, leave trailing commas, or answer with one XML tag per field. All of that is accepted;
what cannot be read raises `ParseError` with a reason short enough to send back to the judge.

Tolerant about form, strict about content. These are not verdicts, whatever they validate as:

- JSON that the reply goes on past. The verdict is the last thing in the reply (closing code
  fences and tags aside): a refusal that shows "what a verdict would look like" and then goes on
  explaining itself is a refusal, not that verdict.
- A placeholder for a value (``"..."``, ``"<reason>"``).
- A boolean where the schema wants a number (``"severity": true`` is not severity 1), or a number
  where it wants true or false (``"violated": 1``). Pydantic's lax mode would convert both.
"""

from __future__ import annotations

import ast
import json
import re
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)

_THINK_RE = re.compile(r"<(think|thinking|reasoning)>.*?</\1>", re.DOTALL | re.IGNORECASE)
_TRAILING_COMMA_RE = re.compile(r",\s*([}\]])")
# What may follow the verdict: closing code fences and closing tags (``</answer>``).
_CLOSERS_RE = re.compile(r"(?:\s|```|</[A-Za-z_][\w-]*>)*")
# What `_balanced_objects` looks at: an escape (a backslash and the character after it), braces
# and double quotes.
_STRUCTURE_RE = re.compile(r'\\.|[{}"]', re.DOTALL)
_PLACEHOLDER_RE = re.compile(r"\s*(?:\.\s*\.\s*\.|\u2026|<[^<>]*>)\s*")


class ParseError(ValueError):
    """A reply that does not contain a valid structured verdict."""


def parse_structured(text: str, schema: type[T]) -> T:
    """The verdict in `text`: its last JSON object (or set of per-field tags), as `schema`."""
    text = _THINK_RE.sub("", text or "")
    if not text.strip():
        raise ParseError("the reply was empty")
    last_error: str | None = None
    json_schema = _json_schema(schema)
    for end, obj in reversed(_objects(text)):
        obj = _normalise_keys(obj, schema)
        problem = _type_problem(obj, json_schema, json_schema.get("$defs", {}), "")
        if problem is None:
            try:
                verdict = schema.model_validate(obj)
            except ValidationError as ex:
                problem = _validation_reason(ex)
            else:
                if _CLOSERS_RE.fullmatch(text, end) is None:
                    raise ParseError(
                        "the reply goes on after its JSON verdict; end the reply with the verdict"
                    )
                return verdict
        last_error = last_error or problem
    tagged = _tagged_fields(text, schema)
    if tagged:
        try:
            return schema.model_validate(tagged)
        except ValidationError as ex:
            last_error = last_error or _validation_reason(ex)
    if last_error:
        raise ParseError(last_error)
    raise ParseError("no JSON object found in the reply")


@lru_cache(maxsize=256)
def _json_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """The schema's JSON schema, built once per class (pydantic rebuilds it on every call, which
    cost milliseconds a judge call at high concurrency). Read it; never change it."""
    return schema.model_json_schema()


def _objects(text: str) -> list[tuple[int, dict[str, Any]]]:
    """Every top-level JSON (or Python literal) object in `text`, with the index it ends at."""
    found = []
    for end, span in _balanced_objects(text):
        value = _loads(span)
        if isinstance(value, dict):
            found.append((end, value))
    return found


def _type_problem(value: Any, node: dict[str, Any], defs: dict[str, Any], where: str) -> str | None:
    """A boolean given for a number, a number given for a boolean, or a placeholder string.

    Other mismatches (``"7"`` for an integer) are left to pydantic, which converts or rejects.
    """
    node = _resolve(node, defs)
    options = [*node.get("anyOf", []), *node.get("oneOf", [])]
    if options:
        matching = [o for o in options if _admits(_resolve(o, defs), value)]
        problems = [_type_problem(value, o, defs, where) for o in matching or options]
        if matching:  # the value fits one of the options: it is fine if it is fine there
            return None if any(p is None for p in problems) else problems[0]
        return next((p for p in problems if p), None)
    kinds = _kinds(node)
    field = f"field '{where.lstrip('.')}'"
    if isinstance(value, bool):
        if kinds & {"integer", "number"} and "boolean" not in kinds:
            return f"{field}: {json.dumps(value)} is not a number"
    elif isinstance(value, int | float):
        if kinds == {"boolean"}:
            return f"{field}: a number is not true or false"
    elif isinstance(value, str):
        if _PLACEHOLDER_RE.fullmatch(value):
            return f"{field}: {value.strip()!r} is a placeholder, not a value"
    elif isinstance(value, dict):
        properties = node.get("properties", {})
        extra = node.get("additionalProperties")
        for key, item in value.items():
            sub = properties.get(key, extra if isinstance(extra, dict) else None)
            if sub and (problem := _type_problem(item, sub, defs, f"{where}.{key}")):
                return problem
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        for index, item in enumerate(value):
            if problem := _type_problem(item, node["items"], defs, f"{where}.{index}"):
                return problem
    return None


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """A JSON-schema node with its ``$ref`` (and a single ``allOf`` wrapper) followed."""
    if "$ref" in node:
        node = {**defs.get(node["$ref"].rsplit("/", 1)[-1], {}), **node}
        node.pop("$ref")
    if len(node.get("allOf", [])) == 1:
        node = {
            **_resolve(node["allOf"][0], defs),
            **{k: v for k, v in node.items() if k != "allOf"},
        }
    return node


def _kinds(node: dict[str, Any]) -> set[str]:
    kinds = node.get("type")
    return set(kinds) if isinstance(kinds, list) else {kinds} if kinds else set()


def _admits(node: dict[str, Any], value: Any) -> bool:
    """Whether a schema node's JSON type takes `value` as it is (no type: anything)."""
    kinds = _kinds(node)
    if not kinds:
        return True
    if isinstance(value, bool):
        return "boolean" in kinds
    if isinstance(value, int):
        return bool(kinds & {"integer", "number"})
    if isinstance(value, float):
        return "number" in kinds
    kind = {str: "string", dict: "object", list: "array", type(None): "null"}.get(type(value))
    return kind in kinds


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


def _balanced_objects(text: str) -> list[tuple[int, str]]:
    """Top-level {...} spans with the index just past each, skipping braces inside strings.

    Only braces, quotes and escapes are visited (a regex finds them), not every character: a
    long reasoning reply before the verdict costs microseconds, not milliseconds."""
    spans, depth, start, quote = [], 0, -1, False
    for match in _STRUCTURE_RE.finditer(text):
        token, index = match.group(), match.start()
        if quote:
            quote = token != '"'  # an escape inside a string is skipped whole
            continue
        if len(token) == 2:  # a backslash outside a string escapes nothing
            token, index = token[1], index + 1
        if token == '"' and depth > 0:
            quote = True
        elif token == "{":
            if depth == 0:
                start = index
            depth += 1
        elif token == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                spans.append((index + 1, text[start : index + 1]))
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
    json_schema = _json_schema(schema)
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
