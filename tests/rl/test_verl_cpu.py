"""Stage 2 for real: verl's own FS-GRPO loop on this CPU, through ``train-fs-grpo.sh --cpu``.

One run of ``scripts/gpu_smoke.sh --multi --cpu`` (the first GPU run's smoke sequence, on the CPU backend),
under the recipes' trainer (RayPPOTrainer, ``trainer.use_v1=false``), shared by most assertions below
(each start of verl costs ~1 minute of Ray and process start-up on 2 cores): T = 3 steps from the
committed SFT checkpoint (avr/assets/digits_sft) at world size 2 (two FSDP2 ranks over gloo, two rollout
replicas), killed (SIGKILL to its whole process group) once step 1's checkpoint is on disk, then started
again: it resumes at step 2. Its steps show the bonus in verl's own scores (the smoke check), steps 2
and 3 validate; its last checkpoint (two shards) is merged to HF and evaluated. A second, shorter run
(world size 1, 3 steps) checks the group bonus under verl 0.9.1's v1 trainer, where the fs_grpo
trainer mode carries it.

Not the tiny random model of the other tests: its groups never mix two valid formats, so its bonus is
always 0 and the smoke check could not tell a working bonus from a missing one. The checkpoint is as
local (in the repository, 6 MB) and as cheap (3M parameters). Nothing downloads: the data is the
digits world, generated here.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from avr.rl.reward import RewardConfig, diversity_weight
from avr.rl.smoke_metrics import check_steps, read_steps
from tests import REPO

SFT = REPO / "avr/assets/digits_sft"
STEPS = 3  # T: w(1..3) = 0.375, 0.125, 0.0 under the paper preset
WORKERS = 2
AVR_KEYS = (
    "avr/diversity_weight",
    "avr/mean_base",
    "avr/mean_diversity_bonus",
    "avr/mean_score",
    "avr/accuracy",
    "avr/answer/share",
    "avr/full/share",
    "avr/malformed/share",
)
RUN_TIMEOUT = 600
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> dict[str, Path]:
    """RL parquet and held-out records of the digits world, at the SFT checkpoint's 128x64 pixels."""
    from avr.data.rl import build_rl_dataset
    from avr.miniature.synthetic import generate

    root = tmp_path_factory.mktemp("digits")
    rl = generate(root / "records", 24, seed=11, name="rl", world="digits")
    held = generate(root / "records", 4, seed=12, name="heldout", world="digits")
    build_rl_dataset([rl], root / "rl", val_fraction=0.1, seed=0, min_pixels=8192, max_pixels=8192)
    return {"rl": root / "rl", "heldout": held}


def _train(model: Path, data: Path, out: Path, *extra: str) -> list[str]:  # the v1 run
    return [
        "bash", str(REPO / "train-fs-grpo.sh"), "--cpu", "--recipe", "cpu_tiny",
        "--sft-model", str(model), "--data-dir", str(data), "--output-dir", str(out),
        "trainer.logger=[console,file]", *extra,
    ]  # fmt: skip


def _env(env: dict[str, str], metrics: Path) -> dict[str, str]:
    return {**env, "VERL_FILE_LOGGER_PATH": str(metrics)}


def _run(cmd: list[str], env: dict[str, str], log: Path) -> None:
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    log.write_text(r.stdout + r.stderr)
    assert r.returncode == 0, f"verl run failed (log: {log}):\n{(r.stdout + r.stderr)[-4000:]}"


@pytest.fixture(scope="module")
def resumed(tmp_path_factory, digits, env) -> dict[str, Path]:
    """scripts/gpu_smoke.sh --multi on the CPU backend, the first GPU run's sequence: killed after step
    1's checkpoint, resumed to step 3, checked, merged and evaluated."""
    root = tmp_path_factory.mktemp("fs_grpo")
    cmd = [
        "bash", str(REPO / "scripts/gpu_smoke.sh"), "--multi", "--cpu", "--gpus", str(WORKERS),
        "--out", str(root), "--eval", f"digits={digits['heldout']}",
        "--eval-args", "--max-new-tokens 48 --min-pixels 8192 --max-pixels 8192",
        str(SFT), str(digits["rl"]),
    ]  # fmt: skip
    t0 = time.monotonic()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3 * RUN_TIMEOUT)
    (root / "smoke.log").write_text(r.stdout + r.stderr)
    assert r.returncode == 0, (
        f"gpu_smoke.sh --multi --cpu failed (logs in {root}):\n{(r.stdout + r.stderr)[-4000:]}"
    )
    print(f"\ngpu_smoke.sh --multi --cpu: {time.monotonic() - t0:.0f} s")
    return {
        "root": root, "ckpt": root / "ckpt", "first": root / "metrics_1.jsonl",
        "second": root / "metrics_2.jsonl", "out": r.stdout,
    }  # fmt: skip


def _training_steps(path: Path) -> list[dict]:
    return [s for s in read_steps(path) if "avr/diversity_weight" in s["data"]]


def test_every_step_puts_the_bonus_into_verls_scores(resumed):
    steps = _training_steps(resumed["first"]) + _training_steps(resumed["second"])
    assert [s["step"] for s in steps] == [1, 2, 3]
    lines, problems = check_steps(steps)  # score = base + bonus each step; a bonus while w(t) > 0
    print("\n" + "\n".join(lines))
    assert not problems, problems
    for s in steps:
        d = s["data"]
        assert all(k in d for k in AVR_KEYS), [k for k in AVR_KEYS if k not in d]
        # the hf rollout's log-probs are the trainer's (up to top-p renormalisation): no drift
        assert d["rollout_corr/kl"] < 0.01 and d["training/rollout_actor_probs_pearson_corr"] > 0.99, d
        assert d["response_length/mean"] > 0


