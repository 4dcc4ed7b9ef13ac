"""Stage 2 through the user's own launcher, for the demo and the miniature experiment.

``train_fs_grpo`` runs ``train-fs-grpo.sh`` (here on its CPU backend: verl's own loop, FSDP2 over
gloo, the HF rollout replica) in a subprocess with a progress bar fed by verl's file logger, and
``merge`` turns the last FSDP checkpoint into a Hugging Face model with ``scripts/merge_checkpoint.sh``:
exactly the commands a GPU user runs, so the demo and the experiment test them too.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from avr.config import framework_env, repo_root

METRICS = "metrics.jsonl"  # verl's file logger output, in the run's folder
MERGED = "model"  # the merged Hugging Face model, in the run's folder


def logged_steps(metrics: Path) -> list[dict]:
    """The steps verl's file logger has written so far (a line still being written is skipped)."""
    rows = []
    for line in metrics.read_text().splitlines() if metrics.is_file() else []:
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def train_fs_grpo(
    sft_model: Path,
    rl_dir: Path,
    run_dir: Path,
    *,
    recipe: str = "cpu_tiny",
    overrides: Sequence[str] = (),
    workers: int = 1,
    total_steps: int | None = None,
    desc: str = "FS-GRPO (verl, CPU)",
) -> Path:
    """``bash train-fs-grpo.sh --cpu --recipe RECIPE ...`` into ``run_dir/ckpt``; returns that folder.

    A rerun resumes from the last checkpoint (verl's resume_mode=auto) or returns at once when the
    last step is checkpointed. The full log goes to ``run_dir/train.log``; raises naming it on failure.
    """
    ckpt, log_path, metrics = run_dir / "ckpt", run_dir / "train.log", run_dir / METRICS
    latest = ckpt / "latest_checkpointed_iteration.txt"
    if total_steps is not None and latest.is_file() and latest.read_text().strip() == str(total_steps):
        return ckpt
    run_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        "bash", str(repo_root() / "train-fs-grpo.sh"), "--cpu", "--recipe", recipe, "--gpus", str(workers),
        "--sft-model", str(sft_model), "--data-dir", str(rl_dir), "--output-dir", str(ckpt),
        "trainer.logger=[console,file]", *overrides,
    ]  # fmt: skip
    env = {**framework_env(), "VERL_FILE_LOGGER_PATH": str(metrics)}
    with log_path.open("a") as log, tqdm(desc=desc, unit="step", total=total_steps) as bar:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=repo_root())
        while proc.poll() is None:
            time.sleep(1.0)
            steps = [r.get("step", 0) for r in logged_steps(metrics)]
            if steps and max(steps) != bar.n:
                bar.n = max(steps)
                bar.refresh()
    if proc.returncode != 0:
        raise RuntimeError(f"stage 2 (verl) failed (exit {proc.returncode}); see {log_path}")
    return ckpt


def merge(ckpt: Path, target: Path) -> Path:
    """``scripts/merge_checkpoint.sh CKPT --target-dir TARGET`` (the latest step); skipped when done."""
    if (target / "config.json").is_file() and any(target.glob("*.safetensors")):
        return target
    cmd = [
        "bash",
        str(repo_root() / "scripts" / "merge_checkpoint.sh"),
        str(ckpt),
        "--target-dir",
        str(target),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, env=framework_env(), cwd=repo_root())
    (target.parent / "merge.log").write_text(r.stdout + r.stderr)
    if r.returncode != 0:
        raise RuntimeError(f"merging {ckpt} failed (exit {r.returncode}); see {target.parent / 'merge.log'}")
    return target
