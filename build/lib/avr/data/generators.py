"""Generated data sources: rows drawn by code instead of read from a download.

A data recipe names a generator as it names a converter (``source: synthetic``). Generators are
found through the ``avr.generators`` entry point group, so the build names them without importing
the packages that define them (the built-in ``synthetic`` world lives in ``avr.miniature``, above
``avr.data``), and a project of one's own can add one in its ``pyproject.toml``:

    [project.entry-points."avr.generators"]
    my_world = "my_package.world:generate"

A generator is ``generate(out_dir, n, *, seed, name, **options) -> Path`` of a records JSONL file.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

GROUP = "avr.generators"

Generator = Callable[..., Path]


@cache
def _entry_points() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def generator_names() -> list[str]:
    return sorted(_entry_points())


def is_generator(name: str) -> bool:
    return name in _entry_points()


def load_generator(name: str) -> Generator:
    """The generate function registered as ``name``."""
    (ep,) = entry_points(group=GROUP, name=name) or (None,)
    if ep is None:
        raise KeyError(
            f"unknown generator {name!r}; registered ({GROUP}): {', '.join(generator_names()) or 'none'}"
        )
    return ep.load()


def generator_module(name: str) -> ModuleType:
    """The module that defines generator ``name``: its source is part of the build's cache key."""
    return sys.modules[load_generator(name).__module__]
