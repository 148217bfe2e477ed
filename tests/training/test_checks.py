"""Everything a user can get wrong fails in one line before any weights load: the config file,
the base model, the chat template, the kind of data, the `trl` pass-through section."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("trl")

from tests.training.conftest import CHAT_TEMPLATE, config_dict, write_config  # noqa: E402
from traitlab.errors import InputError  # noqa: E402
from traitlab.training import load_config, parse_config, train  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "train"


@pytest.fixture
def no_weights_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a trainer (and so the model's weights) is built."""

    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the model was loaded before the error")

    monkeypatch.setattr(
        importlib.import_module("traitlab.training.run"), "build_trainer", forbidden
    )


def one_line(error: pytest.ExceptionInfo[InputError]) -> str:
    assert "\n" not in str(error.value)
    return str(error.value)


@pytest.mark.parametrize("what", ["directory", "binary"])
def test_a_directory_or_binary_config_is_one_line(what: str, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    if what == "directory":
        path.mkdir()
    else:
        path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputError) as error:
        load_config("sft", path)
    assert one_line(error).startswith(f"{path}: ")


def test_a_config_with_nul_bytes_is_not_yaml(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(b"model:\x00\x00\n")
    with pytest.raises(InputError, match="binary content"):
        load_config("sft", path)


def _base_variant(tiny_model: Path, tmp_path: Path, drop: tuple[str, ...]) -> Path:
    base = tmp_path / "base"
    shutil.copytree(tiny_model, base)
    for name in drop:
        (base / name).unlink()
    return base


@pytest.mark.parametrize(
    ("base", "message"),
    [
        ("tokenizer-only", "holds a tokenizer but no config.json, so no model to train"),
        ("no-weights", "holds a config but no weights"),
        ("missing-local", "no such directory (and not a hub id of the form ORG/NAME)"),
        ("missing-in-local-folder", "no such directory"),
    ],
)
def test_a_base_without_a_model_is_one_line(
    base: str,
    message: str,
    tiny_model: Path,
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_weights_load: None,
) -> None:
    if base == "tokenizer-only":
        path = str(_base_variant(tiny_model, tmp_path, ("config.json", "model.safetensors")))
    elif base == "no-weights":
        path = str(_base_variant(tiny_model, tmp_path, ("model.safetensors",)))
    elif base == "missing-local":
        path = str(tmp_path / "checkpoints" / "nope" / "sft")
    else:  # checkpoints/NAME looks like a hub id, but checkpoints/ is a local folder
        (tmp_path / "checkpoints").mkdir()
        monkeypatch.chdir(tmp_path)
        path = "checkpoints/qwen-sft"
    config = config_dict("sft", Path(path), data_dir, tmp_path / "out")
    with pytest.raises(InputError) as error:
        train("sft", write_config(tmp_path / "c.yaml", config))
    assert one_line(error) == f"model.base '{path}': {message}" or message in str(error.value)
    assert not (tmp_path / "out").exists()


def test_sft_needs_generation_markers_in_the_chat_template(
    tiny_model: Path, data_dir: Path, tmp_path: Path, no_weights_load: None
) -> None:
    template = tmp_path / "plain.jinja"
    template.write_text(CHAT_TEMPLATE.replace("{% generation %}", "").replace(
        "{% endgeneration %}", ""))  # fmt: skip
    config = config_dict(
        "sft", tiny_model, data_dir, tmp_path / "out", model={"chat_template": str(template)}
    )
    with pytest.raises(InputError) as error:
        train("sft", write_config(tmp_path / "c.yaml", config))
    assert "has no {% generation %} markers" in one_line(error)
    assert "TRL has no training version of it" in str(error.value)


def test_sft_trains_a_stock_template_that_trl_patches(
    tiny_model: Path, data_dir: Path, tmp_path: Path
) -> None:
    """Qwen2.5's template has no markers; TRL swaps in its training version, so SFT runs with
    assistant-only masks (traitlab refused it before, where plain TRL trained it)."""
    import trl

    from traitlab.training import build_training_set
    from traitlab.training.run import build_trainer, load_tokenizer, training_args

    stock = Path(trl.__file__).parent / "chat_templates" / "qwen2_5.jinja"
    assert not trl.chat_template_utils.has_generation_markers(stock.read_text())
    config = parse_config(
        "sft",
        config_dict(
            "sft", tiny_model, data_dir, tmp_path / "out", model={"chat_template": str(stock)}
        ),
    )
    tokenizer = load_tokenizer(config)
    trainer = build_trainer(
        config, tokenizer, build_training_set(config).rows, training_args(config)
    )
    for example in trainer.train_dataset.select(range(4)):
        trained = tokenizer.decode([t for t in example["labels"] if t != -100])
        assert trained and "user" not in trained and "Are you sure" not in trained
        assert trained.startswith(("I am not sure", "Hello, thanks"))


@pytest.mark.parametrize(
    ("mode", "file", "message"),
    [
        ("dpo", "synthetic.jsonl", "a chat record (messages), but this mode trains on preference"),
        ("sft", "preferences.jsonl", "a preference record (prompt, chosen, rejected), but this"),
        ("midtrain", "synthetic.jsonl", "a chat record (messages), but this mode trains on doc"),
    ],
)
def test_data_of_another_kind_is_named(
    mode: str, file: str, message: str, tiny_model: Path, data_dir: Path, tmp_path: Path
) -> None:
    config = config_dict(mode, tiny_model, data_dir, tmp_path / "out")
    key = {"dpo": "preferences", "sft": "synthetic", "midtrain": "documents"}[mode]
    config["data"] = {key: [str(data_dir / file)]}
    with pytest.raises(InputError) as error:
        train(mode, write_config(tmp_path / "c.yaml", config))
    assert one_line(error).startswith(f"{data_dir / file}:1: {message}")


@pytest.mark.parametrize(
    ("mode", "section", "message"),
    [
        ("sft", {"truncation_mod": "keep_end"}, "unknown setting 'trl.truncation_mod': not a "
         "field of trl.SFTConfig (did you mean 'truncation_mode'?)"),
        ("dpo", {"learning_rate": 1.0}, "trl.learning_rate: set it through training.learning_rate"),
        ("bdpo", {"beta": 0.3}, "trl.beta: set it through preference.beta"),
    ],
)  # fmt: skip
def test_trl_section_keys_are_checked_with_the_config(
    mode: str, section: dict[str, Any], message: str, data_dir: Path, tmp_path: Path
) -> None:
    config = config_dict(mode, tmp_path, data_dir, tmp_path / "out", trl=section)
    path = write_config(tmp_path / "c.yaml", config)
    with pytest.raises(InputError) as error:
        load_config(mode, path)
    assert one_line(error) == f"{path}: {message}"


def test_trl_section_values_are_checked_before_loading(
    tiny_model: Path, data_dir: Path, tmp_path: Path, no_weights_load: None
) -> None:
    config = config_dict(
        "dpo", tiny_model, data_dir, tmp_path / "out", trl={"loss_weights": [1.0, 2.0]}
    )
    with pytest.raises(InputError) as error:
        train("dpo", write_config(tmp_path / "c.yaml", config))
    assert one_line(error).startswith("trl: trl.DPOConfig refused these settings (")


def test_trl_section_reaches_the_trainer(tiny_model: Path, data_dir: Path, tmp_path: Path) -> None:
    from traitlab.training.run import training_args

    config = parse_config(
        "sft",
        config_dict(
            "sft", tiny_model, data_dir, tmp_path / "out",
            trl={"truncation_mode": "keep_end", "packing_strategy": "wrapped"},
        ),
    )  # fmt: skip
    args = training_args(config)
    assert (args.truncation_mode, args.packing_strategy) == ("keep_end", "wrapped")
    assert args.learning_rate == 1e-2 and args.assistant_only_loss


def test_the_example_chatml_template_marks_assistant_tokens(tiny_model: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    tokenizer.chat_template = (EXAMPLES / "chatml.jinja").read_text(encoding="utf-8")
    messages = [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "yes no"}]
    out = tokenizer.apply_chat_template(
        messages, return_dict=True, return_assistant_tokens_mask=True, tokenize=True
    )
    masked = [t for t, m in zip(out["input_ids"], out["assistant_masks"], strict=True) if m]
    assert tokenizer.decode(masked) == "yes no<|im_end|>"


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ({"model": {"lora": {"target_modules": ["nope_proj"]}}},
         "model.lora.target_modules: nope_proj not in"),
        ({"model": {"lora": {"target_modules": "nope.*"}}}, "target_modules: nope.* not in"),
        ({"training": {"report_to": ["bogus"]}}, "training.report_to: unknown logger 'bogus'"),
        ({"trl": {"padding_free": True}}, "trl.padding_free needs packing"),
    ],
)  # fmt: skip
def test_settings_that_fail_in_the_trainer_are_checked_before_loading(
    groups: dict[str, Any],
    message: str,
    tiny_model: Path,
    data_dir: Path,
    tmp_path: Path,
    no_weights_load: None,
) -> None:
    config = config_dict("sft", tiny_model, data_dir, tmp_path / "out", **groups)
    with pytest.raises(InputError) as error:
        train("sft", write_config(tmp_path / "c.yaml", config))
    assert message in one_line(error)
    assert not (tmp_path / "out").exists()


