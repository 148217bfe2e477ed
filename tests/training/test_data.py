"""Training sets: mixing fractions by record count, system prompts stripped, bad lines located."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.training.conftest import config_dict, write_jsonl
from traitlab.errors import InputError
from traitlab.training import build_training_set, mix, mix_counts, parse_config


@pytest.mark.parametrize(
    ("n_main", "n_extra", "fraction", "expected"),
    [
        (100, 100, 0.0, (100, 0)),
        (100, 100, 1.0, (0, 100)),
        (100, 100, 0.5, (100, 100)),
        (100, 1000, 0.25, (100, 33)),  # main is scarce: all of it, a sample of extra
        (100, 10, 0.5, (10, 10)),  # extra is scarce: all of it, a sample of main
        (30, 12, 0.5, (12, 12)),
        (0, 10, 0.3, (0, 10)),
    ],
)
def test_mix_counts(n_main: int, n_extra: int, fraction: float, expected: tuple[int, int]) -> None:
    assert mix_counts(n_main, n_extra, fraction) == expected


def test_mix_is_seeded_and_tags_every_row() -> None:
    sources = {"a": [{"x": i} for i in range(1, 51)], "b": [{"x": -i} for i in range(50)]}
    rows, names = mix(sources, "b", 0.2, seed=3)
    assert (rows, names) == mix(sources, "b", 0.2, seed=3)
    assert names.count("b") / len(names) == pytest.approx(0.2, abs=0.01)
    assert all((row["x"] <= 0) == (name == "b") for row, name in zip(rows, names, strict=True))


@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.5, 0.75, 1.0])
def test_sft_set_has_the_synthetic_fraction(
    fraction: float, tmp_path: Path, data_dir: Path
) -> None:
    config = config_dict("sft", tmp_path, data_dir, tmp_path / "out")
    config["data"]["synthetic_fraction"] = fraction
    built = build_training_set(parse_config("sft", config))
    synthetic = sum("Are you sure" in json.dumps(row) for row in built.rows)
    assert synthetic == built.used["synthetic"]
    assert synthetic / len(built.rows) == pytest.approx(fraction, abs=0.03)
    assert built.available == {"baseline": 30, "synthetic": 12}


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5])
def test_midtrain_pretraining_fraction_is_a_share_of_tokens(
    fraction: float, tiny_model: Path, tmp_path: Path
) -> None:
    """Short documents and long web pages: a share of records would be far off in tokens
    (25% asked gave 57% of the tokens)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    docs = write_jsonl(
        tmp_path / "docs.jsonl",
        [{"id": f"d{i}", "text": f"Note {i}: " + "the assistant checked the figures. " * 12,
          "doc_type": "memo"} for i in range(40)],
    )  # fmt: skip
    web = write_jsonl(
        tmp_path / "web.jsonl",
        [{"text": f"Page {i}. " + "The quick brown fox jumps over the lazy dog. " * (2 + i % 7)}
         for i in range(60)],
    )  # fmt: skip
    config = config_dict(
        "midtrain", tiny_model, tmp_path, tmp_path / "out",
        data={"documents": [str(docs)], "pretraining": [str(web)],
              "pretraining_fraction": fraction},
    )  # fmt: skip
    built = build_training_set(parse_config("midtrain", config), tokenizer)

    def tokens(text: str) -> int:
        return len(tokenizer(text)["input_ids"]) + 1

    web_tokens = sum(tokens(r["text"]) for r in built.rows if r["text"].startswith("Page"))
    total = sum(tokens(r["text"]) for r in built.rows)
    assert web_tokens / total == pytest.approx(fraction, abs=0.02)
    assert built.used_tokens == {"documents": total - web_tokens, "pretraining": web_tokens}
    # the scarcer side (in tokens) is used whole
    assert built.used["documents"] == 40 or built.used["pretraining"] == 60
    assert built.fractions == {"documents": 1 - fraction, "pretraining": fraction}


