"""Where AVR's recipes and presets live, and how a preset YAML is read.

Every recipe and preset lives in ``train_configs/<kind>/`` (``reward``, ``fs_grpo``, ``sft``, ``data``,
``annotate``, ``experiment``, ``cpu_standin``). ``config_dir()`` is the one place that finds that
folder, so a wheel installed into a Ray image or a cluster's shared Python finds it as an editable
checkout does:

1. ``$AVR_CONFIG_DIR``, when set: a folder with the same layout (a site's own presets);
2. otherwise the package ``avr.train_configs``: the checkout's ``train_configs/`` in an editable
   install, the copy shipped inside the wheel otherwise (``[tool.setuptools.package-dir]``).

A preset is a name under ``train_configs/<kind>/`` or a path, read as one mapping. The reward,
annotation, CPU stand-in and experiment configs all resolve the same way, so a typo in a name or a
file that is not a mapping fails the same way, naming the file.

A preset may start from another with ``base: NAME`` (a name in the same directory, or a path): the
base is read first and this file's keys are merged over it, nested mappings key by key, as Hydra's
defaults list does for verl's recipes. An ablation is then one switch in a file of its own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CONFIG_ENV = "AVR_CONFIG_DIR"
KINDS = ("annotate", "cpu_standin", "data", "experiment", "fs_grpo", "reward", "sft")


def config_dir() -> Path:
    """The ``train_configs`` folder: ``$AVR_CONFIG_DIR``, else the one shipped with the package."""
    env = os.environ.get(CONFIG_ENV, "").strip()
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(
                f"{CONFIG_ENV}={env}: not a directory (it should hold reward/, fs_grpo/, ...)"
            )
        return path.resolve()
    from importlib.resources import files

    return Path(str(files("avr.train_configs")))


def config_path(kind: str) -> Path:
    """``train_configs/<kind>``: the folder of one kind of recipe or preset."""
    if kind not in KINDS:
        raise ValueError(f"unknown config kind {kind!r}; known: {', '.join(KINDS)}")
    return config_dir() / kind


def repo_root() -> Path:
    """The checkout this package runs from: the shell launchers (``train-sft.sh``, ...) live there.

    The demo and the miniature experiment drive those launchers, so they need a checkout; a wheel
    installed elsewhere has only the Python side.
    """
    root = Path(__file__).resolve().parents[1]
    if not (root / "train-sft.sh").is_file():
        raise FileNotFoundError(
            f"no AVR checkout around {Path(__file__).parent}: the launchers (train-sft.sh, train-fs-grpo.sh) "
            "are in the repository, not in the wheel; run this from a clone (bash setup_env.sh)"
        )
    return root


def framework_env() -> dict[str, str]:
    """This interpreter's bin first on PATH, so the launchers find the same environment's CLIs."""
    import sys

    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``; mappings merge recursively, anything else is replaced."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _resolve(name_or_path: str | Path, preset_dir: Path | str, what: str) -> Path:
    preset_dir = config_path(preset_dir) if isinstance(preset_dir, str) else preset_dir
    path = Path(name_or_path)
    if not path.suffix:
        path = preset_dir / f"{name_or_path}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in preset_dir.glob("*.yaml")) if preset_dir.is_dir() else []
        raise FileNotFoundError(f"{what} not found: {path} (presets: {', '.join(known) or 'none'})")
    return path


def read_preset(name_or_path: str | Path, preset_dir: Path | str, what: str) -> tuple[Path, dict[str, Any]]:
    """(path, mapping). A bare name (no suffix) is ``<dir>/<name>.yaml``, where ``preset_dir`` is a
    config kind (``"reward"``: ``config_path("reward")``) or a folder; anything else is a path."""
    import yaml

    path = _resolve(name_or_path, preset_dir, what)
    chain = [path]
    data: dict[str, Any] = {}
    layers = []
    while True:
        layer = yaml.safe_load(chain[-1].read_text(encoding="utf-8")) or {}
        if not isinstance(layer, dict):
            raise ValueError(
                f"{chain[-1]}: expected a mapping of {what} settings, got {type(layer).__name__}"
            )
        layers.append(layer)
        base = layer.pop("base", None)
        if base is None:
            break
        nxt = _resolve(base, chain[-1].parent, what)
        if nxt in chain:
            raise ValueError(f"{path}: 'base' chain loops: {' -> '.join(map(str, [*chain, nxt]))}")
        chain.append(nxt)
    for layer in reversed(layers):
        data = deep_merge(data, layer)
    return path, data
