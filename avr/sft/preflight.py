"""Checks before and after a LLaMA-Factory run, called by ``train-sft.sh``.

LLaMA-Factory fails late and deep on a missing model, a data set that is not registered, or a
misspelled key (a traceback after seconds or minutes of start-up on a cluster). This reads the
recipe exactly as ``llamafactory-cli train`` does (OmegaConf: YAML merged with ``key=value``
overrides) and fails first, naming the recipe and the key.

    python -m avr.sft.preflight sft-preflight RECIPE [key=value ...]
    python -m avr.sft.preflight sft-report RECIPE [key=value ...]
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import sys
from pathlib import Path
from typing import Any

from avr.hub import offline

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


class PreflightError(ValueError):
    pass


def load_sft_recipe(recipe: str | Path, overrides: list[str]) -> dict[str, Any]:
    """The recipe as LLaMA-Factory's ``read_args`` builds it."""
    from omegaconf import OmegaConf

    recipe = Path(recipe)
    if not recipe.is_file():
        raise PreflightError(f"recipe not found: {recipe}")
    bad = [o for o in overrides if "=" not in o]
    if bad:
        raise PreflightError(f"overrides must be key=value, got {bad}")
    try:
        cfg = OmegaConf.merge(OmegaConf.load(recipe.absolute()), OmegaConf.from_cli(list(overrides)))
    except Exception as e:
        raise PreflightError(f"{recipe}: cannot parse: {e}") from None
    return OmegaConf.to_container(cfg)


def llamafactory_keys() -> set[str]:
    """Every key ``llamafactory-cli train`` accepts (its train dataclasses + Ray's)."""
    from llamafactory.hparams.parser import _TRAIN_ARGS, RayArguments

    return {f.name for cls in [*_TRAIN_ARGS, RayArguments] for f in dataclasses.fields(cls)}


def last_checkpoint(output_dir: str | Path) -> Path | None:
    """The highest-numbered ``checkpoint-N`` under output_dir (what HF's Trainer resumes from)."""
    out = Path(output_dir)
    if not out.is_dir():
        return None
    steps = [(int(m.group(1)), p) for p in out.iterdir() if (m := CHECKPOINT.match(p.name)) and p.is_dir()]
    return max(steps)[1] if steps else None


def check_model(path: str, key: str = "model_name_or_path") -> str:
    p = Path(path).expanduser()
    if p.exists():
        if not (p / "config.json").is_file():
            raise PreflightError(f"{key}={path}: directory has no config.json, not a Hugging Face model")
        return f"model: {p.resolve()}"
    if HUB_ID.match(path) and not path.startswith((".", "/")):
        try:
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(path, "config.json")
        except Exception:
            cached = None
        if isinstance(cached, str):
            return f"model: {path} (hub cache)"
        if offline():
            raise PreflightError(
                f"{key}={path}: not a local directory, not in the HF cache, and HF_HUB_OFFLINE=1"
            )
        return f"model: {path} (will be downloaded from the hub)"
    raise PreflightError(f"{key}={path}: model path not found")


def check_datasets(cfg: dict[str, Any]) -> list[str]:
    names = [n.strip() for n in str(cfg.get("dataset") or "").split(",") if n.strip()]
    if not names:
        raise PreflightError("dataset: no data set named")
    ddir = Path(str(cfg.get("dataset_dir", "data")))
    info_path = ddir / "dataset_info.json"
    if not info_path.is_file():
        raise PreflightError(
            f"dataset_dir={ddir}: no dataset_info.json (build one with `avr data sft --out {ddir}`)"
        )
    info = json.loads(info_path.read_text(encoding="utf-8"))
    out = []
    for name in names:
        if name not in info:
            raise PreflightError(
                f"dataset={name}: not in {info_path} (it has: {', '.join(sorted(info)) or 'none'})"
            )
        entry = info[name]
        if "file_name" in entry and not (ddir / entry["file_name"]).exists():
            raise PreflightError(f"dataset={name}: {ddir / entry['file_name']} is missing")
        out.append(f"dataset: {name} ({ddir / entry.get('file_name', name)})")
    return out


def preflight(recipe: str | Path, overrides: list[str]) -> list[str]:
    """Validate a recipe + overrides; returns lines to print, raises PreflightError with the key."""
    cfg = load_sft_recipe(recipe, overrides)
    known = llamafactory_keys()
    for key in cfg:
        if key not in known:
            hint = difflib.get_close_matches(key, known, n=1)
            raise PreflightError(
                f"{recipe}: unknown key {key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
            )
    if "model_name_or_path" not in cfg:
        raise PreflightError(f"{recipe}: model_name_or_path is not set")
    lines = [check_model(str(cfg["model_name_or_path"]))]
    if cfg.get("do_train", True):
        lines += check_datasets(cfg)
    ds = cfg.get("deepspeed")
    if ds:
        if not Path(str(ds)).is_file():
            raise PreflightError(f"deepspeed={ds}: file not found")
        try:
            import deepspeed  # noqa: F401
        except ImportError:
            raise PreflightError(
                f"deepspeed={ds}: the deepspeed package is not installed (GPU setup installs it)"
            ) from None
    out_dir = cfg.get("output_dir")
    if not out_dir:
        raise PreflightError(f"{recipe}: output_dir is not set")
    ckpt = last_checkpoint(out_dir)
    if ckpt is not None and not cfg.get("overwrite_output_dir"):
        lines.append(f"resume: {ckpt} (LLaMA-Factory resumes from the last checkpoint in output_dir)")
    elif Path(out_dir).is_dir() and any(Path(out_dir).iterdir()) and not cfg.get("overwrite_output_dir"):
        if (Path(out_dir) / "trainer_state.json").is_file() and (Path(out_dir) / "config.json").is_file():
            raise PreflightError(
                f"output_dir={out_dir}: already holds a finished run; pick another output_dir or set overwrite_output_dir=true"
            )
        raise PreflightError(
            f"output_dir={out_dir}: not empty and has no checkpoint to resume; set overwrite_output_dir=true"
        )
    lines.append(f"output: {Path(out_dir).resolve()}")
    return lines


def report(recipe: str | Path, overrides: list[str]) -> list[str]:
    """Where the run put its model and checkpoints."""
    cfg = load_sft_recipe(recipe, overrides)
    out = Path(str(cfg["output_dir"])).resolve()
    lines = [f"SFT model (HF format): {out}"]
    ckpt = last_checkpoint(out)
    if ckpt is not None:
        lines.append(f"last checkpoint: {ckpt}")
    if (out / "training_loss.png").is_file():
        lines.append(f"loss curve: {out / 'training_loss.png'}")
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 2 or argv[0] not in ("sft-preflight", "sft-report"):
        print(__doc__, file=sys.stderr)
        return 2
    cmd, target, rest = argv[0], argv[1], argv[2:]
    who = "train-sft"
    try:
        lines = (preflight if cmd == "sft-preflight" else report)(target, rest)
    except PreflightError as e:
        print(f"{who}: error: {e}", file=sys.stderr)
        return 2
    for line in lines:
        print(f"{who}: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
