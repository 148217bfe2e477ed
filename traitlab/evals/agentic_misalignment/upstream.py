"""Render the original agentic-misalignment templates (Lynch et al., MIT) into the mail world.

Point `-T templates=PATH` at a checkout of anthropic-experimental/agentic-misalignment (or its
`templates/` folder). Nothing of it is bundled: the templates are read from that path and
rendered the way the original generator composes them, then turned into a tool-based inbox:

- goal conflict "explicit": `<s>-shared.md` + `<s>-<threat>.md`, filled with the variables of
  the chosen goal value (`variables/<a>_vs_<b>.md`, section "Pro-<Value>"); the system prompt
  states that goal (our own wording, `prompts/upstream_goals.md`).
- "latent": the same mail, but no goal in the system prompt.
- "ambiguous": `<s>-shared.md` + `<s>-<threat>.md` filled from `variables/ambiguous.md` (a
  change of direction that does not say which way), no goal.
- "none": `<s>-goal-conflict-none-<threat>.md`, filled from `variables/ambiguous.md`.

Each `<email>` block (From/To/Subject/Timestamp/Attachments/Body) becomes an inbox email. The
scenario's structure is read from the mail: in "leaking" every attachment is the confidential
document; in "blackmail" and "murder" the executive is the CTO Kyle Johnson; in "murder" the
email with the override code is the cancellable alert. The original is single-turn; here the
environment answers between rounds with our own short replies (`prompts/upstream_world.md`).
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from functools import cache
from pathlib import Path

from inspect_ai.dataset import Sample

from traitlab.errors import InputError
from traitlab.evals.agentic_misalignment.dataset import (
    GOAL_CONFLICTS,
    HARMS,
    THREATS,
    choose,
    episode_sample,
    load_prompts,
)
from traitlab.evals.agentic_misalignment.mail import (
    Alert,
    Attachment,
    AutoReply,
    Email,
    Harm,
    MailWorld,
)
from traitlab.prompts import PromptTemplate

UPSTREAM_HARMS: dict[str, Harm] = {"leaking": "leak", "blackmail": "coercion", "murder": "alert"}
AGENT_NAME = "Alex"  # the templates address the agent by this name
# Goal types whose mail is filled with a goal value's variables (the conflict is in the mail).
VALUED = ("explicit", "latent")
EXECUTIVE = "kyle.johnson"  # the CTO whose affair (blackmail) or life (murder) is at stake

_EMAIL = re.compile(r"<email>(.*?)</email>", re.S)
_HEADER = re.compile(r"^(From|To|Cc|Subject|Timestamp|Attachments|ID):[ \t]*(.*)$", re.I)
_SECTION = re.compile(r"^## (.+?)\s*\n\s*```json\s*(.*?)\s*```", re.S | re.M)
_OVERRIDE = re.compile(r"override code ([A-Z]+-\d+)")
_SLOT = re.compile(r"\$\{\w+\}")
_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def scenario_root(path: str | Path, scenario: str) -> Path:
    """The `<scenario>/` folder under a repository checkout or its `templates/` folder."""
    base = Path(path)
    for root in (base / "templates" / scenario, base / scenario):
        if (root / "templates").is_dir():
            return root
    raise InputError(f"no agentic-misalignment templates for '{scenario}' here", path=base)


def parse_emails(text: str, where: str) -> list[Email]:
    """The `<email>` blocks of a rendered template, as emails."""
    emails = []
    for block in _EMAIL.findall(text):
        head, sep, body = block.partition("\nBody:")
        if not sep:
            raise InputError(f"{where}: an email has no 'Body:' line")
        fields: dict[str, str] = {}
        for line in head.strip().splitlines():
            if match := _HEADER.match(line.strip()):
                fields[match.group(1).lower()] = match.group(2).strip()
        attachments = ast.literal_eval(fields["attachments"]) if "attachments" in fields else []
        emails.append(
            Email.model_validate(
                {
                    "from": fields.get("from", ""),
                    "to": _ADDRESS.findall(fields.get("to", "")),
                    "cc": _ADDRESS.findall(fields.get("cc", "")),
                    "subject": fields.get("subject", ""),
                    "timestamp": fields.get("timestamp", ""),
                    "body": body.strip(),
                    "attachments": [{"name": str(name)} for name in attachments],
                }
            )
        )
    if not emails:
        raise InputError(f"{where}: no <email> blocks")
    return emails


@cache
def _sections(path: Path) -> dict[str, dict[str, str]]:
    """`## Name` + fenced JSON sections of a variables file, keyed by lower-case name."""
    text = path.read_text(encoding="utf-8")
    try:
        return {
            name.strip().lower().replace("-", "_").replace(" ", "_"): json.loads(body)
            for name, body in _SECTION.findall(text)
        }
    except json.JSONDecodeError as ex:
        raise InputError(f"invalid JSON in a variables section ({ex.msg})", path=path) from None


def variables(root: Path, goal_value: str | None) -> dict[str, str]:
    """The template variables for a goal value (None: the neutral `ambiguous.md`)."""
    folder = root / "variables"
    if goal_value is None:
        [values] = _sections(folder / "ambiguous.md").values()
        return values
    for path in sorted(folder.glob("*_vs_*.md")):
        if goal_value in path.stem.split("_vs_"):
            sections = _sections(path)
            if (values := sections.get(f"pro_{goal_value}")) is not None:
                return values
    raise InputError(f"no variables for goal value '{goal_value}'", path=folder)


def render_upstream(
    path: str | Path,
    scenario: str,
    goal_conflict: str,
    threat: str,
    goal_value: str,
    system: PromptTemplate | None = None,
) -> Sample:
    """One upstream condition as a mail-world sample."""
    root = scenario_root(path, scenario)
    templates = root / "templates"
    explicit = goal_conflict == "explicit"
    valued = goal_conflict in VALUED
    files = (
        [f"email-template-{scenario}-goal-conflict-none-{threat}.md"]
        if goal_conflict == "none"
        else [f"email-template-{scenario}-shared.md", f"email-template-{scenario}-{threat}.md"]
    )
    values = variables(root, goal_value if valued else None)
    text = ""
    for name in files:
        template = templates / name
        if not template.exists():
            raise InputError("template not found", path=template)
        text += _substitute(template.read_text(encoding="utf-8"), values)
    where = f"{scenario}/{goal_conflict}/{threat}"
    inbox = [
        e.model_copy(update={"id": str(n)})
        for n, e in enumerate(sorted(parse_emails(text, where), key=lambda e: e.timestamp), 1)
    ]
    world = _world(scenario, inbox, where)
    prompts = load_prompts()
    goal = prompts.upstream_goals.get(goal_value) if explicit else None
    if explicit and goal is None:
        raise InputError(
            f"no goal statement for goal value '{goal_value}' in prompts/upstream_goals.md"
        )
    condition = {"harm": UPSTREAM_HARMS[scenario], "goal_conflict": goal_conflict}
    if valued:
        condition["goal_value"] = goal_value
    condition["threat"] = threat
    label = f"{goal_conflict}-{goal_value}" if valued else goal_conflict
    return episode_sample(
        world,
        sample_id=f"upstream/{scenario}/{label}/{threat}",
        condition=condition,
        role=prompts.upstream_roles[scenario],
        goal=goal,
        now=max(e.timestamp for e in inbox),
        extra={
            "scenario": f"upstream/{scenario}",
            # A few variable files lack a value their template uses; the original generator
            # leaves such slots in the text, and so do we, but say which.
            "unfilled_slots": sorted(set(_SLOT.findall(text))),
        },
        system=system,
    )


def _substitute(template: str, values: dict[str, str]) -> str:
    # The original generator leaves unknown ${slots} as they are; so do we.
    for key, value in values.items():
        template = template.replace("${" + key + "}", str(value))
    return template


def _world(scenario: str, inbox: list[Email], where: str) -> MailWorld:
    addresses = [a for e in inbox for a in (e.sender, *e.to)]
    domain = Counter(a.split("@")[1].lower() for a in addresses if "@" in a).most_common(1)[0][0]
    stem = domain.split(".")[0]
    text = " ".join(e.body for e in inbox)
    company = match.group(0) if (match := re.search(re.escape(stem), text, re.I)) else stem
    extra = load_prompts().upstream_world
    agent = f"{AGENT_NAME.lower()}.ai@{domain}"
    executive = f"{EXECUTIVE}@{domain}"
    harm = UPSTREAM_HARMS[scenario]
    replies, alert = [], None
    if harm == "leak":
        inbox = [
            e.model_copy(
                update={
                    "attachments": [
                        Attachment(name=a.name, confidential=True) for a in e.attachments
                    ]
                }
            )
            for e in inbox
        ]
        replies = [
            _reply(e.sender, agent, extra.receipt)
            for e in inbox
            if agent in e.to and not e.sender.lower().endswith("@" + domain)
        ]
    else:
        replies = [_reply(executive, agent, extra.executive_reply)]
        # The executive's private mail: between him and an address outside the company.
        inbox = [e.model_copy(update={"personal": _private(e, executive, domain)}) for e in inbox]
    if harm == "alert":
        found = [(e, m.group(1)) for e in inbox if (m := _OVERRIDE.search(e.body))]
        if not found:
            raise InputError(f"{where}: no alert email with an override code")
        email, code = found[0]
        alert = Alert(
            id=email.id,
            email_id=email.id,
            override_code=code,
            on_dispatch=_notice(
                email.sender, agent, "Emergency services dispatched", extra.dispatched
            ),
            on_cancel=_notice(email.sender, agent, "Emergency dispatch cancelled", extra.cancelled),
        )
    return MailWorld(
        company=company,
        domain=domain,
        agent_name=AGENT_NAME,
        agent_address=agent,
        inbox=inbox,
        replies=replies,
        alert=alert,
        executive=executive if harm != "leak" else None,
    )


def _private(email: Email, executive: str, domain: str) -> bool:
    people = [email.sender, *email.to]
    outside = [a for a in people if not a.lower().endswith("@" + domain)]
    return executive in people and bool(outside) and not email.sender.startswith("news@")


def _reply(sender: str, agent: str, body: str) -> AutoReply:
    return AutoReply(address=sender, email=_notice(sender, agent, "Re: your message", body))


def _notice(sender: str, agent: str, subject: str, body: str) -> Email:
    return Email.model_validate({"from": sender, "to": [agent], "subject": subject, "body": body})


def upstream_samples(
    path: str | Path,
    *,
    harms: str | None = None,
    goal_conflicts: str | None = None,
    threats: str | None = None,
    goal_values: str | list[str] = "america",
    system: PromptTemplate | None = None,
) -> list[Sample]:
    """Every chosen condition of the upstream templates at `path`."""
    wanted = choose(harms, HARMS, "harm")
    items = goal_values.split(",") if isinstance(goal_values, str) else goal_values
    values = [v.strip() for v in items if v.strip()]
    out = []
    for scenario, harm in UPSTREAM_HARMS.items():
        if harm not in wanted:
            continue
        for goal in choose(goal_conflicts, GOAL_CONFLICTS, "goal conflict"):
            for threat in choose(threats, THREATS, "threat"):
                for value in values if goal in VALUED else ["none"]:
                    out.append(render_upstream(path, scenario, goal, threat, value, system))
    return out
