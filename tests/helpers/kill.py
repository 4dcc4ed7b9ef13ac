"""Kill a real job midway: the resume tests of avr eval and avr data annotate share this."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path


def kill_after_lines(
    cmd: list[str], env: dict[str, str], path: Path, lines: int = 2, timeout: float = 600
) -> list[str]:
    """Start ``cmd``, SIGKILL it once ``path`` holds ``lines`` lines, return the lines it left.

    ``timeout`` only bounds a job that never writes: it is minutes, because a loaded machine may take
    one to import torch and load a model, and the wait ends as soon as the lines are there."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if path.is_file() and len(path.read_text().splitlines()) >= lines:
            break
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    return path.read_text().splitlines() if path.is_file() else []
