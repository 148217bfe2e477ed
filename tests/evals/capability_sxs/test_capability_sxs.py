"""End to end: position swapping cancels a biased judge; self-comparison is 50%."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from inspect_ai import eval
from inspect_ai.model import ChatMessage, GenerateConfig, ModelOutput
from inspect_ai.tool import ToolInfo

from tests.helpers import metrics, run_task, scripted
from traitlab.errors import InputError
from traitlab.evals.capability_sxs.capability_sxs import capability_sxs
from traitlab.evals.capability_sxs.dataset import sxs_dataset
from traitlab.evals.capability_sxs.scorer import PairVerdict
from traitlab.evals.capability_sxs.solver import read_baseline_answers
from traitlab.judging import parse_structured

# One prompt per category, so per-category metrics are exercised without running all 110.
SUBSET = ["writing-01", "coding-01", "maths-01", "advice-01", "facts-01"]


def biased_judge(messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig) -> str:
    """Prefers a '[better]' answer; otherwise always the first one shown (position bias)."""
    text = messages[0].text
    a = re.search(r"<response_a>\n(.*?)\n</response_a>", text, re.S).group(1)
    b = re.search(r"<response_b>\n(.*?)\n</response_b>", text, re.S).group(1)
    better = "B" if "[better]" in b and "[better]" not in a else "A"
    return json.dumps({"explanation": "scripted", "better": better})


def plain(messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig) -> str:
    return f"An answer to: {messages[-1].text}"


def better(messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig) -> str:
    return f"[better] A careful answer to: {messages[-1].text}"


def run(tmp_path: Path, target, roles, **task_args):  # noqa: ANN001, ANN201
    return run_task(
        capability_sxs(**task_args, breakdowns=True),
        scripted(policy=target),
        tmp_path,
        model_roles=roles,
        sample_id=SUBSET,
    )


def test_model_against_itself_is_half_despite_a_biased_judge(tmp_path: Path) -> None:
    roles = {"baseline": scripted("b", policy=plain), "judge": scripted("j", policy=biased_judge)}
    log = run(tmp_path, plain, roles)
    values = metrics(log)
    assert values["win_mean"] == 0.5 and values["win_mean_n"] == 5
    assert values["win_mean(category=maths)"] == 0.5
    # The judge picked the first answer both times: the swap is what brought it to 50%.
    assert values["consistent_rate"] == 0.0
    score = log.samples[0].scores["pairwise_judge"]
    assert score.metadata["target_shares"] == [1.0, 0.0]
    assert score.metadata["baseline_source"].startswith("role:scripted/b")


def test_always_better_target_wins_every_pair(tmp_path: Path) -> None:
    roles = {"baseline": scripted("b", policy=plain), "judge": scripted("j", policy=biased_judge)}
    values = metrics(run(tmp_path, better, roles))
    assert values["win_mean"] == 1.0 and values["consistent_rate"] == 1.0
    assert values["consistent_rate_ci_low"] > 0.5


def test_a_judge_prompt_override(tmp_path: Path) -> None:
    seen: list[str] = []

    def judge(messages, tools, config):  # noqa: ANN001, ANN202
        seen.append(messages[0].text)
        return biased_judge(messages, tools, config)

    roles = {"baseline": scripted("b", policy=plain), "judge": scripted("j", policy=judge)}
    override = (
        "House rules for $prompt.\n<response_a>\n$a\n</response_a>\n<response_b>\n$b\n</response_b>"
    )
    values = metrics(run(tmp_path, better, roles, judge_prompt=override))
    assert values["win_mean"] == 1.0 and all(text.startswith("House rules for") for text in seen)


def test_baseline_answers_from_a_file_and_missing_ids_are_flagged(tmp_path: Path) -> None:
    answers = tmp_path / "baseline.jsonl"
    lines = [{"id": sample_id, "answer": "[better] stored"} for sample_id in SUBSET[:4]]
    answers.write_text("".join(json.dumps(line) + "\n" for line in lines))
    log = run(
        tmp_path,
        plain,
        {"judge": scripted("j", policy=biased_judge)},
        baseline_answers=str(answers),
    )
    values = metrics(log)
    assert values["win_mean"] == 0.0 and values["win_mean_n"] == 4 and values["flagged"] == 1
    flagged = next(s for s in log.samples if s.id == "facts-01").scores["pairwise_judge"]
    assert "no baseline answer for id 'facts-01'" in flagged.explanation


@pytest.mark.slow
@pytest.mark.parametrize(
    "reply",
    [
        "",
        ModelOutput.from_content("scripted/b", "I can", stop_reason="content_filter"),
    ],
    ids=["empty", "content_filter"],
)
def test_baseline_that_gives_no_answer_is_flagged_not_beaten(
    tmp_path: Path, reply: str | ModelOutput
) -> None:
    roles = {
        "baseline": scripted("b", policy=lambda *_: reply),
        "judge": scripted("j", policy=biased_judge),
    }
    log = run(tmp_path, better, roles)
    values = metrics(log)
    assert values["flagged"] == 5 and values["win_mean_n"] == 0
    score = log.samples[0].scores["pairwise_judge"]
    assert "the baseline gave no answer" in score.explanation


@pytest.mark.slow
def test_unreadable_judge_leaves_the_pair_unscored(tmp_path: Path) -> None:
    roles = {"baseline": scripted("b", policy=plain), "judge": scripted("j", policy=lambda *_: "?")}
    values = metrics(run(tmp_path, plain, roles))
    assert values["unscored"] == 5 and values["win_mean_n"] == 0


def test_missing_baseline_role_fails_with_a_clear_message(tmp_path: Path) -> None:
    [log] = eval(
        capability_sxs(breakdowns=True),
        model=scripted(policy=plain),
        model_roles={"judge": scripted("j", policy=biased_judge)},
        log_dir=str(tmp_path),
        display="none",
        limit=1,
    )
    assert log.status == "error" and "model role 'baseline' is not set" in log.error.message


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('{"explanation": "x", "better": "a"}', "A"),
        ('{"explanation": "x", "better": "**B**"}', "B"),
        ('{"explanation": "x", "better": "Response A"}', "A"),
        ('{"explanation": "x", "better": "Tie"}', "tie"),
    ],
)
def test_verdicts_are_read_tolerantly(reply: str, expected: str) -> None:
    assert parse_structured(reply, PairVerdict).better == expected


def test_bundled_prompts_cover_every_category() -> None:
    dataset = sxs_dataset()
    assert len(dataset) >= 100 and len({s.id for s in dataset}) == len(dataset)
    categories = [s.metadata["category"] for s in dataset]
    assert all(categories.count(c) >= 20 for c in set(categories)) and len(set(categories)) == 5


def test_baseline_file_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "answers.jsonl"
    path.write_text('{"id": "a", "answer": "x"}\n{"id": "a", "answer": "y"}\n')
    with pytest.raises(InputError, match="answers.jsonl:2: duplicate id 'a'"):
        read_baseline_answers(path)


def test_a_second_judge_that_disagrees_shows_in_the_metrics(tmp_path: Path) -> None:
    # The judge sees the better answer; a second judge that always picks the first answer shown
    # agrees on one order and disagrees on the other, for every sample it re-grades.
    def first(messages, tools, config):  # noqa: ANN001, ANN202
        return json.dumps({"explanation": "scripted", "better": "A"})

    roles = {
        "baseline": scripted("b", policy=plain),
        "judge": scripted("j", policy=biased_judge),
        "judge2": scripted("j2", policy=first),
    }
    log = run_task(
        capability_sxs(judge2_share=1.0),  # the default view carries the agreement
        scripted(policy=better),
        tmp_path,
        model_roles=roles,
        sample_id=SUBSET[:2],
    )
    values = metrics(log)
    assert values["win_mean"] == 1.0  # the judge's grade stands
    assert values["judge2_samples"] == 2
    assert values["judge2_disagreements(measure=preference)"] == 2  # the baseline-first order
    assert values["judge2_accuracy(measure=preference)"] == 0.5
    score = log.samples[0].scores["pairwise_judge"]
    assert score.metadata["judge2_disagreements"] == {
        "preference[order=baseline_first]": {"judge": 1.0, "judge2": 0.0}
    }
