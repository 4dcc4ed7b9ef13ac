"""Stage 2 recipe as verl resolves it: train-fs-grpo.sh --dry-run on this CPU, and its pre-launch checks."""

import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.e2e


def _run(args, env):
    return subprocess.run(
        ["bash", str(REPO / "train-fs-grpo.sh"), *args], capture_output=True, text=True, env=env
    )


@pytest.fixture(scope="module")
def resolved(tmp_path_factory, env):
    out = tmp_path_factory.mktemp("grpo")
    r = _run(
        [
            "--dry-run",
            "--sft_model",
            str(out / "sft"),
            "--data_dir",
            str(out / "rl"),
            "--output_dir",
            str(out / "ckpt"),
            "--gpus",
            "4",
            "trainer.total_epochs=3",
        ],
        env,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return yaml.safe_load(r.stdout), out


def test_dry_run_prints_the_paper_values(resolved):
    cfg, out = resolved
    d, a, ro, t = (
        cfg["data"],
        cfg["actor_rollout_ref"]["actor"],
        cfg["actor_rollout_ref"]["rollout"],
        cfg["trainer"],
    )
    assert cfg["algorithm"]["adv_estimator"] == "grpo" and cfg["algorithm"]["use_kl_in_reward"] is False
    assert (d["train_batch_size"], d["val_batch_size"]) == (128, 32)
    assert (d["max_prompt_length"], d["max_response_length"]) == (8192, 2048)
    assert d["filter_overlong_prompts"] is True and d["truncation"] == "right" and d["image_key"] == "images"
    assert d["image_patch_size"] == 16
    assert a["optim"]["lr"] == pytest.approx(5e-7)
    assert cfg["actor_rollout_ref"]["model"]["use_remove_padding"] is True
    assert cfg["actor_rollout_ref"]["model"]["enable_gradient_checkpointing"] is True
    assert (a["ppo_mini_batch_size"], a["ppo_micro_batch_size_per_gpu"], a["ppo_epochs"]) == (16, 2, 1)
    assert a["use_kl_loss"] is True and a["kl_loss_coef"] == 0.02 and a["kl_loss_type"] == "low_var_kl"
    assert a["entropy_coeff"] == 0.01 and a["clip_ratio"] == 0.2
    assert ro["name"] == "vllm" and ro["tensor_model_parallel_size"] == 4
    assert ro["gpu_memory_utilization"] == 0.8 and ro["n"] == 8
    assert ro["temperature"] == 0.8 and ro["top_p"] == 0.95
    assert (t["save_freq"], t["test_freq"], t["resume_mode"]) == (20, 20, "auto")
    assert "console" in t["logger"] and "tensorboard" in t["logger"]
    assert cfg["reward"]["reward_manager"]["name"] == "adaptive_reward"
    assert t["v1"]["trainer_mode"] == "fs_grpo"
    assert cfg["avr"]["reward_config"] == "paper"
    # the script's options and free overrides reach verl
    assert cfg["actor_rollout_ref"]["model"]["path"] == str(out / "sft")
    assert d["train_files"] == str(out / "rl" / "train.parquet") and d["val_files"] == str(
        out / "rl" / "val.parquet"
    )
    assert (
        t["default_local_dir"] == str(out / "ckpt") and t["n_gpus_per_node"] == 4 and t["total_epochs"] == 3
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--recipe", "nope"], "recipe not found: nope"),
        (
            ["--sft_model", "/no/such/model", "--data_dir", "/tmp", "--output_dir", "/tmp/x"],
            "not a Hugging Face model",
        ),
        (["--bogus"], "unknown option --bogus"),
    ],
)
def test_checks_fail_clearly_before_ray(args, message, env):
    r = _run(args, env)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr


def test_missing_data_and_no_gpu(tiny_model, tmp_path, env):
    r = _run(
        ["--sft_model", str(tiny_model), "--data_dir", str(tmp_path), "--output_dir", str(tmp_path / "o")],
        env,
    )
    assert r.returncode == 2 and "train.parquet is missing" in r.stderr
    (tmp_path / "train.parquet").write_bytes(b"")
    (tmp_path / "val.parquet").write_bytes(b"")
    r = _run(
        ["--sft_model", str(tiny_model), "--data_dir", str(tmp_path), "--output_dir", str(tmp_path / "o")],
        {**env, "PATH": "/usr/bin:/bin"},
    )
    assert r.returncode == 2 and "A GRPO step needs GPUs" in r.stderr


@pytest.mark.parametrize(
    "recipe, model, patch",
    [
        ("qwen3vl_4b", "qwen3vl_4b_full_sft", 16),
        ("qwen3vl_8b", "qwen3vl_8b_full_sft", 16),
        ("internvl3_2b", "internvl3_2b_full_sft", 14),
    ],
)
def test_presets_inherit_the_paper_recipe(recipe, model, patch, env):
    r = _run(["--dry-run", "--recipe", recipe], env)
    assert r.returncode == 0, r.stderr[-2000:]
    cfg = yaml.safe_load(r.stdout)
    assert cfg["actor_rollout_ref"]["model"]["path"].endswith(model)
    assert cfg["data"]["image_patch_size"] == patch
    assert cfg["reward"]["reward_manager"]["name"] == "adaptive_reward"
    assert cfg["actor_rollout_ref"]["rollout"]["n"] == 8 and cfg["data"]["train_batch_size"] == 128


def test_the_smoke_recipe_scales_the_paper_recipe_down(env):
    """scripts/gpu_smoke.sh's settings, as verl resolves them (the smoke run itself needs a GPU)."""
    r = _run(["--dry-run", "--recipe", "smoke_1gpu", "--gpus", "1"], env)
    assert r.returncode == 0, r.stderr[-2000:]
    cfg = yaml.safe_load(r.stdout)
    d, a, ro, t = (
        cfg["data"],
        cfg["actor_rollout_ref"]["actor"],
        cfg["actor_rollout_ref"]["rollout"],
        cfg["trainer"],
    )
    assert (d["train_batch_size"], d["max_response_length"], ro["n"], ro["tensor_model_parallel_size"]) == (
        4,
        256,
        4,
        1,
    )
    assert (a["ppo_mini_batch_size"], t["total_training_steps"], t["n_gpus_per_node"]) == (4, 2, 1)
    # everything else is the paper's: the reward, the trainer mode, the patch size
    assert (
        cfg["reward"]["reward_manager"]["name"] == "adaptive_reward" and t["v1"]["trainer_mode"] == "fs_grpo"
    )
    assert d["image_patch_size"] == 16 and a["kl_loss_coef"] == 0.02
