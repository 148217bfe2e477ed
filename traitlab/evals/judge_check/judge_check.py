"""`traitlab/judge_check`: the judge is the model under test. It grades labelled transcripts of one
judged eval, prompted exactly as that eval prompts it, and is scored by its agreement with a
careful grader's labels.

Run it before a study, with the judge model and judge prompt the study will use:

    inspect eval traitlab/judge_check -T eval=trait_audit --model <judge model>

The logic lives beside this file: `dataset.py` (the labelled sets in ``labelled/``),
`solver.py` (the eval's own judge call, through `traitlab.judging.checkable_judge`) and
`scorer.py` (Cohen's kappa, accuracy and the confusion table per measure; unparsed verdicts
counted apart).
"""

from __future__ import annotations

import hashlib

from inspect_ai import Task

from traitlab.evals import discover, task
from traitlab.evals.judge_check.dataset import labelled_dataset
from traitlab.evals.judge_check.scorer import label_agreement
from traitlab.evals.judge_check.solver import ask_judge_under_test
from traitlab.judging import JUDGE_CHECK_KEY, JudgeCheckOf, checkable_judge
from traitlab.scores import HeadlineMetric, headline_metrics, headline_tags, inspect_headline

HEADLINE = headline_metrics(
    HeadlineMetric(
        metric="agreement_kappa",
        higher_is_better=True,
        description="the judge's agreement with the labels on the eval's main measure (kappa)",
        measures="capability",
    ),
    HeadlineMetric(
        metric="unparsed_share",
        higher_is_better=False,
        description="labelled items the judge gave no usable verdict for",
        measures="capability",
    ),
)


@task
def judge_check(
    eval: str = "trait_audit",
    judge_prompt: str | None = None,
    cases: str | None = None,
) -> Task:
    """Measure the model under test, as `eval`'s judge, against labelled transcripts.

    Args:
        eval: The judged eval whose judge to check: trait_audit, delusion_validation,
            agentic_misalignment, odcv, trait_knowledge or capability_sxs.
        judge_prompt: The judge prompt override the study passes to that eval (text or a
            path, with the eval's placeholders); default the eval's bundled prompt.
        cases: A JSONL file of labelled cases in the eval's format (default: the bundled
            ``labelled/<eval>.jsonl``).

    Model roles: none. The model under test (``--model``) is the judge.
    """
    discover()
    judge = checkable_judge(eval)
    prompt = judge.judge_prompt(judge_prompt)
    return Task(
        dataset=labelled_dataset(judge, cases),
        solver=ask_judge_under_test(judge, prompt),
        scorer=label_agreement(),
        metadata={
            JUDGE_CHECK_KEY: JudgeCheckOf(
                eval=eval,
                tasks=list(judge.judged_tasks),
                prompt_arg=judge.prompt_arg,
                prompt=judge_prompt,
                prompt_sha256=hashlib.sha256(prompt.template.encode()).hexdigest()[:12],
            ).model_dump(),
            **HEADLINE,
        },
        version=1,
        headline_metric=inspect_headline(HEADLINE),
        tags=headline_tags(HEADLINE),
    )
