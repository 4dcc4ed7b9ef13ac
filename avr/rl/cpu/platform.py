"""verl's ``cpu`` platform: what verl asks of a device, answered by the CPU.

verl 0.9.1 resolves every device question through ``verl.plugin.platform.get_platform()`` (the device
name, the ``torch.<device>`` module, the collective backend, the Ray resource). Registering a platform
is verl's extension point for new hardware (``PlatformRegistry.register``); ``VERL_PLATFORM=cpu``
selects this one in every process, and ``VERL_USE_EXTERNAL_MODULES`` imports this module there.

Choices that are not obvious:
- ``current_device()`` returns ``"cpu"``, not an index: verl moves tensors with ``.to(get_device_id())``,
  and an integer there means ``cuda:<n>``.
- The Ray resource stays ``GPU``: verl's resource pool places one worker per "GPU" bundle, so the
  launcher declares fake GPU slots to Ray (``ray_kwargs.ray_init.num_gpus``); no process touches CUDA.
- The engine registry is keyed by device, and verl registers its FSDP engine for ``cuda`` only, so the
  launcher also sets ``VERL_ENGINE_DEVICE=cuda`` (verl/workers/engine/base.py ``get_engine_cls``).
"""

from __future__ import annotations

import os
import types
from contextlib import contextmanager
from typing import Any

import torch
from verl.plugin.platform import PlatformBase, PlatformRegistry

PLATFORM = "cpu"


def _mem_get_info() -> tuple[int, int]:
    """(free, total) bytes of host memory, as ``torch.cuda.mem_get_info`` reports a device's."""
    pages, page = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    try:
        free = os.sysconf("SC_AVPHYS_PAGES") * page
    except (ValueError, OSError):
        free = pages * page
    return free, pages * page


def _noop(*args: Any, **kwargs: Any) -> None:
    return None


def _zero(*args: Any, **kwargs: Any) -> int:
    return 0


def device_module() -> types.ModuleType:
    """``torch.cpu`` plus the ``torch.cuda`` functions verl calls on its device module.

    verl 0.9.1 calls (grep ``get_torch_device()``): empty_cache, synchronize, is_available, streams and
    events, set_device, mem_get_info, get/set_rng_state (checkpoints), the memory counters for its logs.
    """
    mod = types.ModuleType("avr_cpu_device")
    for name in ("synchronize", "current_stream", "stream", "Stream", "Event", "StreamContext"):
        setattr(mod, name, getattr(torch.cpu, name))
    mod.is_available = lambda: True
    mod.device_count = lambda: 1
    mod.current_device = lambda: "cpu"
    mod.get_device_name = lambda *a, **k: "cpu"
    mod.set_device = _noop
    mod.empty_cache = _noop
    mod.ipc_collect = _noop
    mod.reset_peak_memory_stats = _noop
    mod.set_per_process_memory_fraction = _noop
    mod.mem_get_info = lambda *a, **k: _mem_get_info()
    for name in ("memory_allocated", "memory_reserved", "max_memory_allocated", "max_memory_reserved"):
        setattr(mod, name, _zero)
    mod.get_rng_state = lambda *a, **k: torch.get_rng_state()
    mod.set_rng_state = lambda state, *a, **k: torch.set_rng_state(state)
    mod.manual_seed = torch.manual_seed
    mod.manual_seed_all = torch.manual_seed
    return mod


@PlatformRegistry.register(platform=PLATFORM)
class PlatformCPU(PlatformBase):
    """The host CPU as verl's accelerator: gloo collectives, no IPC, no profiler ranges."""

    _module = device_module()

    @property
    def device_name(self) -> str:
        return "cpu"

    @property
    def vendor_name(self) -> str:
        return "cpu"

    @property
    def device_module(self) -> types.ModuleType:
        return self._module

    def is_available(self) -> bool:
        return True

    def is_platform_available(self, use_smi_check: bool = False) -> bool:
        # Never auto-detected: only VERL_PLATFORM=cpu selects it, so a GPU machine that happens to
        # import this module still gets verl's own platform.
        return False

    def current_device(self) -> str:  # type: ignore[override]  # see the module docstring
        return "cpu"

    def device_count(self) -> int:
        return 1

    def set_device(self, device_index: int) -> None:
        return None

    def synchronize(self, device_index: int | None = None) -> None:
        return None

    def manual_seed(self, seed: int) -> None:
        torch.manual_seed(seed)

    def manual_seed_all(self, seed: int) -> None:
        torch.manual_seed(seed)

    def set_allocator_settings(self, settings: str) -> None:
        return None

    def empty_cache(self) -> None:
        return None

    def get_device_capability(self, device_index: int = 0) -> tuple[int | None, int | None]:
        return None, None

    def communication_backend_name(self) -> str:
        return "gloo"

    def visible_devices_envvar(self) -> str:
        return "CUDA_VISIBLE_DEVICES"  # what Ray sets for the fake GPU slots; nothing reads it

    def ray_resource_name(self) -> str:
        return "GPU"

    def ray_noset_envvars(self) -> list[str]:
        return []

    def is_ipc_supported(self) -> bool:
        return False

    @contextmanager
    def nvtx_range(self, msg: str):
        yield

    def profiler_start(self) -> None:
        return None

    def profiler_stop(self) -> None:
        return None

    def cudart(self) -> Any:
        return None
