"""Atomic file writes: a crash or a bad row never leaves a half-written output behind."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Write to a temp file beside ``path`` and rename it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def exclusive_lock(directory: str | os.PathLike, what: str) -> Iterator[None]:
    """Hold ``directory/.avr.lock`` for the block: a second process appending to the same outputs
    (a job launched twice) fails at once, naming the directory, instead of interleaving rows."""
    import fcntl

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".avr.lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(
                f"{directory}: another {what} is writing here; wait for it or use another --out"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    with atomic_open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data)


def write_jsonl(path: str | os.PathLike, rows: list[dict]) -> None:
    with atomic_open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_appended_jsonl(path: str | os.PathLike) -> list[dict]:
    """Every row of a JSONL file that a resumable job appends to (predictions, annotations).

    A killed job can leave only its last line torn: that line is dropped and the file rewritten, so
    the rerun appends after whole rows. A bad line anywhere else is damage, not a kill, and an error
    naming the line.
    """
    path = Path(path)
    if not path.is_file():
        return []
    rows, torn = [], False
    lines = path.read_text(encoding="utf-8").splitlines()
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            if lineno != len(lines):
                raise ValueError(
                    f"{path}: line {lineno} is not valid JSON (only a last line may be torn)"
                ) from None
            torn = True
    if torn:
        write_jsonl(path, rows)
    return rows


def write_rows_report(path: str | os.PathLike, rows: list[dict]) -> None:
    """Write a JSONL report, or remove a stale one when there is nothing to report."""
    if rows:
        write_jsonl(path, rows)
    else:
        Path(path).unlink(missing_ok=True)
