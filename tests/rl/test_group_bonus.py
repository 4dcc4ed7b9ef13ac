"""The group half of the reward in verl's agent-loop manager (RayPPOTrainer), and the check that some
carrier adds it under whichever trainer runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avr.rl.group_bonus import AGENT_LOOP_MANAGER, group_term_problem
from avr.rl.reward import RewardConfig

PAPER = RewardConfig.load("paper")


def _batch(formats, uids, step, lengths):
    """A manager's output as verl's AgentLoopWorker builds it (scores at the last valid token, the reward's
    extra keys as non-tensors) and the prompts it was given (uid, global_steps)."""
    from verl import DataProto

    n, width = len(formats), 6
    mask = torch.zeros(n, width, dtype=torch.long)
    scores = torch.zeros(n, width)
    for i, ln in enumerate(lengths):
        mask[i, :ln] = 1
        scores[i, ln - 1] = 1.0
    extra = {"format": np.array(formats), "base": np.array([1.0] * n), "correct": np.array([True] * n)}
    for k in ("length", "length_factor", "format_term"):
        extra[k] = np.array([1.0] * n)
    extra["valid_ground_truth"] = np.array([True] * n)
    extra["grading_timed_out"] = np.array([False] * n)
    output = DataProto.from_dict(tensors={"rm_scores": scores, "response_mask": mask}, non_tensors=extra)
    output.meta_info["reward_extra_keys"] = list(extra)
    prompts = DataProto.from_dict(
        tensors={"dummy": torch.zeros(n, 1)}, non_tensors={"uid": np.array(uids, dtype=object)}
    )
    prompts.meta_info["global_steps"] = step
    return output, prompts


def test_the_bonus_lands_at_each_rollouts_last_token_by_uid_group():
    from avr.rl.agent_loop import add_group_bonus

    # group a: formats 1, 3, 3 (shares 1/3, 2/3); group b: 1, 1 (one format: no bonus); w(0) = 0.5
    output, prompts = _batch([1, 3, 3, 1, 1], ["a", "a", "a", "b", "b"], step=0, lengths=[2, 6, 3, 1, 4])
    metrics = add_group_bonus(output, prompts, PAPER, total_steps=10)
    want = [0.5 * (1 - 1 / 3), 0.5 * (1 - 2 / 3), 0.5 * (1 - 2 / 3), 0.0, 0.0]
    got = output.batch["rm_scores"]
    for i, (b, ln) in enumerate(zip(want, [2, 6, 3, 1, 4], strict=True)):
        assert got[i, ln - 1].item() == pytest.approx(1.0 + b)
        assert got[i].sum().item() == pytest.approx(1.0 + b)  # nothing anywhere else
    assert metrics["avr/diversity_weight"] == 0.5
    assert metrics["avr/mean_diversity_bonus"] == pytest.approx(sum(want) / 5)
    assert metrics["avr/mean_score"] == pytest.approx(1.0 + sum(want) / 5)
    assert metrics["avr/answer/share"] == pytest.approx(3 / 5)


def test_no_bonus_once_the_schedule_ends_and_rows_must_match_prompts():
    from avr.rl.agent_loop import add_group_bonus

    output, prompts = _batch([1, 3], ["a", "a"], step=10, lengths=[2, 2])
    metrics = add_group_bonus(output, prompts, PAPER, total_steps=10)
    assert metrics["avr/diversity_weight"] == 0.0 and output.batch["rm_scores"].sum().item() == 2.0
    output, prompts = _batch([1, 3], ["a", "a"], step=1, lengths=[2, 2])
    prompts = prompts[:1]
    with pytest.raises(ValueError, match="2 rollouts for 1 prompts"):
        add_group_bonus(output, prompts, PAPER, total_steps=10)


@pytest.mark.parametrize(
    "use_v1, mode, manager, wanted",
    [
        (True, "fs_grpo", None, None),
        (True, "fs_grpo", AGENT_LOOP_MANAGER, None),
        (False, "fs_grpo", AGENT_LOOP_MANAGER, None),
        (False, "sync", AGENT_LOOP_MANAGER, None),
        (True, "sync", AGENT_LOOP_MANAGER, "set trainer.v1.trainer_mode=fs_grpo"),
        (False, "fs_grpo", None, f"set it to {AGENT_LOOP_MANAGER}"),
        (None, "fs_grpo", AGENT_LOOP_MANAGER, "trainer.use_v1 is not set"),
    ],
)
def test_a_config_without_a_carrier_for_the_bonus_is_named(use_v1, mode, manager, wanted):
    problem = group_term_problem(use_v1, mode, manager)
    assert (problem is None) if wanted is None else (wanted in problem)


def test_the_reward_manager_refuses_a_config_that_drops_the_bonus(tiny_model):
    """Even when verl is started without train-fs-grpo.sh's check, the reward workers refuse."""
    from omegaconf import OmegaConf
    from verl.utils.tokenizer import hf_tokenizer

    from avr.rl.reward_manager import AdaptiveRewardManager

    config = OmegaConf.create(
        {
            "avr": {"reward_config": "paper"},
            "trainer": {"use_v1": False, "v1": {"trainer_mode": "fs_grpo"}},
            "actor_rollout_ref": {"actor": {"optim": {"total_training_steps": 4}}, "rollout": {"agent": {}}},
        }
    )
    with pytest.raises(ValueError, match="agent_loop_manager_class=None"):
        AdaptiveRewardManager(config, hf_tokenizer(str(tiny_model)))
    config.actor_rollout_ref.rollout.agent.agent_loop_manager_class = AGENT_LOOP_MANAGER
    AdaptiveRewardManager(config, hf_tokenizer(str(tiny_model)))
