"""Stage 2 recipes as verl resolves them: every recipe composed and checked with verl's own
validate_config (and avr's checks), train-fs-grpo.sh --dry-run on this CPU, and its pre-launch checks."""

import subprocess
from pathlib import Path

import pytest
import yaml

from tests import REPO

RECIPES = sorted((REPO / "train_configs" / "fs_grpo").glob("*.yaml"))
pytestmark = pytest.mark.e2e


def _run(args, env):
    return subprocess.run(
        ["bash", str(REPO / "train-fs-grpo.sh"), *args], capture_output=True, text=True, env=env
    )


def _compose(recipe: str, *overrides: str):
    from avr.rl.config_check import compose

    return compose(REPO / "train_configs" / "fs_grpo" / f"{recipe}.yaml", list(overrides))


@pytest.mark.parametrize("recipe", [p.stem for p in RECIPES])
def test_every_recipe_passes_verls_validate_config(recipe, capsys):
    from omegaconf import OmegaConf
    from verl.utils.config import omega_conf_to_dataclass

    from avr.rl.config_check import check

    cfg = _compose(recipe)
    check(cfg)  # verl's validate_config as main() runs it, then avr's checks; raises on a problem
    if recipe.startswith("qwen3vl"):  # every Qwen3-VL recipe inherits the cache off
        assert cfg.actor_rollout_ref.rollout.engine_kwargs.vllm.mm_processor_cache_gb == 0
    assert "All configuration checks passed" in capsys.readouterr().out  # verl's own verdict
    d, arr = cfg.data, cfg.actor_rollout_ref
    # vLLM's context is exactly one prompt + response, not the model's 262,144 tokens
    assert arr.rollout.max_model_len == d.max_prompt_length + d.max_response_length
    # the strategy of verl's own Qwen3-VL recipes, as verl's actor dataclass hands it to the engine
    # (the reference model's config is the same FSDPActorConfig, its strategy the actor's)
    assert omega_conf_to_dataclass(arr.actor).engine.strategy == "fsdp2" and arr.ref.strategy == "fsdp2"
    # token-budget micro-batches: one sequence always fits (verl asserts it after the first rollout)
    assert (
        arr.actor.use_dynamic_bsz
        and arr.rollout.log_prob_use_dynamic_bsz
        and arr.ref.log_prob_use_dynamic_bsz
    )
    seq = d.max_prompt_length + d.max_response_length
    for budget in (arr.actor.ppo_max_token_len_per_gpu, arr.rollout.log_prob_max_token_len_per_gpu):
        assert budget >= seq
    # no dead keys: the clip range verl's vanilla loss reads; truncation is unused by RLHFDataset
    raw = OmegaConf.load(REPO / "train_configs" / "fs_grpo" / f"{recipe}.yaml")
    assert "clip_ratio" not in (OmegaConf.select(raw, "actor_rollout_ref.actor") or {})
    assert "truncation" not in (raw.get("data") or {})
    assert (arr.actor.clip_ratio_low, arr.actor.clip_ratio_high) == (0.2, 0.2)


def test_the_8b_recipe_leaves_room_beside_vllm():
    """verl's own 8B recipe: vLLM at 0.6 and the reference model's parameters on the CPU."""
    cfg = _compose("qwen3vl_8b")
    assert cfg.actor_rollout_ref.rollout.gpu_memory_utilization == 0.6
    assert cfg.actor_rollout_ref.ref.fsdp_config.param_offload is True
    assert cfg.actor_rollout_ref.actor.ppo_max_token_len_per_gpu == 10240


FIXED_MICRO_BATCHES = [
    "actor_rollout_ref.actor.use_dynamic_bsz=false",
    "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=2",
    "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=2",
    "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=2",
]


