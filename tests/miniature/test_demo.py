"""The README's demo command, shortened: the whole pipeline runs, reports, and resumes."""

import json
import subprocess
import sys

import pytest

from avr.config import config_path
from avr.miniature.experiment.checkpoint import ASSET
from avr.rl.smoke_metrics import read_steps

RECIPE_DIR = config_path("experiment")

pytestmark = pytest.mark.e2e

# part 2, shortened: a few RL prompts, 2 steps, 8 held-out items
EFFECT = f"""\
base: {RECIPE_DIR / "demo.yaml"}
data: {{rl_items: 16, heldout_items: 8}}
grpo:
  overrides: {{trainer.total_training_steps: 2, trainer.save_freq: 2}}
eval: {{max_new_tokens: 48}}
"""


def test_the_committed_checkpoint_is_the_small_model_in_bf16():
    cfg = json.loads((ASSET / "config.json").read_text())
    assert cfg["text_config"]["hidden_size"] == 256  # avr tiny-model --size small
    assert (ASSET / "model.safetensors").stat().st_size < 10 * 2**20
    assert (
        json.loads((ASSET / "provenance.json").read_text())["command"]
        == "bash scripts/build_demo_checkpoint.sh"
    )


def test_demo_runs_the_pipeline_and_resumes(tmp_path, env):
    out = tmp_path / "demo"
    effect = tmp_path / "effect.yaml"
    effect.write_text(EFFECT)
    cmd = [sys.executable, "-m", "avr.cli", "demo", "--out", str(out), "--n", "48", "--max-steps", "8",
           "--grpo-steps", "2", "--max-new-tokens", "24", "--effect-recipe", str(effect)]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    report = (out / "report.md").read_text()
    # every stage is named; stage 2 is verl's own loop, its checkpoint merged by the user's script
    for stage in ("| data |", "| 1: SFT |", "| 2: FS-GRPO on verl |", "| merge |", "| eval |"):
        assert stage in report, stage
    assert (
        "train-fs-grpo.sh --cpu --recipe cpu_tiny" in report
        and "stand-in" not in report.split("| the effect |")[0]  # only part 2 may name the stand-in
    )
    assert (out / "fs_grpo" / "ckpt" / "latest_checkpointed_iteration.txt").read_text().strip() == "2"
    steps = read_steps(out / "fs_grpo" / "metrics.jsonl")  # avr/* as either verl trainer logs them
    assert [s["step"] for s in steps if "avr/diversity_weight" in s["data"]] == [1, 2]
    assert (out / "fs_grpo" / "model" / "config.json").is_file()  # merged to HF
    # the report's numbers come from avr eval's own outputs
    summary = json.loads((out / "summary.json").read_text())
    for run in ("sft", "sft_forced3", "fs_grpo"):
        metrics = json.loads((out / "eval" / run / "metrics.json").read_text())
        assert metrics["overall"] == summary["overall"][run] and metrics["overall"]["n"] == 12
        assert f"| {run} | " in report
        assert (out / "eval" / run / "format_mix.png").stat().st_size > 1000
    assert (out / "eval" / "compare" / "accuracy_vs_tokens.png").stat().st_size > 1000
    assert (out / "fs_grpo" / "training_curves.png").stat().st_size > 1000
    assert f"[demo] report: {out / 'report.md'}" in r.stdout
    # part 2: the main arm from the committed checkpoint, its table in the demo's report
    assert "| the effect |" in report
    assert (
        "| SFT, forced:3 (always-reason) |" in report
        and "| FS-GRPO, choosing freely (fs_grpo-s0) |" in report
    )
    assert (out / "effect" / "grpo" / "fs_grpo-s0" / "model.safetensors").is_file()
    assert json.loads((out / "effect" / "summary.json").read_text())["sft_checkpoint"] == str(ASSET)
    # a second run finds every step done: no training, no generation
    r2 = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert r2.returncode == 0, r2.stdout[-3000:] + r2.stderr[-3000:]
    assert "[demo] SFT already done" in r2.stdout
    assert "eval (" not in r2.stderr  # every prediction was already there
