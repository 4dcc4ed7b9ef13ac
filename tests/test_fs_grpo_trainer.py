"""The FS-GRPO trainer mode: the diversity bonus on data laid out as verl's trainer holds it.

The end-to-end test writes samples into a real local TransferQueue the way verl's agent loop does
(AgentLoopOutput.as_dict -> list_of_dict_to_tensordict -> kv_batch_put with {uid}_{session}_{i}
keys), runs the registered trainer's own _compute_advantage (ours, then verl's GRPO), and checks
the scores and advantages against hand computation at step 0, halfway and at the end.
"""

import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from avr.reward import RewardConfig
from avr.verl_trainer import add_at_last_valid_token, group_bonuses, session_of

PAPER = RewardConfig.load("paper")


def test_sessions_and_padding():
    assert session_of("p0_3_0") == "p0_3" and session_of("a_b_c_12") == "a_b_c"
    keys = [
        "p_0_0",
        "p_0_1",
        "p_1_0",
        "p_2_0",
        "p_0_0",
    ]  # session p_0 has two outputs; the last is a padding copy
    bonus = group_bonuses(
        keys,
        ["p"] * 5,
        [1, 1, 2, 2, 1],
        [False, False, False, False, True],
        step=0,
        total_steps=10,
        config=PAPER,
    )
    # sessions: p_0 (F1), p_1 (F2), p_2 (F2): shares 1/3 and 2/3, w(0) = 0.5
    assert bonus == pytest.approx([0.5 * 2 / 3, 0.5 * 2 / 3, 0.5 / 3, 0.5 / 3, 0.0])


