"""The lint's results: pre-scan findings, feature prevalences, per-item labels, the report.

These models are what `report.json` holds and what `check`, `filter` and the report writers
read, so every number in them carries its count, n and 95% Wilson interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from traitlab.lint.features import Feature, FeatureSet
from traitlab.lint.options import Level
from traitlab.llm import UsageRow
from traitlab.statistics import wilson_interval

FindingKind = Literal["opening", "closing", "phrase", "cluster", "format"]
# Formatting habits (bullets, bold, length) describe style; they are reported, never gated.
# Opening clusters are gated only when structural (`traitlab.lint.structure`).
GATED_KINDS: tuple[FindingKind, ...] = ("opening", "closing", "phrase")


class Rate(BaseModel):
    """count of n, with the share and its Wilson 95% interval (NaN when n is 0)."""

    # NaN survives a round trip through report.json (as in Inspect's logs), not null.
    model_config = ConfigDict(ser_json_inf_nan="constants")

    count: int
    n: int
    estimate: float
    low: float
    high: float

    @classmethod
    def of(cls, count: int, n: int) -> Rate:
        interval = wilson_interval(count, n)
        return cls(
            count=count, n=n, estimate=interval.estimate, low=interval.low, high=interval.high
        )

    def format(self) -> str:
        if self.n == 0:
            return "n/a"
        if math.isnan(self.estimate):
            return f"unknown [{self.low:.0%}, {self.high:.0%}]"
        return f"{self.estimate:.0%} [{self.low:.0%}, {self.high:.0%}]"


class RaterError(BaseModel):
    """The rater against an independent reference at one level: of the items the reference
    labels present, how many the rater labels present too (sensitivity), and likewise for
    absent (specificity)."""

    level: Level
    sensitivity: tuple[int, int] = Field(description="(rater present, of reference present)")
    specificity: tuple[int, int] = Field(description="(rater absent, of reference absent)")

    def format(self) -> str:
        (tp, pos), (tn, neg) = self.sensitivity, self.specificity
        return f"{self.level}: sensitivity {tp}/{pos}, specificity {tn}/{neg}"


class Location(BaseModel):
    """Where an item that shows a pattern is: its input and line (for annotations)."""

    path: str
    line: int | None = None


class Finding(BaseModel):
    """A pre-scan finding: an over-represented opening, closing, phrase, cluster or habit."""

    id: str
    kind: FindingKind
    text: str = Field(description="The pattern: normalised words, a cluster label or a habit.")
    rate: Rate
    examples: list[str] = Field(default_factory=list)
    members: list[int] = Field(default_factory=list, exclude=True, repr=False)
    variants: list[Finding] = Field(
        default_factory=list,
        description="Longer openings (closings) nested in this one; its rate includes theirs.",
    )
    where: list[Location] = Field(
        default_factory=list, description="Inputs and lines of items that show it."
    )
    structure: str | None = Field(
        default=None,
        description="An opening cluster's shared wording or form; None: a topic, not gated.",
    )

    @property
    def gated(self) -> bool:
        return self.kind in GATED_KINDS or (self.kind == "cluster" and self.structure is not None)

    def family(self) -> list[Finding]:
        """This finding and its variants."""
        return [self, *self.variants]


class LengthStats(BaseModel):
    """Item length in words."""

    mean: float
    median: float
    p10: float
    p90: float


class ProbeAgreement(BaseModel):
    """How a feature's probe (`traitlab.lint.probe`) agrees with the autorater at one level, on
    rated items it was not trained on."""

    level: Level
    precision: Rate = Field(description="Of the items the probe labels present, the rater's share.")
    recall: Rate = Field(description="Of the items the rater labels present, the probe's share.")
    rated: int = Field(description="Rated items it was trained and tested on.")
    labelled: int = Field(description="Unrated items the probe labels present.")
    unrated: int = Field(description="Unrated items it labelled.")

    def clears(self, min_precision: float, min_recall: float) -> bool:
        """Whether the lower ends of both 95% intervals clear the thresholds."""
        return self.precision.low >= min_precision and self.recall.low >= min_recall

    def format(self) -> str:
        return f"precision {self.precision.format()}, recall {self.recall.format()}"


class FeatureResult(BaseModel):
    """A feature's prevalence in the rated sample at both thresholds, with examples."""

    feature: Feature
    broad: Rate
    strict: Rate
    examples: list[str] = Field(default_factory=list)
    where: list[Location] = Field(
        default_factory=list, description="Inputs and lines of items rated strict."
    )
    corrected_broad: Rate | None = Field(
        default=None,
        description="Prevalence corrected for the rater's error measured against the "
        "reference (`LintReport.reference`); None when no reference was given.",
    )
    corrected_strict: Rate | None = None
    rater_error: list[RaterError] = Field(
        default_factory=list,
        description="The rater's sensitivity and specificity against the reference, per level.",
    )
    consistency: dict[str, float] = Field(
        default_factory=dict,
        description="Share of re-rated items the rater labelled the same way twice, per level: "
        "its consistency, not its accuracy (a rater repeats its own mistakes).",
    )
    probes: list[ProbeAgreement] = Field(
        default_factory=list, description="Probes that label the unrated items, per level."
    )

    def probe(self, level: Level) -> ProbeAgreement | None:
        return next((p for p in self.probes if p.level == level), None)

    def level(self, level: Level) -> Rate:
        return self.broad if level == "broad" else self.strict

    def corrected(self, level: Level) -> Rate | None:
        return self.corrected_broad if level == "broad" else self.corrected_strict

    def gated_rate(self, level: Level) -> Rate:
        """What the report shows and the gate compares: the corrected prevalence where a
        reference measured the rater's error, else the rater's own (uncorrected) rate."""
        return self.corrected(level) or self.level(level)

    def rate_label(self, level: Level) -> str:
        """Says which figure `gated_rate` is."""
        if self.corrected(level) is not None:
            return f"{level}, corrected"
        return f"{level}, uncorrected"


