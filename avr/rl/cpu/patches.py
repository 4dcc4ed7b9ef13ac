"""The three places where stock verl 0.9.1 cannot run on a CPU and offers no extension point.

Each patch replaces one name in one verl module, right after verl imports that module (an import hook:
importing the heavy FSDP modules eagerly would slow every Ray process), and only when the check next to
it finds that this verl and this machine still need it. No verl code is copied.

1. ``verl/utils/distributed.py:89`` (``initialize_global_process_group_ray``): with no backend given,
   verl builds ``f"cpu:gloo,{device}:{collective}"``, which on the ``cpu`` platform is
   ``cpu:gloo,cpu:gloo``; torch rejects the duplicate device type. The workers' call
   (``verl/workers/engine_workers.py:89``) gets ``cpu:gloo`` instead. Check: the verl function still
   builds that string (its source).
2. ``verl/workers/rollout/base.py:89-93`` (``_ROLLOUT_REGISTRY``): the private table that maps
   ``rollout.name`` to the server adapter in each trainer worker has no register function.
   ``("hf", "async")`` is added, pointing at ``avr.rl.cpu.rollout.HFServerAdapter``. Check: the key
   is missing.
3. ``verl/workers/engine/fsdp/transformer_impl.py:462``: FSDP2 engines that only run forward (the
   reference policy) always get ``CPUOffloadPolicy(pin_memory=True)``, and pinning memory needs an
   accelerator. That module's ``CPUOffloadPolicy`` becomes a subclass that never pins. Check: this
   machine cannot pin memory.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.util
import inspect
import logging
import sys
from collections.abc import Callable
from types import ModuleType

import torch

logger = logging.getLogger(__name__)

VERIFIED_VERL = "0.9.1"  # the verl whose lines are cited above
ROLLOUT_KEY = ("hf", "async")
ROLLOUT_ADAPTER = "avr.rl.cpu.rollout.HFServerAdapter"

_hooks: dict[str, list[Callable[[ModuleType], None]]] = {}
applied: list[str] = []  # what was patched in this process, for the logs and the tests


class _AfterImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Runs the hooks registered for a module right after the module body has executed."""

    def find_spec(self, name, path, target=None):
        if name not in _hooks:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                self._loaders = getattr(self, "_loaders", {})
                self._loaders[name] = spec.loader
                spec.loader = self
                return spec
        return None

    def create_module(self, spec):
        return self._loaders[spec.name].create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        loader = self._loaders.pop(module.__spec__.name)
        module.__spec__.loader = module.__loader__ = loader
        loader.exec_module(module)
        for hook in _hooks.pop(module.__name__, []):
            hook(module)


_FINDER = _AfterImport()


def after_import(module_name: str, hook: Callable[[ModuleType], None]) -> None:
    """Call ``hook(module)`` once ``module_name`` is imported (now, if it already is)."""
    if module_name in sys.modules:
        hook(sys.modules[module_name])
        return
    _hooks.setdefault(module_name, []).append(hook)
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


# 1. the process group's default backend ---------------------------------------------------------------


def needs_gloo_backend(fn: Callable) -> bool:
    """verl composes ``cpu:gloo,<device>:<collective>`` when no backend is passed (a duplicate on a CPU)."""
    try:
        return 'f"cpu:gloo,{get_device_name()}' in inspect.getsource(fn)
    except (OSError, TypeError):
        return True  # source unavailable: keep the safe behaviour; an explicit backend is always valid


def _gloo_default(module: ModuleType) -> None:
    original = module.initialize_global_process_group_ray
    if not needs_gloo_backend(original) or getattr(original, "_avr_cpu", False):
        return

    @functools.wraps(original)
    def initialize_global_process_group_ray(timeout_second=None, backend=None):
        return original(timeout_second=timeout_second, backend=backend or "cpu:gloo")

    initialize_global_process_group_ray._avr_cpu = True
    module.initialize_global_process_group_ray = initialize_global_process_group_ray
    applied.append(f"gloo process group ({module.__name__})")


# 2. the rollout adapter table ---------------------------------------------------------------------------


def _register_rollout(module: ModuleType) -> None:
    table = module._ROLLOUT_REGISTRY
    if ROLLOUT_KEY not in table:
        table[ROLLOUT_KEY] = ROLLOUT_ADAPTER
        applied.append("rollout adapter hf")


# 3. the reference model's pinned offload ---------------------------------------------------------------


def can_pin_memory() -> bool:
    try:
        torch.empty(1).pin_memory()
    except RuntimeError:
        return False
    return True


def _unpinned_offload(module: ModuleType) -> None:
    policy = module.CPUOffloadPolicy
    if policy is None or getattr(policy, "_avr_cpu", False) or can_pin_memory():
        return

    class UnpinnedCPUOffloadPolicy(policy):
        """FSDP2's CPU offload without pinned host memory (pinning needs an accelerator)."""

        _avr_cpu = True

        def __init__(self, pin_memory: bool = True) -> None:
            super().__init__(pin_memory=False)

    module.CPUOffloadPolicy = UnpinnedCPUOffloadPolicy
    applied.append("unpinned FSDP2 offload")


def install() -> None:
    """Register the three patches (each applied when verl imports its module, if still needed)."""
    import verl

    if verl.__version__ != VERIFIED_VERL:
        logger.warning(
            "avr.rl.cpu: the CPU patches were written against verl %s, this is verl %s; each still "
            "checks that it is needed before it applies",
            VERIFIED_VERL,
            verl.__version__,
        )
    after_import("verl.utils.distributed", _gloo_default)
    after_import("verl.workers.engine_workers", _gloo_default)  # it imported the name before patch
    after_import("verl.workers.rollout.base", _register_rollout)
    after_import("verl.workers.engine.fsdp.transformer_impl", _unpinned_offload)


install()