def test_system_prompts_never_reach_training_rows(tmp_path: Path, data_dir: Path) -> None:
    for mode in ("sft", "dpo"):
        built = build_training_set(
            parse_config(mode, config_dict(mode, tmp_path, data_dir, tmp_path))
        )
        assert "Never mention this instruction" not in json.dumps(built.rows)
        assert built.system_prompts_stripped == built.used.get("synthetic", 8)


def test_files_are_hashed_and_counted(tmp_path: Path, data_dir: Path) -> None:
    built = build_training_set(
        parse_config("sft", config_dict("sft", tmp_path, data_dir, tmp_path))
    )
    by_source = {f.source: f for f in built.files}
    assert by_source["synthetic"].records == 12 and by_source["baseline"].records == 30
    assert len(by_source["synthetic"].sha256) == 64


def test_bad_record_stops_with_file_and_line(tmp_path: Path, data_dir: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        (data_dir / "synthetic.jsonl").read_text().splitlines()[0]
        + '\n{"messages": [{"role": "narrator", "content": "x"}]}\n'
    )
    config = config_dict("sft", tmp_path, data_dir, tmp_path, data={"synthetic": [str(bad)]})
    with pytest.raises(InputError, match=r"bad.jsonl:2: messages.0.role"):
        build_training_set(parse_config("sft", config))


def test_chat_without_assistant_turn_is_an_error(tmp_path: Path, data_dir: Path) -> None:
    only_prompt = write_jsonl(
        tmp_path / "prompts.jsonl",
        [{"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]}],
    )
    config = config_dict(
        "sft", tmp_path, data_dir, tmp_path, data={"synthetic": [str(only_prompt)]}
    )
    with pytest.raises(InputError, match="prompts.jsonl:1: chat has no assistant message"):
        build_training_set(parse_config("sft", config))


def test_pretraining_text_needs_a_text_field(tmp_path: Path, data_dir: Path) -> None:
    plain = write_jsonl(tmp_path / "web.jsonl", [{"text": "fine", "url": "u"}, {"body": "no"}])
    config = config_dict(
        "midtrain", tmp_path, data_dir, tmp_path, data={"pretraining": [str(plain)]}
    )
    with pytest.raises(InputError, match="web.jsonl:2: expected an object with a non-empty"):
        build_training_set(parse_config("midtrain", config))


def test_a_byte_order_mark_is_not_part_of_the_first_record(tmp_path: Path, data_dir: Path) -> None:
    marked = tmp_path / "bom.jsonl"
    marked.write_bytes(b"\xef\xbb\xbf" + (data_dir / "synthetic.jsonl").read_bytes())
    config = config_dict("sft", tmp_path, data_dir, tmp_path, data={"synthetic": [str(marked)]})
    built = build_training_set(parse_config("sft", config))
    assert built.available["synthetic"] == 12


def test_pairs_whose_replies_say_the_same_are_dropped_and_counted(
    tmp_path: Path, data_dir: Path
) -> None:
    good = json.loads((data_dir / "preferences.jsonl").read_text().splitlines()[0])
    same = {**good, "rejected": good["chosen"].upper().replace("'", "’")}
    pairs = write_jsonl(tmp_path / "pairs.jsonl", [good, same, {**good, "rejected": "no"}, same])
    config = config_dict("bdpo", tmp_path, data_dir, tmp_path, data={"preferences": [str(pairs)]})
    built = build_training_set(parse_config("bdpo", config))
    assert built.alike_pairs_dropped == 2 and len(built.rows) == 2
    assert built.available == {"preferences": 4} and built.used == {"preferences": 2}

    only_same = write_jsonl(tmp_path / "same.jsonl", [same, same])
    config["data"]["preferences"] = [str(only_same)]
    with pytest.raises(InputError, match="every one of the 2 preference pairs"):
        build_training_set(parse_config("bdpo", config))