class SourceInfo(BaseModel):
    """One input of the lint: path (or "-"), content hash, record kind and counts (filled in
    while it is read)."""

    path: str
    sha256: str
    kind: str
    records: int = 0
    items: int = 0
    errors: int = 0
    bad_lines: list[int] = Field(default_factory=list, description="Malformed lines skipped.")


class ItemLabels(BaseModel):
    """One labels.jsonl row: the patterns found in one item.

    `labels` maps a pre-scan finding id or a feature id to "broad" or "strict" (pre-scan
    findings are exact matches and count as strict); absent ids are not present. `rated` says
    whether the item was in the autorated sample, so an absent feature means "none" only then.
    `probe` holds an unrated item's labels from the features' probes (`traitlab.lint.probe`),
    kept apart: a probe's guess is not the rater's rating.
    """

    index: int
    id: str
    source: int = 0
    line: int | None = None
    turn: int | None = None
    rated: bool = False
    labels: dict[str, Level] = Field(default_factory=dict)
    probe: dict[str, Level] = Field(default_factory=dict)


class LintReport(BaseModel):
    """Everything one lint run found (written as report.json beside the other report files)."""

    source: str
    sha256: str = Field(description="Digest of every input's content hash (order-free).")
    kind: str
    turns: str
    unit: Literal["reply", "record"] = Field(
        default="record", description="What a prevalence counts: replies or whole records."
    )
    n_items: int
    records: int = 0
    sources: list[SourceInfo] = Field(default_factory=list)
    run_id: str = Field(default="", description="Ties labels.jsonl to this report.")
    labels_sha256: str = Field(default="", description="Content hash of labels.jsonl.")
    errors: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    length: LengthStats | None = None
    model: str | None = None
    features: list[FeatureResult] = Field(default_factory=list)
    rated: int = 0
    unrated: int = 0
    reference: str | None = Field(
        default=None,
        description="What the rater's error was measured against (a reference model, hand "
        "labels) and on how many items; None: the prevalences are uncorrected.",
    )
    rechecked: int = Field(default=0, description="Rated items the rater rated again.")
    checks: list[str] = Field(
        default_factory=list, description="The checks that ran, in words (what was looked at)."
    )
    cannot_see: list[str] = Field(
        default_factory=list, description="Patterns those checks cannot see, in words."
    )
    detection_floor: float | None = Field(
        default=None,
        description="Prevalence below which the scan likely missed a pattern (90% to find "
        "one at this share, with an ideal scanner); None when no scan ran.",
    )
    usage: list[UsageRow] = Field(default_factory=list)
    labels: Sequence[ItemLabels] = Field(
        default_factory=list,
        exclude=True,
        description="labels.jsonl's rows (after a lint, built when read: `lint.labels`).",
    )

    @property
    def units(self) -> str:
        """`unit_name` in the plural."""
        return "replies" if self.unit_name == "reply" else f"{self.unit_name}s"

    @property
    def unit_name(self) -> str:
        """What one item is, in words ("reply", "record", "document")."""
        if self.unit == "reply" and self.kind in ("chat", "eval"):
            return "reply"
        return {"document": "document", "preference": "preference pair"}.get(self.kind, "record")

    def all_findings(self) -> list[Finding]:
        """Every finding, the variants nested in a family included (each has its own labels)."""
        return [member for finding in self.findings for member in finding.family()]

    def feature_set(self) -> FeatureSet:
        """The features of this run, for features.json (reusable by check and scorers)."""
        return FeatureSet(source=self.source, features=[r.feature for r in self.features])

    def correction_line(self) -> str | None:
        """One line on what the feature prevalences are (None without LLM features)."""
        if not self.features:
            return None
        if self.reference:
            return f"feature prevalences corrected for the rater's error against {self.reference}"
        consistency = (
            f"; its consistency ({self.rechecked} items rated twice) is not a correction"
            if self.rechecked
            else ""
        )
        return (
            "feature prevalences are uncorrected, rater error unmeasured (give "
            f"--reference-model or --hand-labels){consistency}"
        )

    def top_patterns(self, k: int = 5) -> list[tuple[str, Rate]]:
        """The `k` most prevalent patterns: LLM features (strict) first, then gated findings."""
        ranked: list[tuple[str, Rate]] = sorted(
            ((r.feature.name, r.gated_rate("strict")) for r in self.features),
            key=lambda item: -item[1].estimate,
        )
        ranked += sorted(
            ((f"{f.kind}: {f.text}", f.rate) for f in self.findings if f.gated),
            key=lambda item: -item[1].estimate,
        )
        return ranked[:k]
