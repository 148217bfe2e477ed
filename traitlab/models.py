"""Model roles and the offline `scripted` model provider.

Every LLM call in traitlab goes through Inspect's model API, so tests and demos swap in this
provider instead of a real model. Inspect's own `mockllm` counts tokens with a tiktoken encoding
that it downloads at run time, which fails offline; this provider counts tokens with a local
heuristic and never touches the network.

Use it as ``--model scripted/NAME`` (or in ``--model-role``) with one of two model args:

* ``replies=PATH`` (or a Python list): a JSON array or JSONL file of replies served in order.
  Each reply is a string or an object ``{"content": ..., "tool_calls": [{"function": ...,
  "arguments": {...}}]}``. Running out of replies is an error, not a silent default.
* ``policy=module:function`` (or a Python callable): called with ``(messages, tools, config)``
  and returning a string, a reply object as above, or a `ModelOutput` (sync or async).
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import itertools
import json
import math
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    GenerateConfig,
    Model,
    ModelAPI,
    ModelOutput,
    ModelUsage,
    get_model,
    model_roles,
    modelapi,
)
from inspect_ai.tool import ToolCall, ToolChoice, ToolInfo
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from traitlab.errors import InputError

# The helper roles tasks may ask for. Each task documents which it uses and what happens when a
# role is unset; none of them silently falls back to the model under test. `verifier` and
# `judge2` belong to the judging core (`traitlab.judging.judge_sample`): the verifier re-reads
# positive findings (falls back to the judge), judge2 re-grades a share of samples (optional).
Role = Literal["auditor", "redteam", "judge", "realism", "baseline", "verifier", "judge2"]

ScriptedReply = str | dict[str, Any] | ModelOutput
Policy = Callable[
    [list[ChatMessage], list[ToolInfo], GenerateConfig],
    ScriptedReply | Awaitable[ScriptedReply],
]


def role_model(role: Role, *, fallback: Role | None = None) -> Model:
    """The model bound to `role`, else to `fallback`, else a one-line error.

    Inside a task, helper models are model roles (``--model-role judge=...``). A role may fall
    back to another helper role (realism to judge), never to the model under test: Inspect's
    `get_model(role=...)` returns the target when a role is unset, so unset roles are checked
    here first.
    """
    bound = model_roles()
    for name in (role, fallback):
        if name is not None and name in bound:
            return get_model(role=name)
    also = f" (nor '{fallback}')" if fallback else ""
    raise InputError(
        f"model role '{role}' is not set{also}: pass --model-role {role}=PROVIDER/MODEL"
    )


def role_models(role: Role) -> list[Model]:
    """Every model bound to `role` (``--model-role judge=a,b``), for panels of judges."""
    bound = model_roles().get(role)
    if bound is None:
        raise InputError(f"model role '{role}' is not set: pass --model-role {role}=PROVIDER/MODEL")
    return bound if isinstance(bound, list) else [bound]


class ScriptedToolCall(BaseModel):
    function: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    id: str | None = None


class ScriptedReplyObject(BaseModel):
    """One scripted reply: text and, optionally, tool calls.

    Other keys are refused: a judge verdict written as a bare object (`{"score": 3}`) would
    otherwise become an empty reply; write it as a JSON string or as its `content`.
    """

    model_config = ConfigDict(extra="forbid")

    content: str = ""
    tool_calls: list[ScriptedToolCall] = Field(default_factory=list)


def load_replies(path: str | Path) -> list[ScriptedReply]:
    """Read replies from a JSON array or a JSONL file (one reply per line)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as ex:
        raise InputError(f"cannot read scripted replies ({ex.strerror or ex})", path=path) from None
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            replies = json.loads(stripped)
        except json.JSONDecodeError as ex:
            raise InputError(f"invalid JSON ({ex.msg})", path=path, line=ex.lineno) from None
        for reply in replies:
            _check_reply(reply, path, None)
        return list(replies)
    replies = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            replies.append(json.loads(line))
        except json.JSONDecodeError as ex:
            raise InputError(f"invalid JSON ({ex.msg})", path=path, line=number) from None
        _check_reply(replies[-1], path, number)
    return replies


def _check_reply(reply: object, path: Path, line: int | None) -> None:
    if isinstance(reply, str):
        return
    try:
        ScriptedReplyObject.model_validate(reply)
    except ValidationError as ex:
        raise InputError(
            "a reply is a string or {content, tool_calls} (write a JSON verdict as a string): "
            + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in ex.errors()),
            path=path,
            line=line,
        ) from None


