"""The math-verify child process of ``avr.grading``: one JSON request a line in, ``1``/``0`` out.

A request is ``[gold, pred]`` or ``[gold, pred, float_rounding]`` (decimal places math-verify rounds
floats to before comparing; default 6).

Run as ``python -m avr._math_worker``. A plain subprocess (not multiprocessing) so that it starts
the same way from any parent: a script without a main guard, a thread, or a Ray worker.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time


def exit_with_parent(poll: float = 1.0) -> threading.Thread:
    """Exit when the parent dies. A grading call past its deadline is killed by the parent, but a
    parent that dies first (a killed Ray worker, a stopped test run) would leave this child expanding
    a runaway expression for good, holding a core and gigabytes. sympy is Python, so this thread gets
    the interpreter between its steps."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll)
        os._exit(0)

    t = threading.Thread(target=watch, name="exit-with-parent", daemon=True)
    t.start()
    return t


def main() -> None:
    exit_with_parent()
    from functools import lru_cache

    from math_verify import parse as _parse
    from math_verify import verify

    @lru_cache(maxsize=65536)
    def parse(text: str, parsing_timeout=None):  # a ground truth is parsed once, not once per rollout
        return _parse(text, parsing_timeout=parsing_timeout)

    # The protocol gets its own copy of stdout; fd 1 then points at stderr, so that anything a library
    # prints (math-verify warns on stdout-adjacent loggers) can never corrupt the answers.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    out.write(b"ready\n")
    out.flush()
    for line in sys.stdin.buffer:
        try:
            gold, pred, *rest = json.loads(line)
            rounding = int(rest[0]) if rest else 6
            g = parse(gold if "$" in gold else f"${gold}$", parsing_timeout=None)
            p = parse(pred if "$" in pred else f"${pred}$", parsing_timeout=None)
            ok = bool(g) and bool(p) and bool(verify(g, p, float_rounding=rounding, timeout_seconds=None))
        except Exception:
            ok = False
        out.write(b"1\n" if ok else b"0\n")
        out.flush()


if __name__ == "__main__":
    main()