@pytest.mark.parametrize(
    "overrides, message",
    [
        # verl's own messages (validate_config, ActorConfig)
        (
            ["actor_rollout_ref.actor.use_dynamic_bsz=false"],
            "Please set at least one of 'actor.ppo_micro_batch_size'",
        ),
        (
            [*FIXED_MICRO_BATCHES, "data.train_batch_size=8"],
            "train_batch_size (8) must be >= actor.ppo_mini_batch_size (16)",
        ),
        (
            [*FIXED_MICRO_BATCHES, "trainer.nnodes=3"],
            "real_train_batch_size (1024) must be divisible by minimal possible batch size (24)",
        ),
        (["actor_rollout_ref.actor.loss_agg_mode=token-avg"], "Invalid loss_agg_mode: token-avg"),
        # avr's: what verl meets only on the GPUs
        (["actor_rollout_ref.rollout.max_model_len=null"], "max_model_len is not set"),
        (["actor_rollout_ref.actor.ppo_max_token_len_per_gpu=4096"], "< one prompt + response (10240)"),
        (
            ["trainer.n_gpus_per_node=6"],
            "tensor_model_parallel_size (4) does not divide trainer.n_gpus_per_node",
        ),
        (["trainer.v1.trainer_mode=fsgrpo"], "Unknown trainer 'fsgrpo'"),
        (["avr.reward_config=nope"], "avr.reward_config"),
        # the group bonus must have a carrier under whichever trainer runs (it would vanish silently)
        (
            ["trainer.use_v1=false", "actor_rollout_ref.rollout.agent.agent_loop_manager_class=null"],
            "trainer.use_v1=false runs verl's RayPPOTrainer, where the FS-GRPO group bonus is added by the agent-loop manager",
        ),
        (["trainer.use_v1=true", "trainer.v1.trainer_mode=sync"], "set trainer.v1.trainer_mode=fs_grpo"),
        (["trainer.use_v1=null"], "trainer.use_v1 is not set"),
    ],
)
def test_a_misconfiguration_fails_the_check(overrides, message):
    from avr.rl.config_check import check

    with pytest.raises(ValueError) as e:
        check(_compose("qwen3vl_2b", *overrides))
    assert message in str(e.value)


