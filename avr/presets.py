"""YAML presets: a name under ``train_configs/<kind>/`` or a path, read as one mapping.

The reward, annotation, CPU stand-in and experiment configs all resolve the same way, so a typo in a
name or a file that is not a mapping fails the same way, naming the file.

A preset may start from another with ``base: NAME`` (a name in the same directory, or a path): the
base is read first and this file's keys are merged over it, nested mappings key by key, as Hydra's
defaults list does for verl's recipes. An ablation is then one switch in a file of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``; mappings merge recursively, anything else is replaced."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _resolve(name_or_path: str | Path, preset_dir: Path, what: str) -> Path:
    path = Path(name_or_path)
    if not path.suffix:
        path = preset_dir / f"{name_or_path}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in preset_dir.glob("*.yaml")) if preset_dir.is_dir() else []
        raise FileNotFoundError(f"{what} not found: {path} (presets: {', '.join(known) or 'none'})")
    return path


def read_preset(name_or_path: str | Path, preset_dir: Path, what: str) -> tuple[Path, dict[str, Any]]:
    """(path, mapping). A bare name (no suffix) is ``preset_dir/<name>.yaml``; anything else a path."""
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
