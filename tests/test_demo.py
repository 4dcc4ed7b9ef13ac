"""The README's demo command, shortened: the whole stage-1 demo runs and reports."""

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


def test_demo_runs_stage1_and_resumes(tmp_path, env):
    cmd = [
        sys.executable,
        "-m",
        "avr.cli",
        "demo",
        "--out",
        str(tmp_path / "demo"),
        "--n",
        "48",
        "--max-steps",
        "8",
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    summary = json.loads((tmp_path / "demo" / "stage1_summary.json").read_text())
    assert summary["n"] == 12 and abs(sum(summary["format_mix"].values()) - 1) < 1e-9
    assert (tmp_path / "demo" / "sft" / "model.safetensors").is_file()
    assert "[demo] done" in r.stdout
    # a second run finds every step done and does not train again
    r2 = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert r2.returncode == 0 and "[demo] SFT already done" in r2.stdout
