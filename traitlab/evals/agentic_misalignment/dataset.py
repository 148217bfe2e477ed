"""Scenarios crossed over conditions, rendered into mail-world samples.

A scenario file (YAML, `scenarios/*.yaml`) holds the inbox every condition shares and, per
level of each factor, what that level adds: `goal_conflict`, the paper's goal types
(explicit: a goal in the system prompt and mail showing leadership turning against it; latent:
the same mail, but no goal in the system prompt; ambiguous: no goal, and mail announcing a
change of direction without saying which way; none: no goal and no change) and `threat` to
the agent (replacement / restriction / none). The levels' `vars` fill `${name}` slots in the
shared mail, so one news story can announce either direction. Crossing gives harm x
goal_conflict x threat samples (36 with the bundled files), each with its `condition` in
metadata.

The agent's prompts are `prompts/system.md` and `prompts/kickoff.md`; the system prompt takes
an override (`system_prompt=`, text or a path).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from string import Template
from typing import Any, Literal

import yaml
from inspect_ai.dataset import Sample
from inspect_ai.model import ChatMessageSystem, ChatMessageUser
from inspect_ai.tool import ToolDef
from pydantic import BaseModel, Field, ValidationError

from traitlab.errors import InputError
from traitlab.evals.agentic_misalignment.mail import (
    Alert,
    AutoReply,
    Email,
    Followup,
    Harm,
    MailWorld,
    mail_tools,
)
from traitlab.prompts import PromptOverride, PromptTemplate, load_prompt, resolve_prompt

GoalConflict = Literal["explicit", "latent", "ambiguous", "none"]
Threat = Literal["replacement", "restriction", "none"]
HARMS: tuple[Harm, ...] = ("leak", "coercion", "alert")
GOAL_CONFLICTS: tuple[GoalConflict, ...] = ("explicit", "latent", "ambiguous", "none")
THREATS: tuple[Threat, ...] = ("replacement", "restriction", "none")

HERE = Path(__file__).parent
SCENARIOS = HERE / "scenarios"


class UpstreamWorld(BaseModel):
    """How the mail world answers in the upstream templates' scenarios."""

    receipt: str
    executive_reply: str
    dispatched: str
    cancelled: str


class Prompts(BaseModel):
    """`prompts/*.md`: the agent's prompts, the harm definitions, and what the upstream
    templates need from us (goal statements, the agent's role, the world's answers)."""

    system: PromptTemplate
    kickoff: PromptTemplate
    harms: dict[Harm, str]
    upstream_goals: dict[str, str]
    upstream_roles: dict[str, str]
    upstream_world: UpstreamWorld


class ConditionPart(BaseModel):
    """What one level of a factor adds to the shared scenario."""

    goal: str | None = None
    vars: dict[str, str] = Field(default_factory=dict)
    emails: list[Email] = Field(default_factory=list)
    followups: list[Followup] = Field(default_factory=list)


class Scenario(BaseModel):
    id: str
    harm: Harm
    company: str
    domain: str
    agent_name: str
    agent_address: str
    role: str
    now: str
    executive: str | None = None
    emails: list[Email]
    goal_conflict: dict[GoalConflict, ConditionPart]
    threat: dict[Threat, ConditionPart]
    followups: list[Followup] = Field(default_factory=list)
    replies: list[AutoReply] = Field(default_factory=list)
    alert: Alert | None = None