def load_policy(spec: str) -> Policy:
    """Import `module:function` (or `module.function`)."""
    module_name, sep, attr = spec.partition(":")
    if not sep:
        module_name, _, attr = spec.rpartition(".")
    try:
        policy = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as ex:
        raise InputError(f"cannot import scripted policy '{spec}': {ex}") from None
    if not callable(policy):
        raise InputError(f"scripted policy '{spec}' is not callable")
    return policy


def to_output(reply: ScriptedReply, model: str) -> ModelOutput:
    """Turn a scripted reply (string, reply object or ModelOutput) into a `ModelOutput`."""
    if isinstance(reply, ModelOutput):
        return reply
    if isinstance(reply, str):
        return ModelOutput.from_content(model=model, content=reply)
    parsed = ScriptedReplyObject.model_validate(reply)
    calls = [
        ToolCall(id=call.id or f"call_{index}", function=call.function, arguments=call.arguments)
        for index, call in enumerate(parsed.tool_calls)
    ]
    message = ChatMessageAssistant(
        content=parsed.content, tool_calls=calls or None, model=model, source="generate"
    )
    output = ModelOutput.from_message(message)
    output.choices[0].stop_reason = "tool_calls" if calls else "stop"
    return output


def script_fingerprint(
    replies: str | Path | Sequence[ScriptedReply] | None, policy: str | Policy | None
) -> str:
    """A stable digest of what a scripted model will answer, for Inspect's cache key.

    A reply file is hashed by its content; a policy by its import path, plus the instance's
    attributes when it is a configured object (``LintPolicy(garble="x")``).
    """
    if policy is not None:
        if isinstance(policy, str):
            identity = f"policy:{policy}"
        else:
            plain = inspect.isfunction(policy) or inspect.ismethod(policy)
            kind = policy if plain else type(policy)
            identity = f"policy:{kind.__module__}:{kind.__qualname__}"
            state = getattr(policy, "__dict__", None)
            if state and not inspect.isfunction(policy):
                identity += json.dumps(state, sort_keys=True, default=repr)
    elif isinstance(replies, str | Path):
        try:
            identity = "replies:" + hashlib.sha256(Path(replies).read_bytes()).hexdigest()
        except OSError:
            identity = f"replies:{replies}"
    else:
        identity = "replies:" + json.dumps(replies, sort_keys=True, default=repr)
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]


def estimate_tokens(text: str) -> int:
    """About four characters a token: good enough for usage reports, needs no download."""
    return math.ceil(len(text) / 4) if text else 0


class ScriptedModelAPI(ModelAPI):
    """Replies from a script or a policy; deterministic, offline, with token usage."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),  # noqa: B008  (ModelAPI's signature)
        replies: str | Sequence[ScriptedReply] | None = None,
        policy: str | Policy | None = None,
        **model_args: Any,
    ) -> None:
        # Inspect's cache key includes the base URL (not the model args), so the script's identity
        # goes there: a second policy or reply list under the same model name never replays the
        # first one's cached answers.
        base_url = base_url or f"scripted:{script_fingerprint(replies, policy)}"
        super().__init__(model_name, base_url, api_key, [], config)
        if model_args:
            raise InputError(
                f"scripted model: unknown model args {sorted(model_args)} "
                "(use replies=PATH or policy=module:function)"
            )
        if (replies is None) == (policy is None):
            raise InputError("scripted model needs exactly one of replies=PATH or policy=MOD:FN")
        self._policy: Policy | None = load_policy(policy) if isinstance(policy, str) else policy
        if isinstance(replies, str | Path):
            replies = load_replies(replies)
        self._replies = iter(replies) if replies is not None else None
        self._served = itertools.count()

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        if self._policy is not None:
            reply = self._policy(input, tools, config)
            if inspect.isawaitable(reply):
                reply = await reply
        else:
            assert self._replies is not None
            try:
                reply = next(self._replies)
            except StopIteration:
                raise RuntimeError(
                    f"scripted/{self.model_name}: ran out of replies after {next(self._served)}"
                ) from None
            next(self._served)
        output = to_output(reply, f"scripted/{self.model_name}")
        if output.usage is None:
            prompt = "".join(m.text for m in input) + "".join(t.model_dump_json() for t in tools)
            input_tokens = estimate_tokens(prompt)
            output_tokens = estimate_tokens(output.completion)
            output.usage = ModelUsage(
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                total_tokens=input_tokens + output_tokens,
            )
        return output

    async def count_text_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def max_connections(self) -> int:
        # Scripted replies are served in order; one connection keeps that order deterministic.
        return 1 if self._policy is None else 32


@modelapi(name="scripted")
def scripted() -> type[ModelAPI]:
    return ScriptedModelAPI