def test_bonus_goes_to_the_last_valid_token():
    scores = torch.tensor([[0.0, 0.0, 1.0, 0.0], [0.0, 2.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0], [0, 0, 0, 0]])
    out = add_at_last_valid_token(scores, mask, [0.5, 0.25, 1.0])
    assert out.tolist() == [[0.0, 0.0, 1.5, 0.0], [0.0, 2.25, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    assert scores[0, 2] == 1.0  # the input is not modified


def test_fresh_process_resolves_both_names(tmp_path, env):
    code = (
        "import verl\n"
        "from verl.trainer.ppo.v1 import get_trainer_cls\n"
        "from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls\n"
        "print(get_trainer_cls('fs_grpo').__module__, get_reward_manager_cls('adaptive_reward').__module__)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ["avr.verl_trainer", "avr.verl_plugin"]


FORMATS = [1, 1, 2, 3, 1, 1, 1, 1, 0, 2]
BASES = [1.5, -0.5, 1.3, 1.0, 1.5, 1.5, 1.5, -0.5, -1.0, 1.3]
UIDS = ["p0"] * 4 + ["p1"] * 4 + ["p2"] * 2  # p2: one malformed, one valid -> no bonus


def _expected_scores(step, total):
    w = 0.5 * 0.5 * (1 + math.cos(math.pi * step / total)) if step < total else 0.0
    out = []
    for fmt, base, uid in zip(FORMATS, BASES, UIDS, strict=True):
        valid = [f for f, u in zip(FORMATS, UIDS, strict=True) if u == uid and f]
        d = 0.0 if not fmt or len(valid) <= 1 else w * (1 - valid.count(fmt) / len(valid))
        out.append(base + d)
    return out


def _grpo(scores):
    """verl's GRPO outcome advantage: (score - group mean) / (group std + 1e-6), unbiased std."""
    result = []
    for s, uid in zip(scores, UIDS, strict=True):
        g = torch.tensor([x for x, u in zip(scores, UIDS, strict=True) if u == uid])
        result.append(((s - g.mean()) / (g.std() + 1e-6)).item())
    return result


@pytest.mark.e2e
def test_advantages_in_a_real_transfer_queue():
    import ray
    import transfer_queue as tq
    import verl
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf
    from verl.experimental.agent_loop.agent_loop import AgentLoopMetrics, AgentLoopOutput
    from verl.trainer.ppo.v1 import get_trainer_cls
    from verl.utils.tensordict_utils import list_of_dict_to_tensordict

    with initialize_config_dir(
        config_dir=str(Path(verl.__file__).parent / "trainer" / "config"), version_base=None
    ):
        cfg = compose(
            config_name="ppo_trainer",
            overrides=[
                "algorithm.adv_estimator=grpo",
                "actor_rollout_ref.rollout.n=4",
                "trainer.v1.trainer_mode=fs_grpo",
                "+avr.reward_config=paper",
            ],
        )
    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    tq.init(OmegaConf.create({"backend": {"SimpleStorage": {"num_data_storage_units": 1}}}))
    try:
        trainer = object.__new__(get_trainer_cls("fs_grpo"))
        trainer.config, trainer.total_training_steps = cfg, 10
        trainer.trainer_mode = "fs_grpo"
        assert trainer.trainer_mode == "sync"  # what verl's base class must see

        for step in (0, 5, 10):
            keys, fields, tags = [], [], []
            for j, (fmt, base, uid) in enumerate(zip(FORMATS, BASES, UIDS, strict=True)):
                n = 3 + j
                info = {
                    "format": fmt,
                    "base": base,
                    "correct": base > 0,
                    "length": n,
                    "length_factor": 1.0,
                    "format_term": 0.0,
                    "valid_ground_truth": True,
                }
                out = AgentLoopOutput(
                    prompt_ids=[1, 2, 3],
                    response_ids=list(range(10, 10 + n)),
                    response_mask=[1] * n,
                    reward_score=base,
                    metrics=AgentLoopMetrics(),
                    extra_fields={"reward_extra_info": info},
                )
                field = out.as_dict()
                field.update(uid=f"s{step}{uid}", session_id=j, global_steps=step)
                field["loss_mask"] = field["response_mask"]
                keys.append(f"s{step}{uid}_{j}_0")
                fields.append(field)
                tags.append({"status": "success", "global_steps": step})
            meta = tq.kv_batch_put(
                keys=keys, fields=list_of_dict_to_tensordict(fields), tags=tags, partition_id="train"
            )
            trainer.global_steps = step
            metrics = {}
            trainer._compute_advantage(meta, metrics)
            got = tq.kv_batch_get(keys=keys, partition_id="train", select_fields=["rm_scores", "advantages"])
            expected = _expected_scores(step, 10)
            scores = [got["rm_scores"][i].sum().item() for i in range(len(keys))]
            assert scores == pytest.approx(expected, abs=1e-6), step
            for i in range(len(keys)):  # the whole score sits at the last token
                assert got["rm_scores"][i][-1].item() == pytest.approx(expected[i], abs=1e-6)
            adv = [got["advantages"][i][0].item() for i in range(len(keys))]
            assert adv == pytest.approx(_grpo(expected), abs=1e-4), step
            assert metrics["avr/diversity_weight"] == pytest.approx([0.5, 0.25, 0.0][(0, 5, 10).index(step)])
            assert metrics["avr/malformed/share"] == pytest.approx(0.1)
            assert "avr/f1_answer/accuracy" in metrics and "avr/mean_diversity_bonus" in metrics
    finally:
        tq.close()
        ray.shutdown()


@pytest.mark.e2e
def test_a_fresh_ray_actor_resolves_both_names():
    """verl builds the trainer inside a Ray actor (TaskRunnerV1) that imports verl afresh: the entry
    points must reach it there, not only in the driver."""
    import ray

    @ray.remote(num_cpus=0)
    class Probe:
        def names(self):
            import verl  # noqa: F401  (loads the verl.plugins entry points in this worker)
            from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls
            from verl.trainer.ppo.v1 import get_trainer_cls

            return get_trainer_cls("fs_grpo").__module__, get_reward_manager_cls("adaptive_reward").__module__

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    try:
        assert ray.get(Probe.remote().names.remote(), timeout=120) == ("avr.verl_trainer", "avr.verl_plugin")
    finally:
        ray.shutdown()
