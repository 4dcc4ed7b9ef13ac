"""The adaptive reward inside stock verl: found by name through the plugin entry point, and run by a real
local Ray reward worker through RewardLoopManager.compute_rm_score (what verl's trainer calls)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.e2e


def test_fresh_process_resolves_adaptive_reward_by_name(tmp_path, env):
    code = (
        "import verl\n"
        "from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls\n"
        "print(get_reward_manager_cls('adaptive_reward').__module__)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "avr.verl_plugin"


def _verl_config(tiny_model: Path, total_steps: int):
    import verl
    from hydra import compose, initialize_config_dir

    config_dir = str(Path(verl.__file__).parent / "trainer" / "config")
    with initialize_config_dir(config_dir=config_dir, version_base=None):
        return compose(
            config_name="ppo_trainer",
            overrides=[
                f"actor_rollout_ref.model.path={tiny_model}",
                "reward.reward_manager.name=adaptive_reward",
                "reward.num_workers=1",
                f"actor_rollout_ref.actor.optim.total_training_steps={total_steps}",
                "+avr.reward_config=paper",
            ],
        )


def _batch(tokenizer, responses, ground_truths, uids, step, choices):
    """A batch laid out as verl's agent loop hands it to the reward loop: left-padded prompts,
    right-padded responses, one attention mask over both."""
    from verl import DataProto

    pad = tokenizer.pad_token_id
    prompt_len, resp_len = 8, 48
    prompts, resps, masks = [], [], []
    for text in responses:
        p = tokenizer("<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n", add_special_tokens=False)[
            "input_ids"
        ]
        r = [*tokenizer(text, add_special_tokens=False)["input_ids"][: resp_len - 1], tokenizer.eos_token_id]
        p = p[-prompt_len:]
        prompts.append([pad] * (prompt_len - len(p)) + p)
        resps.append(r + [pad] * (resp_len - len(r)))
        masks.append([0] * (prompt_len - len(p)) + [1] * len(p) + [1] * len(r) + [0] * (resp_len - len(r)))
    prompts_t, resps_t = torch.tensor(prompts), torch.tensor(resps)
    n = len(responses)
    return DataProto.from_dict(
        tensors={
            "prompts": prompts_t,
            "responses": resps_t,
            "input_ids": torch.cat([prompts_t, resps_t], dim=1),
            "attention_mask": torch.tensor(masks),
        },
        non_tensors={
            "data_source": np.array(["synthetic"] * n, dtype=object),
            "reward_model": np.array(
                [{"style": "rule", "ground_truth": g} for g in ground_truths], dtype=object
            ),
            "extra_info": np.array([{"choices": choices, "index": i} for i in range(n)], dtype=object),
            "uid": np.array(uids, dtype=object),
            "global_steps": np.array([step] * n, dtype=object),
        },
    )


def test_ray_reward_worker_scores_with_verls_fields(tiny_model):
    import ray
    from verl.experimental.reward_loop.reward_loop import RewardLoopManager
    from verl.utils.tokenizer import hf_tokenizer

    from avr.reward import RewardConfig, diversity_weight, score_response

    config = _verl_config(tiny_model, total_steps=40)
    tokenizer = hf_tokenizer(str(tiny_model))
    responses = [
        "<answer>B</answer>",
        "<perception>two blue squares</perception><answer>A</answer>",
        "<perception>p</perception><reasoning>r</reasoning><answer>(B)</answer>",
        "the answer is B",
    ]
    gts = ["B", "B", "B", "B"]
    data = _batch(tokenizer, responses, gts, ["g0", "g0", "g1", "g1"], step=10, choices=["red", "blue"])
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        ignore_reinit_error=True,
        log_to_driver=False,
        runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}},
    )
    try:
        out = RewardLoopManager(config).compute_rm_score(data)
    finally:
        ray.shutdown()

    rm = out.batch["rm_scores"]
    mask = data.batch["attention_mask"][:, 8:]
    paper = RewardConfig.load("paper")
    for i, text in enumerate(responses):
        last = int(mask[i].sum()) - 1
        expected = score_response(text, gts[i], length=last + 1, choices=["red", "blue"], config=paper).score
        assert rm[i, last].item() == pytest.approx(expected)  # the score sits at the last valid token
        assert torch.count_nonzero(rm[i]) == (1 if expected != 0 else 0)
    assert list(out.non_tensor_batch["format"]) == [1, 2, 3, 0]
    assert list(out.non_tensor_batch["correct"]) == [True, False, True, False]
    for key in ("length", "length_factor", "format_term", "base", "valid_ground_truth", "diversity_weight"):
        assert key in out.meta_info["reward_extra_keys"]
    # step and horizon come from verl's own fields, not a counter of ours
    assert set(out.non_tensor_batch["step"]) == {10} and set(out.non_tensor_batch["total_steps"]) == {40}
    assert out.non_tensor_batch["diversity_weight"][0] == pytest.approx(diversity_weight(10, 40, paper))

    # Validation: verl's own _validate bookkeeping over the same output puts accuracy under
    # val-core and every per-format share under val-aux, per data source.
    from verl.trainer.ppo.ray_trainer import RayPPOTrainer
    from verl.trainer.ppo.reward import extract_reward

    reward_tensor, extra = extract_reward(out)
    infos = {"reward": reward_tensor.sum(-1).tolist(), **{k: list(v) for k, v in extra.items()}}
    metrics = RayPPOTrainer._val_metrics_update(
        None, np.array(["synthetic"] * 4, dtype=object), ["g0", "g0", "g1", "g1"], infos, []
    )
    assert metrics["val-core/synthetic/acc/mean@2"] == pytest.approx(0.5)
    assert metrics["val-aux/synthetic/is_answer/mean@2"] == pytest.approx(0.25)
    assert metrics["val-aux/synthetic/is_malformed/mean@2"] == pytest.approx(0.25)
    assert metrics["val-aux/synthetic/is_full/mean@2"] == pytest.approx(0.25)
    assert "val-aux/synthetic/length/mean@2" in metrics and "val-aux/synthetic/reward/mean@2" in metrics
