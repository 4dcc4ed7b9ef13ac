"""YAML presets: a name under ``train_configs/<kind>/`` or a path, read as one mapping.

The reward, annotation and CPU stand-in configs all resolve the same way, so a typo in a name or a
file that is not a mapping fails the same way, naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def read_preset(name_or_path: str | Path, preset_dir: Path, what: str) -> tuple[Path, dict[str, Any]]:
    """(path, mapping). A bare name (no suffix) is ``preset_dir/<name>.yaml``; anything else a path."""
    import yaml

    path = Path(name_or_path)
    if not path.suffix:
        path = preset_dir / f"{name_or_path}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in preset_dir.glob("*.yaml")) if preset_dir.is_dir() else []
        raise FileNotFoundError(f"{what} not found: {path} (presets: {', '.join(known) or 'none'})")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of {what} settings, got {type(data).__name__}")
    return path, data
