"""One reward config per run: the preset resolved once, saved beside the checkpoints, read by everyone.

The reward is computed in two places (the per-sample manager in each reward worker, the group bonus
in the trainer), possibly on several nodes and across restarts. If each resolved ``paper`` from the
YAML on its own, an edit to the preset during a run, or before a resume, would split the reward in
two. So ``train-fs-grpo.sh`` resolves the preset once, before Ray starts, into
``<trainer.default_local_dir>/avr_reward_config.yaml`` (every constant, no ``base:``), and passes
that file as ``avr.reward_config``; every consumer loads that copy. A resumed run finds the file
and keeps it: the run goes on with the reward it started with, and a preset that now resolves
differently is named on stderr, never silently mixed in.

    python -m avr.rl.frozen_preset CONFIG|-     (the config printed by main_ppo --cfg job --resolve)

prints the saved file's path.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

from avr.rl.reward import RewardConfig

FROZEN_NAME = "avr_reward_config.yaml"


def as_mapping(config: RewardConfig) -> dict[str, Any]:
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}


def freeze(preset_or_path: str | Path, run_dir: str | Path, *, warn=None) -> Path:
    """The run's reward config file: written from ``preset_or_path`` on the first start, kept after.

    ``warn(message)`` hears of a preset that now resolves to other values than the saved copy.
    """
    import yaml

    path = Path(run_dir) / FROZEN_NAME
    wanted = RewardConfig.load(preset_or_path)
    if Path(preset_or_path).resolve() == path.resolve():
        return path  # already the run's own copy (the override train-fs-grpo.sh passes on)
    if path.is_file():
        saved = RewardConfig.load(path)
        if saved != wanted and warn is not None:
            changed = sorted(k for k, v in as_mapping(wanted).items() if as_mapping(saved)[k] != v)
            warn(
                f"{path}: this run started with its own reward config; '{preset_or_path}' now resolves "
                f"differently ({', '.join(changed)}) and is NOT used. The run goes on with the saved "
                f"copy; to train with the new values, start a new --output-dir"
            )
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        f"# The reward of this run, resolved once from '{preset_or_path}' when it started "
        "(avr/rl/frozen_preset.py).\n# Every reward worker and the trainer read this file; a resume keeps it.\n"
    )
    tmp = path.with_suffix(".tmp")
    tmp.write_text(header + yaml.safe_dump(as_mapping(wanted), sort_keys=False), encoding="utf-8")
    tmp.replace(path)
    return path


def main(argv: list[str] | None = None) -> int:
    from omegaconf import OmegaConf

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(
            "usage: python -m avr.rl.frozen_preset FILE|-  (a config printed by main_ppo --cfg job)",
            file=sys.stderr,
        )
        return 2
    config = OmegaConf.create(sys.stdin.read() if args[0] == "-" else Path(args[0]).read_text())
    run_dir = OmegaConf.select(config, "trainer.default_local_dir")
    preset = OmegaConf.select(config, "avr.reward_config", default="paper")
    if not run_dir:
        print("avr.rl.frozen_preset: error: trainer.default_local_dir is not set", file=sys.stderr)
        return 2
    try:
        path = freeze(
            preset, run_dir, warn=lambda m: print(f"avr.rl.frozen_preset: warning: {m}", file=sys.stderr)
        )
    except (OSError, ValueError) as e:
        print(f"avr.rl.frozen_preset: error: avr.reward_config: {e}", file=sys.stderr)
        return 2
    print(path.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
