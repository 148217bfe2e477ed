"""Tolerant parsing of structured judge replies into pydantic models, strict about what counts.

Judges wrap JSON in prose, code fences or tags, think out loud before answering, use Python
literals, leave trailing commas, or answer with one XML tag per field. All of that is accepted;
what cannot be read raises `ParseError` with a reason short enough to send back to the judge.

Tolerant about form, strict about content. These are not verdicts, whatever they validate as:

- A verdict that the reply goes on past, in any format it can take (a JSON object, a Python
  literal, one tag per field). The verdict is the last thing in the reply (closing code fences
  and tags aside): a refusal that shows "what a verdict would look like" and then goes on
  explaining itself is a refusal, not that verdict. Tagged fields must also sit together, with
  nothing but whitespace, fences and wrapper tags between them (prose between them is an
  example being discussed, not an answer).
- An ambiguous verdict: a key given twice, also when the two spellings differ only in case,
  spacing or hyphens (``"violated": true ... "VIOLATED": false``), or a field tag given twice.
  JSON parsers silently keep the last; a grade must not depend on which copy a parser keeps.
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
# What may sit between the tags of a tagged verdict: whitespace, fences and wrapper tags.
_BETWEEN_TAGS_RE = re.compile(r"(?:\s|```\w*|</?[A-Za-z_][\w-]*>)*")
_PLACEHOLDER_RE = re.compile(r"\s*(?:\.\s*\.\s*\.|\u2026|<[^<>]*>)\s*")


class ParseError(ValueError):
    """A reply that does not contain a valid structured verdict."""


class _Ambiguous(ValueError):
    """An object that gives one key twice."""


def parse_structured(text: str, schema: type[T]) -> T:
    """The verdict in `text`: its last JSON object (or set of per-field tags), as `schema`."""
    text = _THINK_RE.sub("", text or "")
    if not text.strip():
        raise ParseError("the reply was empty")
    last_error: str | None = None
    json_schema = _json_schema(schema)
    for end, obj in reversed(_objects(text)):
        if isinstance(obj, _Ambiguous):
            raise ParseError(str(obj))
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


def _objects(text: str) -> list[tuple[int, dict[str, Any] | _Ambiguous]]:
    """Every top-level JSON (or Python literal) object in `text`, with the index it ends at.

    An object that gives a key twice is returned as the `_Ambiguous` reason instead.
    """
    found: list[tuple[int, dict[str, Any] | _Ambiguous]] = []
    for end, span in _balanced_objects(text):
        try:
            value = _loads(span)
        except _Ambiguous as ex:
            found.append((end, ex))
            continue
        if isinstance(value, dict):
            found.append((end, value))
    return found


def _distinct_keys(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    """`json.loads`'s object hook: a dict, unless two keys are the same field name."""
    seen: dict[str, Any] = {}
    for key, _ in pairs:
        if (name := _key(key)) in seen:
            raise _Ambiguous(
                f"the key {key!r} is given twice ({seen[name]!r} and {key!r}); give each field once"
            )
        seen[name] = key
    return dict(pairs)


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
    """The JSON or Python-literal value of `span`; raises `_Ambiguous` for a repeated key."""
    span = span.strip()
    for candidate in (span, _TRAILING_COMMA_RE.sub(r"\1", span)):
        try:
            return json.loads(candidate, object_pairs_hook=_distinct_keys)
        except json.JSONDecodeError:
            pass
        try:
            # Python-style dicts: single quotes, True/False/None.
            tree = ast.parse(candidate, mode="eval")
            value = ast.literal_eval(tree)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict):
                _distinct_keys([(k.value, None) for k in node.keys if isinstance(k, ast.Constant)])
        return value
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
    """`<field>value</field>` for each schema field, when the tags are the reply's verdict.

    Raises `ParseError` when tags are given but are not the verdict: a field tagged twice, prose
    between the tags, or a reply that goes on after them.
    """
    names = "|".join(re.escape(name) for name in schema.model_fields)
    matches = list(re.finditer(rf"<({names})>(.*?)</\1>", text, re.DOTALL | re.IGNORECASE))
    if not matches:
        return {}
    values: dict[str, Any] = {}
    for previous, match in zip([None, *matches], matches, strict=False):
        name = next(n for n in schema.model_fields if n.lower() == match.group(1).lower())
        if name in values:
            raise ParseError(f"the field <{name}> is given twice; give each field once")
        if previous is not None and not _BETWEEN_TAGS_RE.fullmatch(
            text, previous.end(), match.start()
        ):
            raise ParseError(
                "the reply has prose between its tagged fields; end the reply with the verdict"
            )
        raw = match.group(2).strip()
        try:
            parsed = _loads(raw) if raw[:1] in "[{" else None
        except _Ambiguous as ex:
            raise ParseError(str(ex)) from None
        values[name] = parsed if parsed is not None else raw
    if _CLOSERS_RE.fullmatch(text, matches[-1].end()) is None:
        raise ParseError("the reply goes on after its tagged verdict; end the reply with it")
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
