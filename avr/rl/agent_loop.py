"""The FS-GRPO group bonus in verl's agent-loop manager: the trainer-agnostic half of AVR's reward.

``actor_rollout_ref.rollout.agent.agent_loop_manager_class=avr.rl.agent_loop.FSGRPOAgentLoopManager``
(a public verl config key, read by ``RayPPOTrainer`` at ``ray_trainer.py:940`` and by the v1
``TaskRunnerV1`` at ``main_ppo.py:120``). The manager's ``generate_sequences`` returns the whole
step's rollouts, already scored per sample by the ``adaptive_reward`` manager (``rm_scores`` at the
last valid token, ``format`` among the reward's extra keys), in the order of the prompts it was
given, which carry ``uid`` and ``meta_info["global_steps"]``. So it adds each response's diversity
bonus there, before the trainer computes GRPO advantages, and never on a validation batch.

verl's ``RayPPOTrainer`` (``trainer.use_v1=false``) is the trainer upstream keeps (its ``neo`` branch
restores it and drops the v1 trainer). Under verl 0.9.1's v1 trainer the manager only dispatches
prompts and the rollouts reach the trainer through TransferQueue, so ``create`` hands the v1 trainer
verl's own ``AgentLoopManagerTQ`` and the bonus is the ``fs_grpo`` trainer mode's
(``avr/rl/trainer_mode.py``): one config key, the right carrier under either trainer, the bonus added
exactly once. ``avr.rl.config_check`` refuses a config under which neither would run.

The step's ``avr/*`` figures reach the logger through the one channel ``RayPPOTrainer`` reads from a
rollout manager, ``meta_info["timing"]``: verl logs them as ``timing_s/avr/...``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from avr.rl.group_bonus import AGENT_LOOP_MANAGER, add_at_last_valid_token, group_term_problem, step_metrics
from avr.rl.reward import RewardConfig, diversity_bonuses, diversity_weight
from avr.rl.reward_manager import reward_config_from, total_training_steps
from avr.rl.verl_version import require_verl_series

require_verl_series(__name__)

from verl import DataProto  # noqa: E402  (after the version check: a wrong verl fails with one line)
from verl.experimental.agent_loop import AgentLoopManager  # noqa: E402
from verl.utils.ray_utils import auto_await  # noqa: E402

logger = logging.getLogger(__name__)


def add_group_bonus(
    output: DataProto, prompts: DataProto, config: RewardConfig, total_steps: int
) -> dict[str, float]:
    """Add each rollout's diversity bonus to ``output``'s ``rm_scores`` in place; the step's metrics.

    ``output`` row i is the rollout of ``prompts`` row i (verl's manager keeps the order), so the
    group of a row is ``prompts``'s ``uid``; its format is what the reward manager reported.
    """
    step = int(prompts.meta_info.get("global_steps", 0) or 0)
    uids = [str(u) for u in prompts.non_tensor_batch["uid"]]
    if len(uids) != len(output):
        raise ValueError(f"avr: {len(output)} rollouts for {len(uids)} prompts; cannot group them by uid")
    formats = [int(f) for f in output.non_tensor_batch.get("format", np.zeros(len(output)))]
    bonus = diversity_bonuses(formats, uids, step=step, total_steps=total_steps, config=config)
    if any(bonus):
        output.batch["rm_scores"] = add_at_last_valid_token(
            output.batch["rm_scores"], output.batch["response_mask"], bonus
        )
    keys = [k for k in output.meta_info.get("reward_extra_keys", []) if k in output.non_tensor_batch]
    infos = [{k: output.non_tensor_batch[k][i] for k in keys} for i in range(len(output))]
    return step_metrics(infos, bonus, [False] * len(output), diversity_weight(step, total_steps, config))


class FSGRPOAgentLoopManager(AgentLoopManager):
    """verl's agent-loop manager, adding the FS-GRPO group bonus to each training batch it returns."""

    @classmethod
    def create(cls, *args: Any, config: Any, **kwargs: Any) -> Any:
        assert f"{cls.__module__}.{cls.__qualname__}" == AGENT_LOOP_MANAGER
        problem = group_term_problem(
            config.trainer.get("use_v1"), config.trainer.get("v1", {}).get("trainer_mode"), AGENT_LOOP_MANAGER
        )
        if problem:  # verl started without train-fs-grpo.sh's check: refuse rather than train without it
            raise ValueError(f"avr: {problem}")
        if bool(
            config.trainer.get("use_v1", False)
        ):  # v1: rollouts go to TransferQueue; the trainer mode adds
            from verl.trainer.ppo.v1 import AgentLoopManagerTQ

            return AgentLoopManagerTQ.create(*args, config=config, **kwargs)
        return super().create(*args, config=config, **kwargs)

    @auto_await
    async def generate_sequences(self, prompts: DataProto) -> DataProto:
        output = await super().generate_sequences(prompts)
        if prompts.meta_info.get("validate", False) or "rm_scores" not in output.batch.keys():  # noqa: SIM118 (a TensorDict)
            return output  # validation is scored without the bonus; no scores yet: nothing to add to
        if getattr(self, "_avr_reward_config", None) is None:  # the run's frozen copy, read once
            self._avr_reward_config = reward_config_from(self.config)
        metrics = add_group_bonus(output, prompts, self._avr_reward_config, total_training_steps(self.config))
        output.meta_info.setdefault("timing", {}).update(metrics)
        return output
