"""AVR's adapter to stock verl 0.9.1, loaded through the ``verl.plugins`` entry point.

``import verl`` imports every ``verl.plugins`` entry point, in the driver and in each Ray worker,
so registering here makes ``reward.reward_manager.name=adaptive_reward`` resolve by name with no
fork and no patch.

verl scores each rollout on its own, as soon as it finishes, so this manager computes only the
per-sample part of the FS-GRPO reward (correctness, format shaping, length) through
``avr.rl.reward.score_response``. The group diversity bonus needs the whole group and is added in the
trainer (the FS-GRPO stage), from the ``format`` this manager reports in ``reward_extra_info``.

Settings: ``avr.reward_config`` in the verl config (a preset name such as ``paper`` or ``seed``, or
a YAML path; default ``paper``). The step and horizon are verl's own: ``global_steps`` on the
sample and ``actor_rollout_ref.actor.optim.total_training_steps``, so they survive a resume.

Written against verl 0.9.1: the plugin modules refuse any other release at import, with one line
on stderr (verl itself logs a failed plugin import only at DEBUG level).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from avr.formats import FORMAT_NAMES
from avr.grading import warm_up
from avr.rl.reward import PER_SAMPLE_FIELDS, RewardConfig, diversity_weight, score_response, word_length
from avr.rl.verl_version import require_verl_series

logger = logging.getLogger(__name__)

require_verl_series(__name__)

# Per-sample 0/1 indicators: their mean over any set of samples is that format's share. verl averages
# every extra key per data source in validation (val-aux/<source>/<key>/mean@n), so the format mix
# and accuracy reach the validation logs with no code of ours in the trainer.
FORMAT_SHARE_KEYS = {k: f"is_{name}" for k, name in FORMAT_NAMES.items()}
# Every per-sample term of the reward (as RewardResult declares them), then the schedule and verl's
# conventional accuracy: the trainer mode rebuilds each RewardResult from these.
EXTRA_KEYS = (
    *PER_SAMPLE_FIELDS,
    "step",
    "total_steps",
    "diversity_weight",
    "acc",
    *FORMAT_SHARE_KEYS.values(),
)


def _scalar(value: Any, default: Any = None) -> Any:
    """A per-sample field as a Python scalar (verl hands numpy arrays, 0-d arrays or plain values)."""
    if value is None:
        return default
    if isinstance(value, np.ndarray):
        return value.reshape(-1)[0].item() if value.size else default
    if isinstance(value, list | tuple):
        return value[0] if value else default
    return value


def reward_config_from(config: Any) -> RewardConfig:
    """The preset named by ``avr.reward_config`` in verl's config (default ``paper``)."""
    return RewardConfig.load((config.get("avr") or {}).get("reward_config", "paper"))


def total_training_steps(config: Any) -> int:
    try:
        return int(config.actor_rollout_ref.actor.optim.total_training_steps or 0)
    except (AttributeError, TypeError, ValueError):
        return 0


# verl last: when this module is imported before verl, `import verl` loads the avr_trainer entry point
# while this module is still half-imported, and avr.rl.trainer_mode needs the helpers above.
try:  # verl is optional for the rest of avr; this module is only imported by verl itself
    from verl import DataProto
    from verl.experimental.reward_loop.reward_manager import register
    from verl.experimental.reward_loop.reward_manager.base import RewardManagerBase
except ImportError as e:  # pragma: no cover - only without verl installed
    raise ImportError("avr.rl.reward_manager needs verl: install with `pip install -e .[rl]`") from e


@register("adaptive_reward")
class AdaptiveRewardManager(RewardManagerBase):
    """Per-sample FS-GRPO reward for verl's async reward loop."""

    def __init__(
        self, config, tokenizer, compute_score=None, reward_router_address=None, reward_model_tokenizer=None
    ):
        super().__init__(config, tokenizer, compute_score)
        if "trainer" in config:  # a whole verl config: refuse one that would drop the group bonus
            from avr.rl.group_bonus import group_term_problem

            trainer = config.trainer
            problem = group_term_problem(
                trainer.get("use_v1"),
                (trainer.get("v1") or {}).get("trainer_mode"),
                config.actor_rollout_ref.rollout.get("agent", {}).get("agent_loop_manager_class"),
            )
            if problem:
                raise ValueError(f"avr: {problem}")
        self.reward_config = reward_config_from(config)
        self.total_steps = total_training_steps(config)
        warm_up()  # start the math-verify child before the first rollout arrives

    def score(
        self, response: str, ground_truth: Any, choices: Any, length: float, step: int
    ) -> dict[str, Any]:
        """The per-sample reward and its terms (synchronous; run in an executor by run_single)."""
        choices = list(choices) if choices is not None and len(choices) else None
        result = score_response(
            response, ground_truth, length=length, choices=choices, config=self.reward_config
        )
        info = {
            **result.as_dict(),
            "step": step,
            "total_steps": self.total_steps,
            "diversity_weight": diversity_weight(step, self.total_steps, self.reward_config),
            # "acc" is verl's conventional name: validation then reports it as val-core/<source>/acc
            "acc": float(result.correct),
            **{key: float(result.format == f) for f, key in FORMAT_SHARE_KEYS.items()},
        }
        return {"reward_score": float(result.score), "reward_extra_info": {k: info[k] for k in EXTRA_KEYS}}

    async def run_single(self, data: DataProto) -> dict:
        item = data[-1]
        response_ids = item.batch["responses"]
        n_resp = response_ids.shape[-1]
        valid = int(item.batch["attention_mask"][-n_resp:].sum())
        ids = response_ids[:valid]
        nt = item.non_tensor_batch
        reward_model = nt.get("reward_model") or {}
        ground_truth = reward_model.get("ground_truth") if isinstance(reward_model, dict) else None
        extra = nt.get("extra_info") or {}
        choices = extra.get("choices") if isinstance(extra, dict) else None
        step = int(_scalar(nt.get("global_steps"), 0) or 0)
        response = await self.loop.run_in_executor(
            None, lambda: self.tokenizer.decode(ids, skip_special_tokens=True)
        )
        length = self.response_length(response, valid)
        return await self.loop.run_in_executor(
            None, lambda: self.score(response, ground_truth, choices, length, step)
        )

    def response_length(self, response: str, n_tokens: int) -> float:
        """The length the preset asks for: the rollout's token count, or the seed's words x 1.3."""
        if self.reward_config.length_unit == "words":
            return word_length(response, self.reward_config)
        return float(n_tokens)
