"""The miniature experiment's machinery, shortened: every stage runs for real for a few steps.

What is asserted is the machinery (arms start, reports and per-level tables are written, a rerun
resumes, bad recipes are named), not the result: the result is the experiment's own output.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from avr.config import config_path
from avr.miniature.experiment.recipe import load_experiment

RECIPE_DIR = config_path("experiment")

MINI = f"""\
base: {RECIPE_DIR / "digits.yaml"}
data: {{sft_items: 16, rl_items: 16, heldout_items: 8}}
model: {{size: tiny}}
sft:
  overrides: {{num_train_epochs: 1, max_steps: 3, save_steps: 3}}
grpo:
  overrides: {{trainer.total_training_steps: 2, trainer.save_freq: 2}}
eval: {{max_new_tokens: 24, batch_size: 8}}
arms:
  fs_grpo: {{reward: paper, seeds: [0]}}
  no_diversity: {{reward: no_diversity, seeds: [0]}}
  no_format: null
  no_length: null
  seed_preset: null
"""


def test_every_shipped_recipe_loads():
    drawn = {"digits": 128 * 64, "trio": 192 * 64}
    for path in RECIPE_DIR.glob("*.yaml"):
        exp = load_experiment(path)
        assert exp.arms and all(a.seeds for a in exp.arms.values())
        assert exp.eval["pixels"] == drawn[exp.world]  # evaluated at the resolution the world is drawn at


def test_a_misspelled_key_or_arm_is_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"base: {RECIPE_DIR / 'digits.yaml'}\ndata: {{sft_itemz: 3}}\n")
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['data.sft_itemz'\]"):
        load_experiment(bad)
    bad.write_text(f"base: {RECIPE_DIR / 'digits.yaml'}\narms: {{x: {{reward: paper, seed: [1]}}}}\n")
    with pytest.raises(ValueError, match=r"arms.x: unknown key\(s\) \['seed'\]"):
        load_experiment(bad)
    bad.write_text(f"base: {RECIPE_DIR / 'digits.yaml'}\ndata: {{sft_formats: {{1: {{1: 1.5}}}}}}\n")
    with pytest.raises(ValueError, match=r"data\.sft_formats"):
        load_experiment(bad)
    bad.write_text(
        f"base: {RECIPE_DIR / 'digits.yaml'}\ndata: {{rl_levels: [1, 2]}}\n"
    )  # digits has no level 2
    with pytest.raises(ValueError, match=r"data\.rl_levels"):
        load_experiment(bad)
    bad.write_text(f"base: {RECIPE_DIR / 'digits.yaml'}\ndata: {{sft_levels: []}}\n")
    with pytest.raises(ValueError, match=r"data\.sft_levels"):
        load_experiment(bad)
    bad.write_text(f"base: {RECIPE_DIR / 'digits.yaml'}\nworld: dots\n")
    with pytest.raises(ValueError, match=r"world: unknown synthetic world 'dots'"):
        load_experiment(bad)


@pytest.mark.e2e
def test_a_short_experiment_runs_every_stage_and_resumes(tmp_path, env):
    from avr.miniature.experiment import run_experiment

    recipe = tmp_path / "mini.yaml"
    recipe.write_text(MINI)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "avr.cli", "experiment", str(recipe), "--out", str(out), "--arms", "fs_grpo"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1500)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert (out / "grpo" / "fs_grpo-s0" / "model.safetensors").is_file()
    assert not (out / "grpo" / "no_diversity-s0").exists()  # --arms ran one arm only

    report = run_experiment(recipe, out)  # the other arm now; the rest is already there
    text = report.read_text()
    summary = json.loads((out / "summary.json").read_text())
    for stage in ("sft", "eval sft-forced1", "eval sft-forced3", "grpo fs_grpo-s0", "grpo no_diversity-s0"):
        assert stage in summary["stages"]
    assert "## Precondition" in text and "| 1 | 4 |" in text and "| 3 | 4 |" in text
    assert "FS-GRPO, choosing freely (fs_grpo-s0)" in text
    assert "no_diversity (no_diversity-s0, reward `no_diversity`)" in text
    for png in ("accuracy_vs_tokens.png", "format_share_per_level.png"):
        assert (out / "plots" / png).stat().st_size > 1000
    results = json.loads((out / "results.json").read_text())
    for run in ("fs_grpo-s0", "no_diversity-s0"):
        arm = run.rsplit("-s", 1)[0]
        assert set(results["arms"][arm][run]["levels"]) == {"1", "3"}
        assert {row["level"] for row in results["curves"][run]} == {"1", "3"}
    assert set(results["baselines"]) == {"forced:1", "forced:2", "forced:3", "adaptive"}

    # a rerun trains and generates nothing: every output keeps its bytes
    watched = [out / "sft" / "model.safetensors", out / "grpo" / "fs_grpo-s0" / "model.safetensors",
               out / "eval" / "sft-forced3" / "predictions.jsonl"]  # fmt: skip
    before = [Path(p).stat().st_mtime_ns for p in watched]
    run_experiment(recipe, out)
    assert [Path(p).stat().st_mtime_ns for p in watched] == before


def test_a_trio_run_evaluates_every_model_on_both_heldout_sets(tmp_path, monkeypatch):
    """Which evaluations the stages ask for, with training and generation stubbed (the data is real):
    the SFT model's baselines and every arm's model on the held-out set and on heldout-combos, each
    into its own folder, each reading its own records file."""
    from avr.miniature.experiment import run
    from avr.miniature.experiment.recipe import COMBOS

    recipe = tmp_path / "mini.yaml"
    recipe.write_text(
        f"base: {RECIPE_DIR / 'trio.yaml'}\ndata: {{sft_items: 6, rl_items: 8, val_items: 3, heldout_items: 6}}\n"
    )
    exp = load_experiment(recipe)
    calls: list[tuple[str, str, str, str]] = []
    monkeypatch.setattr(run, "build_model", lambda exp, out: out / "model")
    monkeypatch.setattr(run, "run_sft", lambda exp, out, model, data: out / "sft")
    monkeypatch.setattr(run, "run_arm", lambda exp, out, sft, rl, arm, seed: out / "grpo" / f"{arm}-s{seed}")

    def evaluate(exp, model, records, run_dir, mode, name="heldout"):
        calls.append((model.name, records.name, run_dir.name, name))

    monkeypatch.setattr(run, "evaluate", evaluate)
    out = tmp_path / "out"
    run._stages(exp, out, ["fs_grpo"], run.Timer(out / "summary.json"), None, None)
    assert calls == [
        *[("sft", "val.jsonl", f"val-sft-forced{k}", "val") for k in (1, 2, 3)],
        *[("sft", "heldout.jsonl", d, "heldout") for d in ("sft-forced1", "sft-forced2", "sft-forced3", "sft-adaptive")],
        *[("sft", f"{COMBOS}.jsonl", f"{COMBOS}-{d}", COMBOS)
          for d in ("sft-forced1", "sft-forced2", "sft-forced3", "sft-adaptive")],
        ("fs_grpo-s0", "heldout.jsonl", "fs_grpo-s0", "heldout"),
        ("fs_grpo-s0", f"{COMBOS}.jsonl", f"{COMBOS}-fs_grpo-s0", COMBOS),
        ("fs_grpo-s1", "heldout.jsonl", "fs_grpo-s1", "heldout"),
        ("fs_grpo-s1", f"{COMBOS}.jsonl", f"{COMBOS}-fs_grpo-s1", COMBOS),
    ]  # fmt: skip
    combos = [json.loads(x) for x in (out / "data" / "records" / f"{COMBOS}.jsonl").read_text().splitlines()]
    assert len(combos) == 6 and {r["split"] for r in combos} == {COMBOS}
