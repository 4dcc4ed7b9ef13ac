"""A fix for a verl 0.9.1 bug that stops Qwen3-VL runs, on GPUs and on the CPU backend alike.

``verl/workers/utils/padding.py:67`` (``left_right_2_no_padding``, called by ``RayPPOTrainer`` before
every log-prob, reference and update pass, ``ray_trainer.py:1255-1381``) packs Qwen3-VL's mRoPE
``position_ids``, one (4, L_i) tensor per sequence, with ``torch.nested.as_nested_tensor``. When every
sequence of the batch has the same length, torch makes the tensor jagged on the wrong dimension (the 4,
``_ragged_idx`` 1 instead of 2), and verl's later handling of it fails in ``index_select_tensor_dict``
(``verl/utils/tensordict_utils.py:495``) with "Expected cond to be True, but got False" (verl issue 6073
reports the same flip in SFT). The miniature experiment met it at step 179 of 200, once its policy
answered four read-offs with one 37-token sequence each (docs/miniature.md, "Two engines").

The fix rebuilds such a tensor jagged on the sequence dimension (``jagged_dim=2``), exactly as torch
builds it when the lengths differ; every other batch passes through untouched. verl loads this module in
every process through ``VERL_USE_EXTERNAL_MODULES`` (``train-fs-grpo.sh``), before ``ray_trainer``
imports the function by name. Check: torch still flips equal-length (4, L) tensors (the behaviour itself);
if a later torch or verl does not, nothing is replaced.
"""

from __future__ import annotations

import functools
import logging
import sys
from typing import Any

import torch

logger = logging.getLogger(__name__)

applied: list[str] = []  # what was replaced in this process, for the logs and the tests


def torch_flips_equal_lengths() -> bool:
    """Whether ``as_nested_tensor`` makes equal-length (4, L) tensors jagged on dim 1 (the bug's cause)."""
    nt = torch.nested.as_nested_tensor([torch.zeros(4, 3), torch.zeros(4, 3)], layout=torch.jagged)
    return getattr(nt, "_ragged_idx", 2) != 2


def jagged_on_sequence(position_ids: torch.Tensor) -> torch.Tensor:
    """``position_ids`` (nested, B x 4 x *) jagged on the sequence dimension, whatever torch chose."""
    if not (position_ids.is_nested and position_ids.dim() == 3 and position_ids._ragged_idx == 1):
        return position_ids
    per_seq = list(position_ids.unbind())  # ragged on dim 1: each (4, L) tensor comes back whole
    lengths = torch.tensor([t.shape[1] for t in per_seq], dtype=torch.long, device=per_seq[0].device)
    offsets = torch.zeros(len(per_seq) + 1, dtype=torch.long, device=lengths.device)
    torch.cumsum(lengths, dim=0, out=offsets[1:])
    return torch.nested.nested_tensor_from_jagged(torch.cat(per_seq, dim=1), offsets=offsets, jagged_dim=2)


def _fixed(original: Any) -> Any:
    @functools.wraps(original)
    def left_right_2_no_padding(data: Any, *args: Any, **kwargs: Any) -> Any:
        data = original(data, *args, **kwargs)
        if "position_ids" in data.keys():  # noqa: SIM118 (a TensorDict)
            data["position_ids"] = jagged_on_sequence(data["position_ids"])
        return data

    left_right_2_no_padding.__avr_fixed__ = True
    return left_right_2_no_padding


def apply() -> None:
    """Replace ``verl.workers.utils.padding.left_right_2_no_padding`` when torch still flips."""
    import verl.workers.utils.padding as padding

    if getattr(padding.left_right_2_no_padding, "__avr_fixed__", False):
        return
    if not torch_flips_equal_lengths():
        logger.info(
            "avr.rl.verl_fixes: torch keeps equal-length position_ids jagged on dim 2; nothing replaced"
        )
        return
    fixed = _fixed(padding.left_right_2_no_padding)
    padding.left_right_2_no_padding = fixed
    applied.append("verl.workers.utils.padding.left_right_2_no_padding")
    trainer = sys.modules.get("verl.trainer.ppo.ray_trainer")  # imported the name before us: rebind it
    if trainer is not None and hasattr(trainer, "left_right_2_no_padding"):
        trainer.left_right_2_no_padding = fixed
        applied.append("verl.trainer.ppo.ray_trainer.left_right_2_no_padding")


apply()
