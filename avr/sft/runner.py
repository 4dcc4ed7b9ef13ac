"""Stage runners shared by the demo and the miniature experiment.

Both drive the real entry points a user runs (``train-sft.sh`` -> LLaMA-Factory), in a subprocess,
with a progress bar fed by the framework's own log, so that a CPU run of minutes shows where it is.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tqdm import tqdm

from avr.config import framework_env, repo_root


def sft_done(out_dir: Path) -> bool:
    """LLaMA-Factory writes the final weights, then ``trainer_state.json``: both mean finished."""
    return (out_dir / "trainer_state.json").is_file() and (out_dir / "model.safetensors").is_file()


def train_sft(
    recipe: str,
    overrides: Mapping[str, Any],
    out_dir: Path,
    log_path: Path,
    *,
    desc: str = "SFT (LLaMA-Factory)",
) -> Path:
    """``bash train-sft.sh RECIPE key=value ... output_dir=OUT``; a rerun resumes or returns at once.

    The full framework log goes to ``log_path``; the terminal shows a bar fed by LLaMA-Factory's
    ``trainer_log.jsonl``. Raises with the log's path when the run fails.
    """
    if sft_done(out_dir):
        return out_dir
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        "bash",
        str(repo_root() / "train-sft.sh"),
        recipe,
        *[f"{k}={v}" for k, v in overrides.items()],
        f"output_dir={out_dir}",
    ]
    trainer_log = out_dir / "trainer_log.jsonl"
    with log_path.open("a") as log, tqdm(desc=desc, unit="step") as bar:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=framework_env(), cwd=repo_root()
        )
        while proc.poll() is None:
            time.sleep(0.5)
            lines = trainer_log.read_text().splitlines() if trainer_log.is_file() else []
            if lines:
                try:
                    last = json.loads(lines[-1])
                except json.JSONDecodeError:  # a line being written
                    continue
                step = int(last.get("current_steps", bar.n))
                if step == bar.n:  # no new log line: redrawing would repeat the bar in a log file
                    continue
                bar.total = int(last.get("total_steps") or 0) or None
                bar.n = step
                bar.set_postfix(loss=last.get("loss"), refresh=False)
                bar.refresh()
    if proc.returncode != 0:
        raise RuntimeError(f"SFT failed (exit {proc.returncode}); see {log_path}")
    return out_dir
