"""The SFT recipes: the paper's values, held exactly, and every recipe accepted by LLaMA-Factory's own parser."""

import subprocess

import pytest
import yaml

from avr.sft.preflight import PreflightError, llamafactory_keys, preflight
from tests import REPO

RECIPES = sorted((REPO / "train_configs" / "sft").glob("*.yaml"))

PAPER = {
    "model_name_or_path": "Qwen/Qwen3-VL-2B-Instruct",
    "image_max_pixels": 262144,
    "video_max_pixels": 16384,
    "stage": "sft",
    "finetuning_type": "full",
    "freeze_vision_tower": True,
    "freeze_multi_modal_projector": True,
    "freeze_language_model": False,
    "template": "qwen3_vl_nothink",
    "cutoff_len": 2048,
    "deepspeed": "train_configs/deepspeed/ds_z2.json",
    "per_device_train_batch_size": 4,
    "gradient_accumulation_steps": 2,
    "learning_rate": 5.0e-5,
    "num_train_epochs": 1.0,
    "lr_scheduler_type": "cosine",
    "warmup_ratio": 0.1,
    "bf16": True,
    "save_steps": 500,
    "logging_steps": 10,
    "report_to": "tensorboard",
}


def test_paper_recipe_holds_the_papers_settings():
    cfg = yaml.safe_load((REPO / "train_configs/sft/qwen3vl_2b_full_sft.yaml").read_text())
    assert {k: cfg.get(k) for k in PAPER} == PAPER


def test_expected_presets_exist():
    names = {p.stem for p in RECIPES}
    assert {
        "qwen3vl_2b_full_sft",
        "qwen3vl_4b_full_sft",
        "qwen3vl_8b_full_sft",
        "internvl3_2b_full_sft",
        "qwen3vl_2b_lora_sft",
        "tiny_cpu",
    } <= names


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_recipe_has_no_absolute_paths_and_files_exist(recipe):
    cfg = yaml.safe_load(recipe.read_text())
    for key in ("dataset_dir", "output_dir", "deepspeed", "model_name_or_path"):
        if key in cfg:
            assert not str(cfg[key]).startswith(("/", "~")), f"{recipe.name}: {key} is absolute"
    if cfg.get("deepspeed"):
        assert (REPO / cfg["deepspeed"]).is_file()
    assert set(cfg) <= llamafactory_keys()


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_llamafactory_parser_accepts_recipe(recipe, tiny_model, tmp_path, monkeypatch):
    """LLaMA-Factory's own get_train_args, with exactly use_cpu and deepspeed changed for a CPU machine."""
    from llamafactory.hparams import get_train_args

    cfg = yaml.safe_load(recipe.read_text())
    cfg["model_name_or_path"] = str(tiny_model)  # the hub id cannot be fetched here
    cfg["use_cpu"] = True  # else: "Your setup doesn't support bf16/gpu"
    cfg.pop("deepspeed", None)  # needs the deepspeed package (GPU setup only)
    monkeypatch.chdir(tmp_path)  # output_dir is relative; keep it out of the checkout
    _, data_args, training_args, finetuning_args, _ = get_train_args(cfg)
    assert finetuning_args.finetuning_type == cfg["finetuning_type"]
    # The paper freezes the pretrained vision side; small_cpu trains a random one from scratch.
    frozen = recipe.stem != "small_cpu"
    assert finetuning_args.freeze_vision_tower is frozen
    assert finetuning_args.freeze_multi_modal_projector is frozen
    assert data_args.template == cfg["template"]
    assert training_args.learning_rate == pytest.approx(float(cfg["learning_rate"]))
    assert training_args.per_device_train_batch_size == cfg["per_device_train_batch_size"]
    assert training_args.bf16 == cfg.get("bf16", False)


def test_llamafactory_parser_rejects_unknown_key(tiny_model, tmp_path, monkeypatch):
    from llamafactory.hparams import get_train_args

    cfg = yaml.safe_load((REPO / "train_configs/sft/tiny_cpu.yaml").read_text())
    cfg.update(model_name_or_path=str(tiny_model), learning_rat=1e-4)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="learning_rat"):
        get_train_args(cfg)


def _sft_data(tmp_path, records):
    from avr.data.sft import build_sft_dataset

    build_sft_dataset([records], tmp_path / "sft")
    return tmp_path / "sft"


def test_preflight_names_the_bad_key_or_path(tiny_model, synthetic_records, tmp_path, monkeypatch):
    recipe = REPO / "train_configs/sft/tiny_cpu.yaml"
    data = _sft_data(tmp_path, synthetic_records)
    base = [f"model_name_or_path={tiny_model}", f"dataset_dir={data}", f"output_dir={tmp_path / 'out'}"]
    lines = preflight(recipe, base)
    assert any(line.startswith("model: ") for line in lines)
    with pytest.raises(
        PreflightError, match=r"unknown key 'learning_rat' \(did you mean 'learning_rate'\?\)"
    ):
        preflight(recipe, [*base, "learning_rat=1"])
    with pytest.raises(PreflightError, match=r"model_name_or_path=.*nope: model path not found"):
        preflight(recipe, [*base, f"model_name_or_path={tmp_path / 'nope'}"])
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(PreflightError, match="not in the HF cache, and HF_HUB_OFFLINE=1"):
        preflight(recipe, [*base, "model_name_or_path=Qwen/Not-A-Model"])
    with pytest.raises(PreflightError, match=r"dataset=zzz: not in"):
        preflight(recipe, [*base, "dataset=zzz"])
    with pytest.raises(PreflightError, match=r"no dataset_info\.json"):
        preflight(recipe, [*base, f"dataset_dir={tmp_path}"])
    with pytest.raises(PreflightError, match=r"deepspeed=nope\.json: file not found"):
        preflight(recipe, [*base, "deepspeed=nope.json"])


def test_train_sft_script_fails_before_launch(tiny_model, tmp_path, env):
    """Bad input stops train-sft.sh with one clear line, before LLaMA-Factory starts."""
    cases = {
        ("tiny_cpu", "model_name_or_path=/no/such/model"): "model path not found",
        ("tiny_cpu", f"model_name_or_path={tiny_model}", "learnin_rate=1"): "unknown key 'learnin_rate'",
        ("tiny_cpu", f"model_name_or_path={tiny_model}", f"dataset_dir={tmp_path}"): "no dataset_info.json",
        ("no_such_recipe",): "recipe not found: no_such_recipe",
    }
    for args, message in cases.items():
        r = subprocess.run(
            ["bash", str(REPO / "train-sft.sh"), *args], capture_output=True, text=True, env=env
        )
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert message in r.stderr and "Traceback" not in r.stderr, r.stderr
