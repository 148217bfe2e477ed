"""Bad configs fail with one line naming the file and the setting, before anything loads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.training.conftest import config_dict, write_config
from traitlab.errors import InputError
from traitlab.training import BDPOConfig, SFTConfig, load_config, parse_config
from traitlab.training.config import CONFIGS


def _broken(config: dict[str, Any], tmp_path: Path, edit: str) -> dict[str, Any]:
    data = config["data"]
    if edit == "missing data file":
        data["synthetic"] = [str(tmp_path / "absent.jsonl")]
    elif edit == "fraction above 1":
        data["synthetic_fraction"] = 1.5
    elif edit == "fraction below 0":
        data["synthetic_fraction"] = -0.1
    elif edit == "fraction without baseline":
        data["baseline"] = []
    elif edit == "unknown setting":
        config["training"]["learnig_rate"] = 1e-5
    elif edit == "missing base":
        del config["model"]["base"]
    return config


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("missing data file", "file not found: "),
        ("fraction above 1", "data.synthetic_fraction: Input should be less than or equal to 1"),
        ("fraction below 0", "data.synthetic_fraction: Input should be greater than or equal"),
        ("fraction without baseline", "data: synthetic_fraction < 1 needs `baseline` files"),
        ("unknown setting", "unknown setting 'training.learnig_rate'"),
        ("missing base", "missing setting 'model.base'"),
    ],
)
def test_bad_config_is_one_line_error(
    edit: str, message: str, tmp_path: Path, data_dir: Path
) -> None:
    config = _broken(config_dict("sft", tmp_path, data_dir, tmp_path / "out"), tmp_path, edit)
    path = write_config(tmp_path / "sft.yaml", config)
    with pytest.raises(InputError) as error:
        load_config("sft", path)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_unknown_mode(tmp_path: Path, data_dir: Path) -> None:
    path = write_config(tmp_path / "c.yaml", config_dict("sft", tmp_path, data_dir, tmp_path))
    with pytest.raises(InputError, match=r"unknown mode 'ppo' \(expected one of: midtrain, sft"):
        load_config("ppo", path)


def test_config_declaring_another_mode(tmp_path: Path, data_dir: Path) -> None:
    config = {**config_dict("sft", tmp_path, data_dir, tmp_path), "mode": "dpo"}
    with pytest.raises(InputError, match="config is for mode 'dpo', not 'sft'"):
        parse_config("sft", config)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("model:\n  base: x\ndata: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.yaml:\d+: invalid YAML"):
        load_config("sft", path)


def test_defaults_follow_the_methods(tmp_path: Path, data_dir: Path) -> None:
    minimal = {"model": {"base": "some/model"}, "output": str(tmp_path / "out")}
    sft = parse_config(
        "sft", {**minimal, "data": {"synthetic": [str(data_dir / "synthetic.jsonl")]}}
    )
    bdpo = parse_config(
        "bdpo", {**minimal, "data": {"preferences": [str(data_dir / "preferences.jsonl")]}}
    )
    assert isinstance(sft, SFTConfig) and sft.data.synthetic_fraction == 1.0
    assert isinstance(bdpo, BDPOConfig)
    assert bdpo.preference.bound_lambda == 0.5 and bdpo.preference.beta == 0.1
    assert bdpo.training.learning_rate < sft.training.learning_rate


@pytest.mark.parametrize("bound", [0.0, -0.1, 1.2])
def test_bdpo_lambda_is_in_0_to_1(bound: float, tmp_path: Path, data_dir: Path) -> None:
    config = config_dict("bdpo", tmp_path, data_dir, tmp_path, preference={"bound_lambda": bound})
    with pytest.raises(InputError, match="preference.bound_lambda"):
        parse_config("bdpo", config)


def test_bdpo_lambda_one_is_plain_dpo_and_allowed(tmp_path: Path, data_dir: Path) -> None:
    config = config_dict("bdpo", tmp_path, data_dir, tmp_path, preference={"bound_lambda": 1.0})
    assert parse_config("bdpo", config).preference.bound_lambda == 1.0  # type: ignore[union-attr]


def test_cli_prints_one_line_and_exits_2(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from traitlab.cli import main

    config = config_dict("sft", tmp_path, data_dir, tmp_path / "out")
    config["data"]["synthetic_fraction"] = 2
    path = write_config(tmp_path / "sft.yaml", config)
    monkeypatch.setattr("sys.argv", ["traitlab", "train", "sft", "--config", str(path)])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: {path}: data.synthetic_fraction")


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "train"


@pytest.mark.parametrize("mode", ["midtrain", "sft", "dpo", "bdpo"])
def test_example_configs_are_valid(mode: str) -> None:
    """The examples match the schema (their data files are placeholders, so not checked)."""
    raw = yaml.safe_load((EXAMPLES / f"{mode}.yaml").read_text(encoding="utf-8"))
    CONFIGS[mode].model_validate({**raw, "mode": mode})
