"""The labelled transcripts of one judged eval, as Inspect samples.

Each line of ``labelled/<eval>.jsonl`` is one case, validated by the eval's own case type (its
`traitlab.judging.JudgedCase`); a bad line is an error naming ``file:line``, never a skipped case
(a labelled set with silent holes would measure a different set than the README describes).
"""

from __future__ import annotations

from pathlib import Path

from inspect_ai.dataset import MemoryDataset, Sample

from traitlab.errors import InputError
from traitlab.jsonl import read_jsonl
from traitlab.judging import CheckableJudge

LABELLED = Path(__file__).parent / "labelled"


def labelled_path(eval_name: str) -> Path:
    """The bundled labelled set of `eval_name`."""
    return LABELLED / f"{eval_name}.jsonl"


def labelled_dataset(judge: CheckableJudge, cases: str | Path | None = None) -> MemoryDataset:
    """One sample per labelled case: the transcript as input; the case, its labels and the
    judge's measures (in order, the headline first) in metadata.

    Args:
        judge: The eval's checkable judge (its case type reads the lines).
        cases: A JSONL file of cases in the same format (default: the bundled set).
    """
    path = Path(cases) if cases is not None else labelled_path(judge.eval)
    read = read_jsonl(path, judge.case, strict=True)
    if not len(read):
        raise InputError("no labelled cases", path=path)
    ids = [case.id for case in read]
    if duplicated := sorted({i for i in ids if ids.count(i) > 1}):
        raise InputError(f"duplicate case ids: {', '.join(duplicated)}", path=path)
    measures = [m.model_dump(mode="json") for m in judge.measures]
    samples = [
        Sample(
            id=case.id,
            input=case.transcript(),
            metadata={
                "eval": judge.eval,
                "hard_case": case.hard_case or "",
                "note": case.note,
                "measures": measures,
                "labels": case.expected(),
                "case": case.model_dump(mode="json"),
            },
        )
        for case in read
    ]
    return MemoryDataset(samples, name=f"judge_check_{judge.eval}", location=str(path))