def test_validation_runs_greedy_through_the_hf_rollout_without_the_bonus(resumed):
    last = [s for s in read_steps(resumed["second"]) if s["step"] == STEPS]
    val = {k: v for s in last for k, v in s["data"].items() if k.startswith("val-")}
    assert any(k.startswith("val-core/") and "/acc/" in k for k in val), sorted(val)
    # the format mix reaches verl's validation logs through the reward manager's 0/1 indicators
    assert any("/is_full/" in k for k in val), sorted(val)


def test_a_killed_run_resumes_at_its_checkpoint_and_w_continues(resumed):
    config = RewardConfig.load("paper")
    before, after = _training_steps(resumed["first"]), _training_steps(resumed["second"])
    assert [s["step"] for s in before] == [1]  # killed during step 2
    assert [s["step"] for s in after] == [2, 3]  # not a fresh start at step 1
    for s in before + after:
        expected = diversity_weight(s["step"], STEPS, config)  # T unchanged by the restart
        assert s["data"]["avr/diversity_weight"] == pytest.approx(expected), s["step"]
        assert s["data"]["training/global_step"] == s["step"]
    assert (resumed["ckpt"] / "latest_checkpointed_iteration.txt").read_text().strip() == str(STEPS)
    log = (resumed["root"] / "train_2.log").read_text()
    assert "resuming from step 1" in log and f"CPU backend, {WORKERS} worker(s)" in log
    # the launch checked the config as --dry-run does: verl's validate_config, then avr's checks
    assert "avr.rl.config_check: the config passes verl's validate_config and avr's checks" in log
    # each FSDP2 rank leads its own rollout replica, and each replica received the trained weights
    assert "hf rollout replica 0: on the weights of step 2" in log
    assert "hf rollout replica 1: on the weights of step 2" in log


def test_the_checkpoint_merges_to_hf_and_avr_eval_runs_on_it(resumed):
    actor = resumed["ckpt"] / f"global_step_{STEPS}" / "actor"
    assert sorted(p.name for p in actor.glob("model_world_size_*")) == [
        f"model_world_size_{WORKERS}_rank_{r}.pt" for r in range(WORKERS)
    ]
    merged = resumed["ckpt"] / f"global_step_{STEPS}" / "actor_hf"
    assert f"merge_checkpoint: {merged} loads: Qwen3VLForConditionalGeneration" in resumed["out"]
    assert "gpu_smoke: OK: killed at step 1, resumed to step 3" in resumed["out"]
    print("\n" + resumed["out"][resumed["out"].index("| benchmark |") :][:1500])
    metrics = json.loads((resumed["root"] / "eval" / "metrics.json").read_text())
    assert metrics["overall"]["n"] == 4
    lines = (resumed["root"] / "eval" / "predictions.jsonl").read_text().splitlines()
    assert all(json.loads(x)["tokens"] > 0 for x in lines)


@pytest.fixture(scope="module")
def v1_trainer(tmp_path_factory, digits, env) -> dict[str, Path]:
    """The same recipe under verl 0.9.1's other trainer, the v1 trainer (``trainer.use_v1=true``, verl's
    default, which upstream is deleting): T = 3 steps at world size 1, no checkpoint, no validation.
    There the fs_grpo trainer mode adds the group bonus; avr's agent-loop manager hands over verl's own."""
    root = tmp_path_factory.mktemp("fs_grpo_v1")
    metrics = root / "metrics.jsonl"
    extra = ("trainer.use_v1=true", f"trainer.total_training_steps={STEPS}", "trainer.save_freq=-1",
             "trainer.test_freq=-1")  # fmt: skip
    _run(_train(SFT, digits["rl"], root / "ckpt", *extra), _env(env, metrics), root / "train.log")
    return {"root": root, "metrics": metrics}


def test_the_default_trainer_is_ray_ppo_trainer_whose_manager_reports_under_timing(resumed):
    raw = [json.loads(x) for x in resumed["first"].read_text().splitlines()]
    # RayPPOTrainer logs what a rollout manager reports under timing_s/; read_steps lifts them to avr/*
    assert "timing_s/avr/diversity_weight" in raw[0]["data"] and "avr/diversity_weight" not in raw[0]["data"]


def test_under_the_v1_trainer_the_trainer_mode_puts_the_bonus_into_verls_scores(v1_trainer):
    raw = [json.loads(x) for x in v1_trainer["metrics"].read_text().splitlines()]
    assert all("avr/diversity_weight" in r["data"] for r in raw), raw[0][
        "data"
    ]  # the trainer mode's own keys
    steps = _training_steps(v1_trainer["metrics"])
    assert [s["step"] for s in steps] == [1, 2, 3]
    lines, problems = check_steps(steps)  # score = base + bonus each step; a bonus while w(t) > 0
    print("\n" + "\n".join(lines))
    assert not problems, problems
    config = RewardConfig.load("paper")
    for s in steps:
        assert all(k in s["data"] for k in AVR_KEYS), [k for k in AVR_KEYS if k not in s["data"]]
        assert s["data"]["avr/diversity_weight"] == pytest.approx(diversity_weight(s["step"], STEPS, config))