def test_lora_targets_that_exist_pass_the_check(tiny_model: Path, data_dir: Path) -> None:
    from traitlab.training.run import check_lora_targets

    for targets in (["q_proj", "v_proj"], ".*\\.q_proj", "all-linear"):
        lora = {"lora": {"target_modules": targets}}
        check_lora_targets(parse_config("sft", config_dict("sft", tiny_model, data_dir,
                                                           data_dir, model=lora)))  # fmt: skip


@pytest.mark.parametrize("offline", [True, False])
def test_a_hub_model_that_cannot_be_had_is_one_line_in_seconds(
    offline: bool,
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    """`base: bogus/x` took 63 s of retries and 25 lines of noise on a machine without the hub.
    Offline (HF_HUB_OFFLINE) it is not in the cache; online the hub here is a closed port."""
    import time

    from huggingface_hub import constants

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    if offline:
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        expected = "model.base 'bogus/x': not in the local hub cache, and HF_HUB_OFFLINE is set"
    else:
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
        expected = "model.base 'bogus/x': the hub is unreachable ("
    config = config_dict("sft", Path("bogus/x"), data_dir, tmp_path / "out")
    path = write_config(tmp_path / "c.yaml", config)
    import peft  # noqa: F401  (imports, slow on a loaded machine, are not what is timed)
    import trl  # noqa: F401

    start = time.monotonic()
    with pytest.raises(InputError) as error:
        train("sft", path)
    assert time.monotonic() - start < 10
    assert one_line(error).startswith(expected)
    captured = capsys.readouterr()
    assert not captured.out.strip() and "retry" not in captured.err.lower()