@pytest.fixture(scope="module")
def resolved(tmp_path_factory, env):
    out = tmp_path_factory.mktemp("grpo")
    r = _run(
        [
            "--dry-run",
            "--sft_model",  # the old spelling: still accepted, with a note (test below)
            str(out / "sft"),
            "--data-dir",
            str(out / "rl"),
            "--output-dir",
            str(out / "ckpt"),
            "--gpus",
            "4",
            "trainer.total_epochs=3",
        ],
        env,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return yaml.safe_load(r.stdout), out, r.stderr


def test_the_old_flag_spelling_still_works_with_a_note(resolved):
    cfg, out, stderr = resolved
    assert "train-fs-grpo: note: --sft_model is deprecated, use --sft-model" in stderr
    assert cfg["actor_rollout_ref"]["model"]["path"] == str(out / "sft")


def test_dry_run_prints_the_paper_values(resolved):
    cfg, out, stderr = resolved
    # the dry run ran verl's validate_config on what it printed
    assert "[validate_config] All configuration checks passed successfully!" in stderr
    assert "passes verl's validate_config and avr's checks" in stderr
    d, a, ro, t = (
        cfg["data"],
        cfg["actor_rollout_ref"]["actor"],
        cfg["actor_rollout_ref"]["rollout"],
        cfg["trainer"],
    )
    assert cfg["algorithm"]["adv_estimator"] == "grpo" and cfg["algorithm"]["use_kl_in_reward"] is False
    assert (d["train_batch_size"], d["val_batch_size"]) == (128, 32)
    assert (d["max_prompt_length"], d["max_response_length"], ro["max_model_len"]) == (8192, 2048, 10240)
    assert d["filter_overlong_prompts"] is True and d["image_key"] == "images"
    assert d["image_patch_size"] == 16
    assert a["optim"]["lr"] == pytest.approx(5e-7)
    assert cfg["actor_rollout_ref"]["model"]["use_remove_padding"] is True
    assert cfg["actor_rollout_ref"]["model"]["enable_gradient_checkpointing"] is True
    assert (a["strategy"], cfg["actor_rollout_ref"]["ref"]["strategy"]) == ("fsdp2", "fsdp2")
    assert (a["ppo_mini_batch_size"], a["ppo_epochs"]) == (16, 1)
    assert a["use_dynamic_bsz"] is True and a["ppo_max_token_len_per_gpu"] == 20480
    assert a["use_kl_loss"] is True and a["kl_loss_coef"] == 0.02 and a["kl_loss_type"] == "low_var_kl"
    assert a["entropy_coeff"] == 0.01 and (a["clip_ratio_low"], a["clip_ratio_high"]) == (0.2, 0.2)
    assert ro["name"] == "vllm" and ro["tensor_model_parallel_size"] == 4
    assert ro["gpu_memory_utilization"] == 0.8 and ro["n"] == 8
    assert ro["temperature"] == 0.8 and ro["top_p"] == 0.95
    # vLLM's multimodal cache off (it can wedge the engine within one wake period); fused log-prob and
    # entropy kernels on (the full-vocabulary logits would take ~12 GB per fp32 copy)
    assert ro["engine_kwargs"]["vllm"]["mm_processor_cache_gb"] == 0
    assert cfg["actor_rollout_ref"]["model"]["use_fused_kernels"] is True
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


def test_dry_run_fails_on_a_misconfiguration_with_verls_message(env):
    r = _run(["--dry-run", *FIXED_MICRO_BATCHES, "data.train_batch_size=8"], env)
    assert r.returncode == 2 and r.stdout == ""
    assert "avr.rl.config_check: error: verl's validate_config: train_batch_size (8) must be >=" in r.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--recipe", "nope"], "recipe not found: nope"),
        (
            ["--sft-model", "/no/such/model", "--data-dir", "/tmp", "--output-dir", "/tmp/x"],
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
        ["--sft-model", str(tiny_model), "--data-dir", str(tmp_path), "--output-dir", str(tmp_path / "o")],
        env,
    )
    assert r.returncode == 2 and "train.parquet is missing" in r.stderr
    (tmp_path / "train.parquet").write_bytes(b"")
    (tmp_path / "val.parquet").write_bytes(b"")
    # no GPU visible: the CPU backend is chosen (tests/rl/test_verl_cpu.py runs it), and the data is
    # still checked before Ray starts
    r = _run(
        ["--sft-model", str(tiny_model), "--data-dir", str(tmp_path), "--output-dir", str(tmp_path / "o")],
        {**env, "PATH": f"{Path(env['PATH'].split(':')[0])}:/usr/bin:/bin"},
    )
    assert "no GPU visible (nvidia-smi): running on the CPU backend" in r.stdout
    assert r.returncode == 2 and "train.parquet is empty" in r.stderr


@pytest.mark.parametrize(
    "recipe, model, patch",
    [
        ("qwen3vl_4b", "qwen3vl_4b_full_sft", 16),
        ("qwen3vl_8b", "qwen3vl_8b_full_sft", 16),
        ("internvl3_2b", "internvl3_2b_full_sft", 14),
    ],
)
def test_presets_inherit_the_paper_recipe(recipe, model, patch):
    cfg = _compose(recipe)
    assert cfg.actor_rollout_ref.model.path.endswith(model)
    assert cfg.data.image_patch_size == patch
    assert cfg.reward.reward_manager.name == "adaptive_reward" and cfg.trainer.v1.trainer_mode == "fs_grpo"
    assert cfg.actor_rollout_ref.rollout.n == 8 and cfg.data.train_batch_size == 128


def test_the_smoke_recipe_scales_the_paper_recipe_down():
    """scripts/gpu_smoke.sh's settings (the smoke run itself needs a GPU): 2 steps, w(1) > 0."""
    cfg = _compose("smoke_1gpu")
    d, a, ro, t = cfg.data, cfg.actor_rollout_ref.actor, cfg.actor_rollout_ref.rollout, cfg.trainer
    assert (d.train_batch_size, d.max_response_length, ro.n, ro.tensor_model_parallel_size) == (4, 256, 4, 1)
    assert (a.ppo_mini_batch_size, t.total_training_steps, t.n_gpus_per_node) == (4, 2, 1)
    assert ro.max_model_len == 1280 and a.ppo_max_token_len_per_gpu >= 1280
    # everything else is the paper's: the reward, the trainer mode, the patch size
    assert cfg.reward.reward_manager.name == "adaptive_reward" and t.v1.trainer_mode == "fs_grpo"
    assert d.image_patch_size == 16 and a.kl_loss_coef == 0.02


def test_the_slurm_log_needs_no_folder():
    """Slurm opens the log before the script runs: a log in a folder that does not exist yet fails the
    job with no log at all, so the log goes to the directory sbatch runs in."""
    lines = (REPO / "scripts/slurm/fs_grpo_multinode.sbatch").read_text().splitlines()
    logs = [
        line.split("=", 1)[1] for line in lines if line.startswith(("#SBATCH --output=", "#SBATCH --error="))
    ]
    assert logs and all("/" not in log for log in logs)


@pytest.mark.parametrize("use_v1", ["true", "false"])
def test_either_trainer_keeps_the_group_bonus(use_v1):
    """The recipe configures both carriers, so flipping the trainer on the command line keeps the bonus."""
    from avr.rl.config_check import check

    cfg = _compose("qwen3vl_2b", f"trainer.use_v1={use_v1}")
    check(cfg)
    assert (
        cfg.actor_rollout_ref.rollout.agent.agent_loop_manager_class
        == "avr.rl.agent_loop.FSGRPOAgentLoopManager"
    )
    assert cfg.trainer.v1.trainer_mode == "fs_grpo"


def test_every_recipe_pins_the_trainer():
    for recipe in RECIPES:
        assert _compose(recipe.stem).trainer.use_v1 is not None, recipe.name
