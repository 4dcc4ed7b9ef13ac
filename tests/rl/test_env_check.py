"""The GPU environment's checks, run where they can be: on this CPU machine they must name each failure
in one line; setup_env.sh --gpu must refuse a driver too old for torch's CUDA 13 build before installing."""

import os
import subprocess
import sys

import pytest

from avr.rl.env_check import run_checks
from tests import REPO


def test_each_failure_is_one_line_and_the_others_still_run():
    def broken():
        raise RuntimeError("kernel\nfailed   to load")

    def missing():
        import avr_no_such_module  # noqa: F401

    results = run_checks({"a": lambda: "fine", "b": broken, "c": missing, "d": lambda: "also fine"})
    assert results == [
        ("a", True, "fine"),
        ("b", False, "RuntimeError: kernel failed to load"),
        ("c", False, "not installed (avr_no_such_module is missing)"),
        ("d", True, "also fine"),
    ]


@pytest.mark.e2e
def test_on_this_cpu_machine(env):
    """No GPU, no flash-attn, no vllm here: three named failures, and verl with avr's plugins is ok."""
    r = subprocess.run([sys.executable, "-m", "avr.rl.env_check"], capture_output=True, text=True, env=env)
    assert r.returncode == 1
    err = [line for line in r.stderr.splitlines() if line.startswith("env_check:")]
    assert (
        err[0].startswith("env_check: torch.cuda: FAILED: RuntimeError: torch ")
        and "sees no CUDA device" in err[0]
    )
    assert err[1] == "env_check: flash_attn: FAILED: not installed (flash_attn is missing)"
    assert err[2] == "env_check: vllm: FAILED: not installed (vllm is missing)"
    assert err[3] == "env_check: 3 of 4 checks failed: torch.cuda, flash_attn, vllm"
    assert "env_check: verl: ok: verl 0.9.1, adaptive_reward and fs_grpo registered" in r.stdout
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("driver, refused", [("550.54.15", True), ("", False)])
def test_setup_env_checks_the_driver_before_installing(driver, refused, tmp_path):
    """A fake nvidia-smi reports the driver; an old one stops setup before a venv or a download."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "nvidia-smi"
    fake.write_text(f"#!/bin/sh\necho '{driver}'\n")
    fake.chmod(0o755)
    venv = tmp_path / "venv"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "AVR_VENV": str(venv),
        "PYTHON": "/bin/false",
        "AVR_CUDA_COMPAT_SEARCH": str(tmp_path / "no-compat-here"),
    }
    r = subprocess.run(["bash", str(REPO / "setup_env.sh"), "--gpu"], capture_output=True, text=True, env=env)
    if refused:
        assert r.returncode == 2 and not venv.exists()
        assert "NVIDIA driver 550.54.15 is too old" in r.stderr and "needs driver >= 580" in r.stderr
    else:  # nothing to check here: a warning, then setup goes on (and stops at the fake interpreter)
        assert "no NVIDIA driver to check here" in r.stderr
        assert "Python >= 3.11 is required" in r.stderr


@pytest.mark.parametrize("with_lib", [True, False])
def test_an_older_driver_goes_through_the_cuda_compat_libraries(with_lib, tmp_path):
    """R550/R570 nodes: CUDA 13 through NVIDIA's forward-compatibility package, named with --cuda-compat."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "nvidia-smi").write_text("#!/bin/sh\necho '570.124.06'\n")
    (bin_dir / "nvidia-smi").chmod(0o755)
    compat = tmp_path / "compat"
    compat.mkdir()
    if with_lib:
        (compat / "libcuda.so.1").write_text("")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "AVR_VENV": str(tmp_path / "venv"),
           "PYTHON": "/bin/false", "AVR_CUDA_COMPAT_SEARCH": str(tmp_path / "none")}  # fmt: skip
    r = subprocess.run(["bash", str(REPO / "setup_env.sh"), "--gpu", "--cuda-compat", str(compat)],
                       capture_output=True, text=True, env=env)  # fmt: skip
    if with_lib:  # accepted: setup goes on (and stops at the fake interpreter)
        assert f"using the CUDA 13 forward-compatibility libraries in {compat}" in r.stderr
        assert "Python >= 3.11 is required" in r.stderr
    else:
        assert r.returncode == 2 and f"--cuda-compat {compat}: no libcuda.so.1 there" in r.stderr


def test_the_refusal_names_both_ways_through(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "nvidia-smi").write_text("#!/bin/sh\necho '550.54.15'\n")
    (bin_dir / "nvidia-smi").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "AVR_VENV": str(tmp_path / "venv"),
           "PYTHON": "/bin/false", "AVR_CUDA_COMPAT_SEARCH": str(tmp_path / "none")}  # fmt: skip
    r = subprocess.run(["bash", str(REPO / "setup_env.sh"), "--gpu"], capture_output=True, text=True, env=env)
    assert (
        r.returncode == 2
        and "Update the driver, or install NVIDIA's CUDA 13 forward-compatibility" in r.stderr
    )
    assert "--cuda-compat DIR" in r.stderr


def test_the_launchers_put_the_compat_libraries_first():
    for script in ("train-sft.sh", "train-fs-grpo.sh", "scripts/slurm/fs_grpo_multinode.sbatch"):
        text = (REPO / script).read_text()
        assert "avr-cuda-compat" in text and "LD_LIBRARY_PATH" in text, script
