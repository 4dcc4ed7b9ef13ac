"""The group half of the FS-GRPO reward, on the layouts verl's trainers hand over: pure functions.

verl scores each rollout on its own, so the diversity bonus

    D = w(t) * (1 - share of its format among the valid formats of its uid group)

is added where a whole step is visible: in the agent-loop manager (verl's ``RayPPOTrainer``, and the
design upstream keeps) or in the ``fs_grpo`` trainer mode (verl 0.9.1's v1 trainer). Both call these
functions; the arithmetic itself is ``avr.rl.reward.diversity_bonuses``, the one ``score_batch`` uses.
"""

from __future__ import annotations

from typing import Any

import torch

from avr.rl.reward import RewardResult, diversity_bonuses, summarize


def session_of(key: str) -> str:
    """verl's agent loop keys outputs ``{uid}_{session_id}_{index}``: one rollout is one session."""
    return key.rsplit("_", 1)[0]


def group_bonuses(
    keys: list[str],
    uids: list[Any],
    formats: list[int],
    padding: list[bool],
    *,
    step: int,
    total_steps: int,
    config,
) -> list[float]:
    """The bonus of each output: formats counted once per session, padding copies ignored."""
    sessions: dict[str, int] = {}
    s_formats, s_groups = [], []
    for key, uid, fmt, pad in zip(keys, uids, formats, padding, strict=True):
        if pad:
            continue
        s = session_of(key)
        if s not in sessions:
            sessions[s] = len(s_formats)
            s_formats.append(int(fmt))
            s_groups.append(uid)
    per_session = diversity_bonuses(s_formats, s_groups, step=step, total_steps=total_steps, config=config)
    return [
        0.0 if pad else per_session[sessions[session_of(k)]] for k, pad in zip(keys, padding, strict=True)
    ]


def add_at_last_valid_token(
    scores: torch.Tensor, response_mask: torch.Tensor, bonus: list[float]
) -> torch.Tensor:
    """scores[i, last valid token] += bonus[i] on padded [B, L] tensors (rows without tokens untouched)."""
    scores = scores.clone()
    lengths = response_mask.long().sum(dim=1)
    for i, b in enumerate(bonus):
        if b and lengths[i] > 0:
            last = int(torch.nonzero(response_mask[i]).max())
            scores[i, last] += b
    return scores


def step_metrics(infos: list[dict], bonus: list[float], padding: list[bool], w: float) -> dict[str, float]:
    """avr/* metrics of the step: per-format share, accuracy and length; the mean of each term; w(t)."""
    results = [
        RewardResult.from_per_sample(info, b)
        for info, b, pad in zip(infos, bonus, padding, strict=True)
        if not pad and "format" in info
    ]
    metrics = summarize(results)
    metrics["avr/diversity_weight"] = w
    return metrics


AGENT_LOOP_MANAGER = "avr.rl.agent_loop.FSGRPOAgentLoopManager"
TRAINER_MODE = "fs_grpo"


def group_term_problem(use_v1: Any, trainer_mode: Any, manager_class: Any) -> str | None:
    """Why the diversity bonus would silently not be added under this config, in one line; or None.

    verl builds the ``fs_grpo`` trainer mode only when ``trainer.use_v1`` is true, and calls a custom
    agent-loop manager's ``generate_sequences`` with the rollouts only under ``RayPPOTrainer``
    (``use_v1`` false). Either way nothing errors when the carrier is missing: the run trains on the
    per-sample reward alone and the ``avr/*`` metrics just disappear.
    """
    if use_v1 is None:
        return (
            "trainer.use_v1 is not set: which verl trainer runs (and so what adds the FS-GRPO group bonus) "
            "would follow verl's default, which upstream is changing; pin it in the recipe"
        )
    if bool(use_v1) and trainer_mode != TRAINER_MODE:
        return (
            f"trainer.use_v1=true runs verl's v1 trainer, where the FS-GRPO group bonus is added by the "
            f"trainer mode, but trainer.v1.trainer_mode={trainer_mode}: set trainer.v1.trainer_mode={TRAINER_MODE}"
        )
    if not bool(use_v1) and manager_class != AGENT_LOOP_MANAGER:
        return (
            f"trainer.use_v1=false runs verl's RayPPOTrainer, where the FS-GRPO group bonus is added by the "
            f"agent-loop manager, but actor_rollout_ref.rollout.agent.agent_loop_manager_class={manager_class}: "
            f"set it to {AGENT_LOOP_MANAGER}"
        )
    return None
