"""Is this a working GPU environment for stage 2? One line per component, the failures named.

    python -m avr.rl.env_check          # what setup_env.sh --gpu runs last; the runbook's first step

Checks, each on its own so one failure does not hide the next: torch sees a CUDA device (and the
driver is new enough for its CUDA build), flash-attn's kernels load and run (verl's FSDP engine loads
models with ``flash_attention_2``), vLLM imports at the version verl 0.9.1 is built against, and verl is
the verl release (0.9.1) AVR's plugins are written for. Exit status 1 when any fails.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

VLLM_VERSION = "0.24.0"


def check_torch_cuda() -> str:
    import torch

    if not torch.cuda.is_available():
        raise RuntimeError(
            f"torch {torch.__version__} (built for CUDA {torch.version.cuda}) sees no CUDA device: no GPU "
            f"here, or the NVIDIA driver is older than this CUDA build needs (CUDA 13.0: driver >= 580)"
        )
    name = torch.cuda.get_device_name(0)
    return f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.device_count()} x {name}"


def check_flash_attn() -> str:
    import flash_attn
    import torch
    from flash_attn import flash_attn_func

    if not torch.cuda.is_available():
        raise RuntimeError(f"flash_attn {flash_attn.__version__} imports, but its kernels need a CUDA device")
    q = torch.randn(1, 8, 2, 64, device="cuda", dtype=torch.bfloat16)
    flash_attn_func(q, q, q, causal=True)  # loads and runs the kernel for this GPU's architecture
    torch.cuda.synchronize()
    return f"flash_attn {flash_attn.__version__}, kernel ran"


def check_vllm() -> str:
    import vllm

    if vllm.__version__ != VLLM_VERSION:
        raise RuntimeError(f"vllm {vllm.__version__} found, verl 0.9.1 is built against {VLLM_VERSION}")
    return f"vllm {vllm.__version__}"


def check_verl() -> str:
    from importlib.metadata import version

    from avr.rl.verl_version import verl_version_error

    installed = version("verl")
    problem = verl_version_error(installed)
    if problem:
        raise RuntimeError(problem)
    import verl  # noqa: F401  (loads avr's plugins, as every Ray worker will)
    from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls
    from verl.trainer.ppo.v1 import get_trainer_cls

    get_reward_manager_cls("adaptive_reward")
    get_trainer_cls("fs_grpo")
    return f"verl {installed}, adaptive_reward and fs_grpo registered"


CHECKS: dict[str, Callable[[], str]] = {
    "torch.cuda": check_torch_cuda,
    "flash_attn": check_flash_attn,
    "vllm": check_vllm,
    "verl": check_verl,
}


def run_checks(checks: dict[str, Callable[[], str]] = CHECKS) -> list[tuple[str, bool, str]]:
    """(name, ok, one line) for each check; an exception is the failure's line, never a traceback."""
    results = []
    for name, fn in checks.items():
        try:
            results.append((name, True, fn()))
        except ModuleNotFoundError as e:
            results.append((name, False, f"not installed ({e.name} is missing)"))
        except Exception as e:
            line = " ".join(str(e).split()) or type(e).__name__
            results.append((name, False, f"{type(e).__name__}: {line}"))
    return results


def main() -> int:
    results = run_checks()
    for name, ok, line in results:
        print(f"env_check: {name}: {'ok' if ok else 'FAILED'}: {line}", file=sys.stdout if ok else sys.stderr)
    failed = [name for name, ok, _ in results if not ok]
    if failed:
        print(
            f"env_check: {len(failed)} of {len(results)} checks failed: {', '.join(failed)}", file=sys.stderr
        )
        return 1
    print("env_check: the GPU environment is ready for stage 2")
    return 0


if __name__ == "__main__":
    sys.exit(main())
