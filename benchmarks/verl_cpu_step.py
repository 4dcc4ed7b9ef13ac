"""Seconds per FS-GRPO step of verl's own loop on the CPU backend, and where the time goes.

Runs ``train-fs-grpo.sh --cpu --recipe cpu_tiny`` (4 prompts x 8 samples x 64 tokens a step) from the
committed SFT checkpoint on the digits world, then reads verl's per-step ``timing_s/*`` metrics (its file
logger) and the hf rollout's own per-step line (``generate X s``). verl's ``gen`` is the whole
rollout phase as the trainer sees it (agent loop, reward workers and, under the v1 trainer, the
replay buffer's poll), so ``replay wait = gen - rollout`` is what verl adds around ``generate()``.
Step 1 carries warm-up and is left out of the medians.
Goal: <= 3 s a step on 2 cores.

    .venv/bin/python benchmarks/verl_cpu_step.py [--steps 8] [--workers 1] [--out DIR] [hydra overrides ...]

``avr.replay_buffer_poll_s=null`` restores verl's own 2 s poll (with ``trainer.use_v1=true``; the
default RayPPOTrainer has no replay buffer).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PARTS = ("gen", "old_log_prob", "ref", "adv", "update_actor", "update_weights", "save_checkpoint")
ROLLOUT_LINE = re.compile(
    r"hf rollout replica (\d+): on the weights of step (\d+): (\d+) requests in (\d+) batches, generate ([\d.]+) s"
)


def build_data(out: Path, n: int = 64) -> Path:
    """The digits world's RL parquet at the resolution the SFT checkpoint was trained at (128x64 px)."""
    from avr.data.rl import build_rl_dataset
    from avr.miniature.synthetic import generate

    data = out / "data"
    if not (data / "train.parquet").is_file():
        records = generate(out / "records", n, seed=1, name="rl", world="digits")
        build_rl_dataset([records], data, val_fraction=0.1, seed=0, min_pixels=8192, max_pixels=8192)
    return data


def rollout_seconds(log: str) -> dict[int, float]:
    """Per training step, the hf rollout's generate() time (summed over replicas, the slowest counts)."""
    per_step: dict[int, float] = {}
    for m in ROLLOUT_LINE.finditer(log):
        step, seconds = int(m.group(2)) + 1, float(m.group(5))  # step N trains on rollouts of N - 1's weights
        per_step[step] = max(per_step.get(step, 0.0), seconds)
    return per_step


def table(steps: list[dict], rollout: dict[int, float]) -> list[str]:
    """One row a step, then the median of steps 2.. (step 1 warms up)."""
    header = ["step", "total", "rollout", "replay_wait", *PARTS[1:], "other"]
    rows = []
    for s in steps:
        d = {k.removeprefix("timing_s/"): v for k, v in s["data"].items() if k.startswith("timing_s/")}
        if "step" not in d:
            continue
        gen = d.get("gen", 0.0)
        r = rollout.get(int(s["step"]))
        parts = {p: d.get(p, 0.0) for p in PARTS}
        row = {
            "step": int(s["step"]),
            "total": d["step"],
            "rollout": r if r is not None else float("nan"),
            "replay_wait": gen - r if r is not None else float("nan"),
            **{p: parts[p] for p in PARTS[1:]},
            "other": d["step"] - sum(parts.values()),
        }
        rows.append(row)
    lines = ["  ".join(f"{h:>14}" for h in header)]
    for row in rows:
        lines.append("  ".join(f"{row[h]:>14.2f}" if h != "step" else f"{row[h]:>14d}" for h in header))
    later = rows[1:] or rows
    if later:
        med = {h: statistics.median(r[h] for r in later) for h in header if h != "step"}
        lines.append("  ".join([f"{'median 2..':>14}", *(f"{med[h]:>14.2f}" for h in header[1:])]))
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--workers", type=int, default=1, help="CPU workers (FSDP ranks)")
    ap.add_argument("--model", default=str(REPO / "avr/assets/digits_sft"))
    ap.add_argument("--out", default=str(REPO / "outputs/bench/verl_cpu_step"))
    ap.add_argument("overrides", nargs="*", help="extra Hydra overrides for verl")
    args = ap.parse_args(argv)

    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    data = build_data(out)
    metrics = out / "metrics.jsonl"
    metrics.unlink(missing_ok=True)
    cmd = [
        "bash", str(REPO / "train-fs-grpo.sh"), "--cpu", "--recipe", "cpu_tiny", "--gpus", str(args.workers),
        "--sft-model", args.model, "--data-dir", str(data), "--output-dir", str(out / f"ckpt_{time.time_ns()}"),
        f"trainer.total_training_steps={args.steps}", "trainer.save_freq=-1", "trainer.logger=[console,file]",
        *args.overrides,
    ]  # fmt: skip
    load = os.getloadavg()
    print(f"verl_cpu_step: {args.steps} steps, {args.workers} worker(s), load average {load[0]:.2f} at start")
    t0 = time.monotonic()
    run = subprocess.run(
        cmd, env={**os.environ, "VERL_FILE_LOGGER_PATH": str(metrics)}, capture_output=True, text=True
    )
    wall = time.monotonic() - t0
    log = run.stdout + run.stderr
    (out / "train.log").write_text(log)
    if run.returncode != 0 or not metrics.is_file():
        print(log[-4000:], file=sys.stderr)
        print(
            f"verl_cpu_step: the run failed (rc {run.returncode}); log: {out / 'train.log'}", file=sys.stderr
        )
        return 1
    steps = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    lines = table(steps, rollout_seconds(log))
    print(
        "seconds per step (verl's timing_s/*; rollout = the hf server's generate(); other = the rest of step):"
    )
    print("\n".join(lines))
    load = os.getloadavg()
    print(f"verl_cpu_step: whole run {wall:.0f} s (Ray start, model load, {args.steps} steps, shutdown); "
          f"load average {load[0]:.2f} at end")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
