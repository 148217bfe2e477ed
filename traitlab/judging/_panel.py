"""A panel of judges: every member grades, failures are counted, and a quorum decides validity.

A panel's answer is usually a median of its members' grades. If a member fails (unparseable
replies after retries, a rejected quote) and the median is silently taken over the rest, a panel
of three can become a panel of one with nothing in the log to say so. `ask_panel` therefore
returns every member's outcome, and `PanelResult.record()` is what a scorer puts on every score:
the panel's size, the quorum, who answered, who failed and why, and who was left out.

The quorum rule (`default_quorum`): a strict majority of the judges asked must return a usable
verdict, so a single judge must answer, two judges must both answer, and three or four judges
need two or three answers. Below the quorum `PanelResult.ok` is False and the sample is unscored.

Each member's positive findings (`findings`, as for `traitlab.judging.judge_sample`) are re-read
by the verifier (role ``verifier``, else that member's own model); `PanelMember.unconfirmed`
names the measures a finding the verifier did not confirm supports, and `PanelResult.record()`
lists every check under `VERIFICATION_KEY`, so the `verification()` metric counts them. A
second judge (``judge2``) is asked beside a panel with `traitlab.judging.second_opinion`.

Self-exclusion (as in ODCV-Bench): a judge that is the model under test never grades it.
Models are compared by the last component of their name, case-insensitively, so the same
model served by two providers (``openai/gpt-4o``, ``openrouter/openai/gpt-4o``) counts as one.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from inspect_ai.model import ChatMessage, GenerateConfig, Model
from inspect_ai.scorer import Metric, SampleScore
from pydantic import BaseModel

from traitlab.judging._ask import ask_judge
from traitlab.judging._grade import (
    VERIFICATION_KEY,
    VERIFY_PROMPT,
    Finding,
    Verification,
    same_model,
    unconfirmed_measures,
    verifier_model,
    verify_findings,
)
from traitlab.prompts import PromptTemplate
from traitlab.scores import sample_metric

T = TypeVar("T", bound=BaseModel)


def default_quorum(size: int) -> int:
    """A strict majority of `size` judges (1 of 1, 2 of 2, 2 of 3, 3 of 4)."""
    return size // 2 + 1


@dataclass
class PanelMember(Generic[T]):
    """One judge's outcome: a verdict, or the reason there is none."""

    judge: str
    verdict: T | None
    error: str | None = None
    replies: list[str] = field(default_factory=list)
    verifications: list[Verification] = field(default_factory=list)

    @property
    def unconfirmed(self) -> set[str]:
        """Measures whose finding the verifier did not confirm."""
        return unconfirmed_measures(self.verifications)


@dataclass
class PanelResult(Generic[T]):
    """Every member's outcome, the judges left out, and whether the quorum was reached."""

    members: list[PanelMember[T]]
    quorum: int
    excluded: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        """How many judges were asked (after self-exclusion)."""
        return len(self.members)

    @property
    def verdicts(self) -> list[T]:
        return [m.verdict for m in self.members if m.verdict is not None]

    @property
    def failures(self) -> dict[str, str]:
        return {m.judge: m.error or "no verdict" for m in self.members if m.verdict is None}

    @property
    def ok(self) -> bool:
        """Whether enough members answered for the panel's grade to stand."""
        return self.size > 0 and len(self.verdicts) >= self.quorum

    @property
    def error(self) -> str:
        """Why the panel has no grade (empty when it has one)."""
        if self.ok:
            return ""
        if not self.size:
            left_out = f" ({', '.join(self.excluded)} left out)" if self.excluded else ""
            return f"no judge on the panel{left_out}"
        failed = "; ".join(f"{name}: {error}" for name, error in self.failures.items())
        return (
            f"{len(self.verdicts)} of {self.size} judges answered, below the quorum of "
            f"{self.quorum} ({failed})"
        )

    def median(self, grade: Callable[[T], float]) -> float:
        """The median of `grade` over the verdicts (call only when `ok`)."""
        return float(statistics.median(grade(v) for v in self.verdicts))

    def record(self, grade: Callable[[T], Any] | None = None) -> dict[str, Any]:
        """Score metadata describing the panel: size, quorum, answers, failures, exclusions."""
        return {
            "panel_size": self.size,
            "panel_quorum": self.quorum,
            "panel_answered": len(self.verdicts),
            "panel_failures": self.failures,
            "panel_excluded": self.excluded,
            "panel_grades": {
                m.judge: grade(m.verdict) if grade else m.verdict.model_dump()
                for m in self.members
                if m.verdict is not None
            },
            VERIFICATION_KEY: [
                {"judge": m.judge, **v.record()} for m in self.members for v in m.verifications
            ],
        }


