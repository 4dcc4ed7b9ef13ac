"""The math-verify child outlives no parent: an orphan would expand a runaway expression for good."""

from __future__ import annotations

import os
import subprocess
import sys
import time

# A parent that starts the real worker, hands it an expansion that takes minutes, prints the child's
# pid and exits without killing it (as a killed Ray worker would).
_PARENT = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-m", "avr._math_worker"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
assert child.stdout.readline().strip() == b"ready"
child.stdin.write(b'["(x+1)^{100000}", "(x+2)^{99999}"]\\n')
child.stdin.flush()
print(child.pid, flush=True)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie awaiting its reaper is gone for our purpose
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_an_orphaned_worker_exits_mid_expansion():
    done = subprocess.run([sys.executable, "-c", _PARENT], capture_output=True, text=True, timeout=120)
    pid = int(done.stdout.strip())
    deadline = time.monotonic() + 60  # it polls each second; a minute covers a loaded machine
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    alive = _alive(pid)
    if alive:
        os.kill(pid, 9)
    assert not alive, "the orphaned math-verify child kept running"
