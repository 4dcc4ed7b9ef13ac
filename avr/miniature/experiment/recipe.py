"""Experiment recipes: ``train_configs/experiment/<name>.yaml`` (``base:`` inheritance), validated.

A typo in a key fails before anything trains, naming the file and the key, as the stand-in's and
LLaMA-Factory's recipes do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA: dict[str, set[str]] = {
    "world": set(),
    "data": {
        "sft_items",
        "sft_formats",
        "sft_levels",
        "rl_items",
        "rl_levels",
        "val_items",
        "heldout_items",
        "seed",
    },
    "model": {"size", "seed"},
    "sft": {"recipe", "overrides"},
    "grpo": {"recipe", "overrides", "engine", "workers"},
    "eval": {"max_new_tokens", "pixels", "batch_size"},
    "arms": set(),
}
ARM_KEYS = {"reward", "seeds", "grpo_overrides"}
# Stage 2's engines: verl's own loop on the CPU backend (train-fs-grpo.sh --cpu, then the FSDP checkpoint
# merged), or the stand-in (TRL's GRPOTrainer with the same reward). Both read the same recipe.
ENGINES = ("standin", "verl")


# The SFT model's evaluation modes, and the run folder each writes (eval/<mode_dir>/).
FORCED_MODES = ("forced:1", "forced:2", "forced:3")
BASELINE_MODES = (*FORCED_MODES, "adaptive")
# A world's second held-out set (trio): the held-out combinations in training phrasings, evaluated
# beside the held-out set (eval/heldout-combos-<run>/) so that the two axes are read apart.
COMBOS = "heldout-combos"


def mode_dir(mode: str) -> str:
    return "sft-" + mode.replace(":", "")


@dataclass(frozen=True)
class Arm:
    """One FS-GRPO run family: a reward preset and the seeds it runs with."""

    name: str
    reward: str
    seeds: tuple[int, ...]
    grpo_overrides: dict[str, Any] = field(default_factory=dict)

    def run_names(self) -> list[str]:
        return [f"{self.name}-s{s}" for s in self.seeds]


@dataclass(frozen=True)
class Experiment:
    path: Path
    world: str
    data: dict[str, Any]
    model: dict[str, Any]
    sft: dict[str, Any]
    grpo: dict[str, Any]
    eval: dict[str, Any]
    arms: dict[str, Arm]

    @property
    def sft_formats(self) -> list[int] | dict[int, dict[int, float]] | None:
        """``avr.miniature.synthetic.generate``'s ``formats``: None when formats follow the levels."""
        f = self.data["sft_formats"]
        return None if f == "level" else f


def _check_world_data(path: Path, world: str, d: dict[str, Any]) -> None:
    """The data section against its world (levels, format policy, splits): a mismatch fails at load."""
    from avr.miniature.synthetic import format_shares, world_levels, world_splits

    try:
        levels = list(world_levels(world))
    except ValueError as e:
        raise ValueError(f"{path}: world: {e}") from None
    fmts = d.get("sft_formats")
    if fmts != "level":
        try:
            format_shares(fmts, levels)
        except (ValueError, TypeError, AttributeError) as e:
            raise ValueError(f"{path}: data.sft_formats: {e} (or 'level')") from None
    for key in ("sft_levels", "rl_levels"):
        chosen = d.get(key)
        if chosen is not None and (not chosen or not set(chosen) <= set(levels)):
            raise ValueError(f"{path}: data.{key}: {chosen!r} must list levels of {levels} (repeats weight)")
    if d.get("val_items") and "val" not in world_splits(world):
        raise ValueError(f"{path}: data.val_items: the {world} world has no val split (trio has)")


def load_experiment(recipe: str | os.PathLike = "digits") -> Experiment:
    from avr.config import read_preset

    path, data = read_preset(recipe, "experiment", "experiment recipe")
    for key, value in data.items():
        if key not in SCHEMA:
            raise ValueError(f"{path}: unknown key {key!r}; known: {sorted(SCHEMA)}")
        allowed = SCHEMA[key]
        if allowed and isinstance(value, dict):
            extra = sorted(set(value) - allowed)
            if extra:
                raise ValueError(
                    f"{path}: unknown key(s) {[f'{key}.{k}' for k in extra]}; known: {sorted(allowed)}"
                )
    engine = (data.get("grpo") or {}).get("engine", "standin")
    if engine not in ENGINES:
        raise ValueError(f"{path}: grpo.engine: {engine!r} is not one of {', '.join(ENGINES)}")
    missing = sorted(set(SCHEMA) - set(data))
    if missing:
        raise ValueError(f"{path}: missing section(s) {missing}")
    _check_world_data(path, str(data["world"]), data["data"])
    arms = {}
    for name, spec in (data["arms"] or {}).items():
        if spec is None:  # `name: null` drops an arm inherited through `base:`
            continue
        extra = sorted(set(spec) - ARM_KEYS)
        if extra:
            raise ValueError(f"{path}: arms.{name}: unknown key(s) {extra}; known: {sorted(ARM_KEYS)}")
        seeds = tuple(int(s) for s in spec.get("seeds", [0]))
        if not seeds:
            raise ValueError(f"{path}: arms.{name}: needs at least one seed")
        arms[name] = Arm(name, str(spec["reward"]), seeds, dict(spec.get("grpo_overrides") or {}))
    if not arms:
        raise ValueError(f"{path}: no arms")
    return Experiment(
        path=path,
        world=str(data["world"]),
        data=dict(data["data"]),
        model=dict(data["model"]),
        sft={"overrides": {}, **data["sft"]},
        grpo={"overrides": {}, "engine": "standin", "workers": 1, **data["grpo"]},
        eval=dict(data["eval"]),
        arms=arms,
    )
