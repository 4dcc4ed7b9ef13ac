"""The verl release AVR's adapters are written against, checked where they are imported.

verl logs a plugin that fails to import only at DEBUG level, so a wrong verl would otherwise train
without AVR's reward and say nothing: each adapter calls ``require_verl_series`` first, and the
complaint goes to stderr as one line.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version

# The release these modules are written and tested against: its trainers, reward loop and agent loop,
# its default trainer (trainer.use_v1), and the internals the CPU backend works around. A later 0.9.x
# may change any of them (upstream flips use_v1's default and deletes the v1 trainer), so the guard
# is the exact release, not the series.
VERL_VERSION = (0, 9, 1)


def verl_version_error(installed: str | None) -> str | None:
    """The one-line complaint about an installed verl that is not the pinned release, or None."""
    from packaging.version import InvalidVersion, Version

    want = ".".join(map(str, VERL_VERSION))
    try:
        ok = installed is not None and Version(installed).release[:3] == VERL_VERSION
    except InvalidVersion:
        ok = False
    if ok:
        return None
    return (
        f"avr: verl {installed or '(not installed)'} found, but avr's verl plugins (adaptive_reward, fs_grpo, "
        f"the agent-loop manager) are written for verl {want}; install the pinned one: "
        f"pip install 'verl[verl-core]=={want}'"
    )


def require_verl_series(module: str) -> None:
    """Fail the import of ``module`` with one clear line unless the pinned verl is installed."""
    try:
        installed: str | None = version("verl")
    except PackageNotFoundError:
        installed = None
    message = verl_version_error(installed)
    if message:
        print(message, file=sys.stderr)  # verl swallows plugin import errors at DEBUG level
        raise ImportError(f"{module}: {message}")