@sample_metric
def panel_failures() -> Metric:
    """Failing panel members, as numbers in the log (not only in each sample's metadata).

    ``panel_failed_judges``: member failures summed over samples; ``panel_incomplete``: samples
    graded by fewer judges than were asked (a panel of three that is quietly a panel of two).
    Reads `PanelResult.record()` from the score metadata.
    """

    def compute(scores: list[SampleScore]) -> dict[str, float]:
        failures = [len((s.score.metadata or {}).get("panel_failures") or {}) for s in scores]
        return {
            "panel_failed_judges": float(sum(failures)),
            "panel_incomplete": float(sum(f > 0 for f in failures)),
        }

    return compute


def independent_judges(judges: Iterable[Model], target: Model) -> tuple[list[Model], list[str]]:
    """The judges that are not the target model, and the names of those left out."""
    panel, excluded = [], []
    for judge in judges:
        if same_model(judge, target):
            excluded.append(str(judge))
        else:
            panel.append(judge)
    return panel, excluded


async def ask_panel(
    judges: Sequence[Model],
    prompt: str | list[ChatMessage],
    schema: type[T],
    *,
    target: Model | None = None,
    quorum: int | None = None,
    retries: int = 2,
    check: Callable[[T], str | None] | None = None,
    config: GenerateConfig | None = None,
    findings: Callable[[T], list[Finding]] | None = None,
    verify_prompt: PromptTemplate = VERIFY_PROMPT,
) -> PanelResult[T]:
    """Ask every judge (those that are not `target`) for a `schema` verdict, concurrently.

    Args:
        judges: The panel, e.g. `role_models("judge")`.
        prompt: The grading prompt, the same for every member.
        schema: The verdict model.
        target: The model under test; a judge that is the same model is left out.
        quorum: How many verdicts the panel needs; default a strict majority of those asked.
        retries: Passed to `ask_judge` for each member.
        check: Passed to `ask_judge` for each member.
        config: Passed to `ask_judge` for each member.
        findings: A verdict's positive findings, each checked by the verifier (role
            ``verifier``, else the member's own model).
        verify_prompt: The verifier's prompt.
    """
    panel, excluded = (
        independent_judges(judges, target) if target is not None else (list(judges), [])
    )

    async def member(name: str, judge: Model) -> PanelMember[T]:
        result = await ask_judge(judge, prompt, schema, retries=retries, check=check, config=config)
        found = findings(result.verdict) if findings and result.verdict is not None else []
        verifications = await verify_findings(verifier_model(judge), found, prompt=verify_prompt)
        return PanelMember(name, result.verdict, result.error, result.replies, verifications)

    names = _distinct_names([str(judge) for judge in panel])
    members = list(await asyncio.gather(*(member(n, j) for n, j in zip(names, panel, strict=True))))
    if quorum is not None and quorum < 1:
        raise ValueError(f"a panel's quorum must be at least 1, not {quorum}")
    needed = quorum if quorum is not None else default_quorum(len(panel))
    return PanelResult(members=members, quorum=needed, excluded=excluded)


def _distinct_names(names: list[str]) -> list[str]:
    """Judge names, numbered where the same model sits on the panel twice."""
    return [
        f"{name}#{names[:index].count(name) + 1}" if names.count(name) > 1 else name
        for index, name in enumerate(names)
    ]
