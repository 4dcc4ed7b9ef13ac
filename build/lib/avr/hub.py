"""The Hugging Face hub, as AVR talks about it: is it off, and which command downloads a repository.

Data sets and benchmarks missing on disk are named with the command that fetches them. The locked
``huggingface_hub`` ships the ``hf`` CLI (its ``huggingface-cli`` only prints that it no longer
works), so every printed command is built here, and a test parses each one with the installed CLI.
"""

from __future__ import annotations

import os
import shlex

# huggingface_hub's own reading of its boolean variables (constants._is_true): these strings, any case.
_TRUE = frozenset({"1", "ON", "YES", "TRUE"})


def offline() -> bool:
    """``HF_HUB_OFFLINE`` as huggingface_hub reads it: the hub must not be reached."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in _TRUE


def download_command(
    repo_id: str, local_dir: str | os.PathLike, *, repo_type: str = "dataset", include: str | None = None
) -> str:
    """The ``hf download`` line that puts ``repo_id`` in ``local_dir`` in its published layout."""
    parts = ["hf", "download", repo_id]
    if repo_type != "model":
        parts += ["--repo-type", repo_type]
    parts += ["--local-dir", str(local_dir)]
    if include:
        parts += ["--include", include]
    return " ".join(shlex.quote(p) for p in parts)
