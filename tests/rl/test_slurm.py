"""scripts/slurm/fs_grpo_multinode.sbatch, run with a fake srun, scontrol and ray on PATH: every step
gets the job's CPUs, Ray is told them, and training starts only once every node's GPUs registered."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests import REPO

SBATCH = REPO / "scripts/slurm/fs_grpo_multinode.sbatch"

FAKES = {
    "scontrol": "echo node1; echo node2\n",
    "srun": 'echo "srun $*" >> "$LOG"\ncase "$*" in *"hostname --ip-address"*) echo 10.0.0.1 ;; esac\n',
    # `ray status` shows 8 GPUs (one node) for the first READY-1 calls, then 16
    "ray": 'echo "ray $*" >> "$LOG"\n'
    'if [ "$1" = status ]; then n=$(($(cat "$COUNT" 2>/dev/null || echo 0) + 1)); echo $n > "$COUNT"\n'
    '  if [ $n -ge "$READY" ]; then echo " 0.0/16.0 GPU"; else echo " 0.0/8.0 GPU"; fi; fi\n',
}


def _run(tmp_path, ready: int, wait_s: int = 60) -> tuple[subprocess.CompletedProcess, list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in FAKES.items():
        (bin_dir / name).write_text("#!/bin/sh\n" + body)
        (bin_dir / name).chmod(0o755)
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "activate").write_text("")
    log = tmp_path / "calls.log"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "LOG": str(log),
        "COUNT": str(tmp_path / "count"),
        "READY": str(ready),
        "SLURM_SUBMIT_DIR": str(tmp_path),
        "SLURM_JOB_NODELIST": "node[1-2]",
        "SLURM_GPUS_PER_NODE": "8",
        "SLURM_CPUS_PER_TASK": "32",
        "RAY_POLL_S": "0",
        "RAY_WAIT_S": str(wait_s),
    }
    r = subprocess.run(["bash", str(SBATCH)], capture_output=True, text=True, env=env, timeout=120)
    return r, log.read_text().splitlines()


def test_every_step_gets_the_cpus_and_training_waits_for_every_gpu(tmp_path):
    r, calls = _run(tmp_path, ready=3)
    assert r.returncode == 0, r.stderr
    starts = [c for c in calls if c.startswith("srun") and "ray start" in c]
    assert len(starts) == 2 and all("--cpus-per-task=32" in c and "--num-cpus=32" in c for c in starts)
    train = [i for i, c in enumerate(calls) if "train-fs-grpo.sh" in c]
    assert len(train) == 1 and "--cpus-per-task=32" in calls[train[0]] and "--nnodes 2" in calls[train[0]]
    statuses = [i for i, c in enumerate(calls) if c.startswith("ray status")]
    assert len(statuses) == 3 and statuses[-1] < train[0]  # polled until 16 GPUs, then trained
    assert "Ray: 16 GPUs registered" in r.stdout


@pytest.mark.parametrize("ready", [10**6])
def test_a_node_that_never_registers_stops_the_job_with_a_clear_line(tmp_path, ready):
    r, calls = _run(tmp_path, ready=ready, wait_s=0)
    assert r.returncode == 1
    assert "Ray has 8 GPU(s) registered, not 16 (2 nodes x 8)" in r.stderr
    assert not [c for c in calls if "train-fs-grpo.sh" in c]
