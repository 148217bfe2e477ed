"""Scorers that two or more evals share.

An eval's own scorer lives in its folder (`traitlab/evals/<name>/scorer.py`); the score values and
metrics every scorer uses are in `traitlab.scores`, the judge call in `traitlab.judging`.

- `eval_awareness`: did the target say or show that it believed it was being tested (with a
  verified quote)? `judge_awareness` is the same check as a function for a scorer to call, over
  `agent_transcript(state)`.
"""

from traitlab.scorers._awareness import (
    AwarenessVerdict,
    agent_transcript,
    eval_awareness,
    judge_awareness,
)

__all__ = [
    "AwarenessVerdict",
    "agent_transcript",
    "eval_awareness",
    "judge_awareness",
]
