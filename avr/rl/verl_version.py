"""The verl release AVR's adapters are written against, checked where they are imported.

verl logs a plugin that fails to import only at DEBUG level, so a wrong verl would otherwise train
without AVR's reward and say nothing: each adapter calls ``require_verl_series`` first, and the
complaint goes to stderr as one line.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version

VERL_SERIES = (0, 9)  # the v1 trainer, reward loop and agent loop these modules plug into


def verl_version_error(installed: str | None) -> str | None:
    """The one-line complaint about an installed verl that is not the 0.9.x series, or None."""
    from packaging.version import InvalidVersion, Version

    want = ".".join(map(str, VERL_SERIES))
    try:
        ok = installed is not None and Version(installed).release[:2] == VERL_SERIES
    except InvalidVersion:
        ok = False
    if ok:
        return None
    return (
        f"avr: verl {installed or '(not installed)'} found, but avr's verl plugins (adaptive_reward, fs_grpo) "
        f"are written for verl {want}.x and its v1 trainer; install the pinned one: "
        f"pip install 'verl[verl-core]==0.9.1'"
    )


def require_verl_series(module: str) -> None:
    """Fail the import of ``module`` with one clear line unless verl 0.9.x is installed."""
    try:
        installed: str | None = version("verl")
    except PackageNotFoundError:
        installed = None
    message = verl_version_error(installed)
    if message:
        print(message, file=sys.stderr)  # verl swallows plugin import errors at DEBUG level
        raise ImportError(f"{module}: {message}")