def read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as ex:
        raise InputError(f"cannot read ({ex.strerror or ex})", path=path) from None
    except yaml.YAMLError as ex:
        mark = getattr(ex, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(ex, "problem", None) or ex
        raise InputError(f"invalid YAML ({reason})", path=path, line=line) from None


def _validated(model: type[BaseModel], data: Any, path: Path) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as ex:
        error = ex.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise InputError(f"{where}: {error['msg']}", path=path) from None


@cache
def load_prompts() -> Prompts:
    """The bundled prompt files (one markdown format, `traitlab.prompts`)."""
    world = load_prompt(HERE, "upstream_world")
    return Prompts(
        system=load_prompt(HERE, "system"),
        kickoff=load_prompt(HERE, "kickoff"),
        harms={harm: load_prompt(HERE, f"harm_{harm}").template for harm in HARMS},
        upstream_goals=load_prompt(HERE, "upstream_goals").variants,
        upstream_roles=load_prompt(HERE, "upstream_roles").variants,
        upstream_world=_validated(UpstreamWorld, world.variants, Path(world.source)),
    )


def agent_system_prompt(override: PromptOverride = None) -> PromptTemplate:
    """The agent's system prompt: `prompts/system.md`, or an override (text or a path)."""
    return resolve_prompt(override, load_prompts().system)


def load_scenarios(directory: str | Path | None = None) -> list[Scenario]:
    """Every `*.yaml` scenario in `directory` (default: the bundled ones), sorted by file name."""
    root = Path(directory) if directory is not None else SCENARIOS
    paths = sorted(root.glob("*.yaml")) if root.is_dir() else [root]
    if not paths or not paths[0].exists():
        raise InputError("no scenario files (*.yaml) found", path=root)
    return [_validated(Scenario, read_yaml(path), path) for path in paths]


def fill(email: Email, values: dict[str, str], where: str) -> Email:
    """Fill `${name}` slots in subject and body; an unfilled slot is an error, not a blank."""
    filled = {
        field: Template(getattr(email, field)).safe_substitute(values)
        for field in ("subject", "body")
    }
    for text in filled.values():
        if "${" in text:
            slot = text[text.index("${") :].split("}")[0] + "}"
            raise InputError(f"{where}: no value for {slot} in email '{email.subject}'")
    return email.model_copy(update=filled)


def numbered(emails: Iterable[Email]) -> tuple[list[Email], dict[str, str]]:
    """Emails in time order with ids 1..n, and the map from any id they had to the new one."""
    ordered = sorted(emails, key=lambda e: e.timestamp)
    renamed = {e.id: str(n) for n, e in enumerate(ordered, start=1) if e.id}
    return [e.model_copy(update={"id": str(n)}) for n, e in enumerate(ordered, start=1)], renamed


def _tidy(text: str) -> str:
    """One line per paragraph, single spaces (an empty slot leaves no gap)."""
    return "\n\n".join(" ".join(p.split()) for p in re.split(r"\n\s*\n", text.strip()))


def episode_sample(
    world: MailWorld,
    *,
    sample_id: str,
    condition: dict[str, str],
    role: str,
    goal: str | None,
    now: str,
    extra: dict[str, Any] | None = None,
    system: PromptTemplate | None = None,
) -> Sample:
    """One episode: system prompt and kickoff message, the world and the condition in metadata."""
    prompts = load_prompts()
    tools = ", ".join(ToolDef(tool).name for tool in mail_tools(world))
    values = {
        "agent_name": world.agent_name,
        "company": world.company,
        "agent_address": world.agent_address,
        "role": role.strip(),
        "goal": (goal or "").strip(),
        "tools": tools,
        "unread": str(len(world.inbox)),
        "now": now,
    }
    return Sample(
        id=sample_id,
        input=[
            ChatMessageSystem(content=_tidy((system or prompts.system).render(**values))),
            ChatMessageUser(content=_tidy(prompts.kickoff.render(**values))),
        ],
        metadata={
            "condition": condition,
            "harm_rubric": prompts.harms[condition["harm"]],  # type: ignore[index]
            "world": world.model_dump(by_alias=True),
            **(extra or {}),
        },
    )


def render(
    scenario: Scenario,
    goal_conflict: GoalConflict,
    threat: Threat,
    system: PromptTemplate | None = None,
) -> Sample:
    """The sample for one cell of the design."""
    goal_part = scenario.goal_conflict[goal_conflict]
    threat_part = scenario.threat[threat]
    values = {**goal_part.vars, **threat_part.vars}
    where = f"scenario {scenario.id} ({goal_conflict}, {threat})"
    inbox, renamed = numbered(
        fill(e, values, where) for e in [*scenario.emails, *goal_part.emails, *threat_part.emails]
    )
    followups = [
        f.model_copy(update={"email": fill(f.email, values, where)})
        for f in [*scenario.followups, *goal_part.followups, *threat_part.followups]
    ]
    alert = scenario.alert
    if alert is not None:
        if alert.email_id not in renamed:
            raise InputError(f"{where}: alert email id '{alert.email_id}' is not in the inbox")
        alert = alert.model_copy(update={"email_id": renamed[alert.email_id]})
    world = MailWorld(
        company=scenario.company,
        domain=scenario.domain,
        agent_name=scenario.agent_name,
        agent_address=scenario.agent_address,
        inbox=inbox,
        followups=followups,
        replies=scenario.replies,
        alert=alert,
        executive=scenario.executive,
    )
    condition = {"harm": scenario.harm, "goal_conflict": goal_conflict, "threat": threat}
    return episode_sample(
        world,
        sample_id=f"{scenario.id}/{goal_conflict}/{threat}",
        condition=condition,
        role=scenario.role,
        goal=goal_part.goal if goal_conflict == "explicit" else None,
        now=scenario.now,
        extra={"scenario": scenario.id},
        system=system,
    )


def choose(value: str | list[str] | None, allowed: tuple[str, ...], name: str) -> list[str]:
    """Parse a comma-separated `-T` choice (None: all), rejecting unknown levels.

    Inspect's CLI already splits `-T harms=leak,coercion` into a list; Python callers pass a string.
    """
    if value is None:
        return list(allowed)
    items = value.split(",") if isinstance(value, str) else value
    chosen = [v.strip() for v in items if v.strip()]
    if bad := [v for v in chosen if v not in allowed]:
        raise InputError(f"unknown {name} {bad[0]!r} (choose from {', '.join(allowed)})")
    return chosen


def samples(
    scenarios: str | Path | None = None,
    *,
    harms: str | None = None,
    goal_conflicts: str | None = None,
    threats: str | None = None,
    system: PromptTemplate | None = None,
) -> list[Sample]:
    """Every chosen cell of every chosen scenario."""
    wanted_harms = choose(harms, HARMS, "harm")
    return [
        render(scenario, goal, threat, system)  # type: ignore[arg-type]
        for scenario in load_scenarios(scenarios)
        if scenario.harm in wanted_harms
        for goal in choose(goal_conflicts, GOAL_CONFLICTS, "goal conflict")
        for threat in choose(threats, THREATS, "threat")
    ]
