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


def check_schedule(
    steps: list[dict],
    expected_steps: list[int],
    total_steps: int,
    config_path: str | Path,
    *,
    tol: float = 1e-6,
) -> tuple[list[str], list[str]]:
    """(report lines, problems): the logged training steps are ``expected_steps``, each with the w(t) of the
    run's reward config at horizon ``total_steps``. After a kill and a resume this shows that the step
    counter and the decay went on where the checkpoint left them, not from step 1 again."""
    from avr.rl.reward import RewardConfig, diversity_weight

    config = RewardConfig.load(config_path)
    train = [s for s in steps if "avr/diversity_weight" in s.get("data", {})]
    logged = [int(s["step"]) for s in train]
    problems = (
        [] if logged == expected_steps else [f"training steps logged {logged}, expected {expected_steps}"]
    )
    lines = []
    for s in train:
        step, w = int(s["step"]), float(s["data"]["avr/diversity_weight"])
        want = diversity_weight(step, total_steps, config)
        lines.append(f"step {step}: w(t) {w:.4f}, expected w({step}) = {want:.4f} at T = {total_steps}")
        if abs(w - want) > tol:
            problems.append(
                f"step {step}: w(t) = {w:.6f}, expected {want:.6f}: the schedule did not continue"
            )
    return lines, problems


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(
        prog="python -m avr.rl.smoke_metrics",
        description="Check verl's file-logger metrics: score = base + bonus on every step, a bonus while "
        "w(t) > 0; with --steps, also which steps were logged and their w(t) (a killed and resumed run: "
        "pass each part's file in order).",
    )
    ap.add_argument("metrics", nargs="+", type=Path, help="VERL_FILE_LOGGER_PATH file(s), in run order")
    ap.add_argument("--steps", help="the training steps the files must hold, e.g. 1,2,3")
    ap.add_argument("--total-steps", type=int, help="T, the run's horizon (with --steps)")
    ap.add_argument(
        "--reward-config", default="paper", help="the run's avr_reward_config.yaml (with --steps)"
    )
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    steps = []
    for path in args.metrics:
        if not path.is_file():
            print(f"smoke_metrics: {path}: no metrics file (did verl's file logger run?)", file=sys.stderr)
            return 1
        steps += read_steps(path)
    lines, problems = check_steps(steps)
    if args.steps:
        if args.total_steps is None:
            ap.error("--steps needs --total-steps")
        wanted = [int(x) for x in args.steps.split(",") if x.strip()]
        more_lines, more = check_schedule(steps, wanted, args.total_steps, args.reward_config)
        lines, problems = lines + more_lines, problems + more
    for line in lines:
        print(f"smoke_metrics: {line}")
    for p in problems:
        print(f"smoke_metrics: FAILED: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
