"""Did the FS-GRPO bonus really reach verl's scores? The verdict of scripts/gpu_smoke.sh.

Metric names alone prove nothing: the trainer mode logs ``avr/*`` even when every bonus is 0 or the
bonus never reaches verl's tensors. This reads the metrics verl's ``file`` logger wrote (one JSON line a
step: ``{"step": N, "data": {...}}``) and checks, step by step, that
- verl's own ``critic/score/mean`` (computed from the rm_scores the trainer mode rewrote) equals
  ``avr/mean_base + avr/mean_diversity_bonus``: the bonus is in the scores GRPO normalised;
- on some step with w(t) > 0, the mean bonus is not 0 (a smoke run whose groups never mixed two
  formats would prove nothing, and is reported as such).

Under verl's ``RayPPOTrainer`` the agent-loop manager's figures arrive through verl's timing channel, so
verl logs them as ``timing_s/avr/...``; they are read as ``avr/...`` here, whichever trainer wrote them.

    python -m avr.rl.smoke_metrics METRICS_JSONL
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

KEYS = ("critic/score/mean", "avr/mean_base", "avr/mean_diversity_bonus", "avr/diversity_weight")


def check_steps(steps: list[dict], *, tol: float = 1e-4) -> tuple[list[str], list[str]]:
    """(report lines, problems) for the logged training steps; no problems means the bonus was applied."""
    lines, problems = [], []
    train = [s for s in steps if "avr/diversity_weight" in s.get("data", {})]
    if not train:
        return lines, [
            "no training step logged avr/diversity_weight: neither the fs_grpo trainer mode nor avr's "
            "agent-loop manager ran (is the group bonus's carrier configured? python -m avr.rl.config_check)"
        ]
    applied = False
    for s in train:
        d, step = s["data"], s.get("step")
        missing = [k for k in KEYS if k not in d]
        if missing:
            problems.append(f"step {step}: {', '.join(missing)} not logged")
            continue
        score, base, bonus, w = (float(d[k]) for k in KEYS)
        ok = abs(score - (base + bonus)) <= tol
        lines.append(
            f"step {step}: w(t) = {w:.4f}; verl's critic/score/mean {score:.4f} "
            f"{'=' if ok else '!='} base {base:.4f} + bonus {bonus:.4f}"
        )
        if not ok:
            problems.append(
                f"step {step}: critic/score/mean {score:.6f} != avr/mean_base + avr/mean_diversity_bonus "
                f"{base + bonus:.6f}: the bonus did not reach verl's scores"
            )
        if w > 0 and bonus != 0:
            applied = True
    if not applied:
        mix = {k: v for k, v in train[0]["data"].items() if k.endswith("/share")}
        problems.append(
            "no step with w(t) > 0 had a non-zero mean bonus: no group mixed two valid formats, so the run "
            f"cannot show the bonus (first step's format shares: {mix}); use a multi-format SFT model"
        )
    return lines, problems


TIMING_PREFIX = "timing_s/"  # RayPPOTrainer's prefix for what a rollout manager reports (agent_loop.py)


def avr_metrics(data: dict) -> dict:
    """``data`` with ``timing_s/avr/*`` also under ``avr/*`` (the same figures, under either trainer)."""
    lifted = {k[len(TIMING_PREFIX) :]: v for k, v in data.items() if k.startswith(TIMING_PREFIX + "avr/")}
    return {**lifted, **data}


def read_steps(path: Path) -> list[dict]:
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}: line {n}: not JSON ({e})") from e
            if isinstance(row.get("data"), dict):
                row["data"] = avr_metrics(row["data"])
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m avr.rl.smoke_metrics METRICS_JSONL", file=sys.stderr)
        return 2
    path = Path(args[0])
    if not path.is_file():
        print(f"smoke_metrics: {path}: no metrics file (did verl's file logger run?)", file=sys.stderr)
        return 1
    lines, problems = check_steps(read_steps(path))
    for line in lines:
        print(f"smoke_metrics: {line}")
    for p in problems:
        print(f"smoke_metrics: FAILED: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
