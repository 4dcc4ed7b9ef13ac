"""The FS-GRPO trainer mode for stock verl 0.9.1: the group half of AVR's reward.

verl's reward loop scores one rollout at a time, so the ``adaptive_reward`` manager cannot see a
group. The trainer does: this registers ``trainer.v1.trainer_mode=fs_grpo``, a ``PPOTrainerSync``
whose advantage step first adds each response's diversity bonus

    D = w(t) * (1 - share of its format among the valid formats of its uid group)

to its score at the last valid token, then lets verl's own GRPO advantage normalise within the
group. w(t) uses the trainer's ``global_steps`` and ``total_training_steps``; validation does not
run this step, so it never sees the bonus. The arithmetic is ``avr.rl.reward.diversity_bonuses``, the
same function ``score_batch`` uses.

Loaded through the ``verl.plugins`` entry point (``avr_trainer``) in the driver and in every Ray
actor, including verl's ``TaskRunnerV1`` where the trainer is built.
"""

from __future__ import annotations

import logging
from typing import Any

from avr.rl.group_bonus import add_at_last_valid_token, group_bonuses, step_metrics
from avr.rl.reward import diversity_weight
from avr.rl.reward_manager import reward_config_from
from avr.rl.verl_version import require_verl_series

require_verl_series(__name__)  # the v1 trainer this subclasses is verl 0.9.1's (upstream deletes it)

logger = logging.getLogger(__name__)

TRAINER_MODE = "fs_grpo"
FIELDS = ["uid", "response_mask", "rm_scores", "extra_fields"]


def _extra_infos(extra_fields: Any) -> list[dict]:
    items = extra_fields.tolist() if hasattr(extra_fields, "tolist") else list(extra_fields)
    return [(e or {}).get("reward_extra_info", {}) if isinstance(e, dict) else {} for e in items]


def replay_buffer_poll_s(config: Any) -> float | None:
    """``avr.replay_buffer_poll_s`` (seconds > 0), or None to keep verl's own poll interval."""
    value = (config.get("avr") or {}).get("replay_buffer_poll_s")
    if value is None:
        return None
    try:
        poll = float(value)
    except (TypeError, ValueError):
        poll = -1.0
    if not poll > 0:
        raise ValueError(f"avr.replay_buffer_poll_s must be a number of seconds > 0, got {value!r}")
    return poll


def _register() -> None:
    import transfer_queue as tq
    from tensordict import TensorDict
    from verl.trainer.ppo.v1 import PPOTrainerSync, register_trainer
    from verl.workers.utils.padding import response_to_nested

    @register_trainer(TRAINER_MODE)
    class FSGRPOTrainer(PPOTrainerSync):
        """verl's sync trainer with the FS-GRPO diversity bonus added before the GRPO advantage."""

        # verl's base trainer tests `trainer_mode == "sync"` by name (replay buffer, batch sizes,
        # checkpoints); any other name silently gets the async behaviour. Report "sync" to it.
        @property
        def trainer_mode(self) -> str:
            return "sync"

        @trainer_mode.setter
        def trainer_mode(self, value: str) -> None:
            self._registered_mode = value

        def _build_replay_buffer(self):
            # verl's sync replay buffer checks for finished rollouts every `poll_interval` seconds, a
            # constructor argument (default 2.0, replay_buffer.py:144) its trainer never passes: each
            # step then waits for the next 2-second tick after its last rollout. On a CPU, where a
            # step's compute is ~3 s, that is most of the step. `avr.replay_buffer_poll_s` sets it.
            buffer = super()._build_replay_buffer()
            poll = replay_buffer_poll_s(self.config)
            if poll is not None:
                buffer.poll_interval = poll
            return buffer

        def _compute_advantage(self, batch, metrics: dict):
            # Loaded once per run (the run's frozen copy: avr.rl.frozen_preset), as the manager loads it.
            if getattr(self, "_avr_reward_config", None) is None:
                self._avr_reward_config = reward_config_from(self.config)
            config = self._avr_reward_config
            step, total = int(self.global_steps), int(self.total_training_steps)
            data = tq.kv_batch_get(keys=batch.keys, partition_id=batch.partition_id, select_fields=FIELDS)
            nested_mask = data["response_mask"]
            infos = _extra_infos(data["extra_fields"])
            uids = (
                [str(u) for u in data["uid"].tolist()]
                if hasattr(data["uid"], "tolist")
                else list(data["uid"])
            )
            padding = [bool(tag.get("is_padding", False)) for tag in batch.tags]
            formats = [int(i.get("format", 0)) for i in infos]
            bonus = group_bonuses(
                batch.keys, uids, formats, padding, step=step, total_steps=total, config=config
            )
            if any(bonus):
                padded = data.select("rm_scores", "response_mask").to_padded_tensor()
                scores = add_at_last_valid_token(padded["rm_scores"], padded["response_mask"], bonus)
                out = TensorDict(
                    {"rm_scores": response_to_nested(scores, nested_mask)}, batch_size=len(batch)
                )
                tq.kv_batch_put(keys=batch.keys, partition_id=batch.partition_id, fields=out)
            metrics.update(step_metrics(infos, bonus, padding, diversity_weight(step, total, config)))
            return super()._compute_advantage(batch, metrics)


try:
    _register()
except Exception:  # verl swallows plugin import errors at DEBUG level; say it where people look
    logger.warning("avr: could not register the '%s' trainer mode with verl", TRAINER_MODE, exc_info=True)
    raise
