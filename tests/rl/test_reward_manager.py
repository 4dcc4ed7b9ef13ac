"""The adaptive reward manager inside stock verl: found by name through the plugin entry point, refusing a
verl it was not written for, and scoring one rollout as verl's agent loop hands it over.

The whole path (agent loop -> Ray reward worker -> TransferQueue -> trainer) runs in
tests/rl/test_trainer_mode.py; here is the manager alone, on the DataProto the agent loop builds."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from avr.rl.reward import RewardConfig, score_batch, score_response
from avr.rl.verl_version import verl_version_error

pytestmark = pytest.mark.e2e

NAMES = (
    "from verl.trainer.ppo.v1 import get_trainer_cls\n"
    "from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls\n"
    "print(get_trainer_cls('fs_grpo').__module__, get_reward_manager_cls('adaptive_reward').__module__)\n"
)


@pytest.mark.parametrize(
    "first", ["import verl", "import avr.rl.reward_manager", "import avr.rl.trainer_mode"]
)
def test_a_fresh_process_resolves_both_names_whatever_it_imports_first(first, tmp_path, env):
    """verl loads both entry points while it imports; avr's modules may be half-imported then."""
    r = subprocess.run(
        [sys.executable, "-c", f"{first}\n{NAMES}"], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ["avr.rl.trainer_mode", "avr.rl.reward_manager"]


@pytest.mark.parametrize(
    "installed, ok",
    [
        ("0.9.1", True),
        ("0.9.1.post1", True),
        ("0.9.0", False),
        ("0.9.2", False),
        ("0.10.0", False),
        (None, False),
    ],
)
def test_only_the_pinned_release_is_accepted(installed, ok):
    message = verl_version_error(installed)
    assert (message is None) is ok
    if not ok:
        assert message.startswith(f"avr: verl {installed or '(not installed)'} found, but avr's verl plugins")
        assert "pip install 'verl[verl-core]==0.9.1'" in message and "\n" not in message


@pytest.mark.parametrize("module", ["avr.rl.reward_manager", "avr.rl.trainer_mode"])
def test_another_verl_fails_the_import_with_one_line(module, tmp_path, env):
    code = (
        "import importlib.metadata as m\n"
        "real = m.version\n"
        "m.version = lambda name: '0.10.0' if name == 'verl' else real(name)\n"
        f"import {module}\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.splitlines()[0].startswith("avr: verl 0.10.0 found, but avr's verl plugins")
    assert (
        f"ImportError: {module.replace('trainer_mode', 'reward_manager')}: avr: verl 0.10.0 found" in r.stderr
    )


def _manager(tiny_model, preset: str):
    from omegaconf import OmegaConf
    from verl.utils.tokenizer import hf_tokenizer

    from avr.rl.reward_manager import AdaptiveRewardManager

    config = OmegaConf.create(
        {
            "avr": {"reward_config": preset},
            "actor_rollout_ref": {"actor": {"optim": {"total_training_steps": 40}}},
        }
    )
    return AdaptiveRewardManager(config, hf_tokenizer(str(tiny_model)))


def _agent_loop_sample(tokenizer, text: str, ground_truth, choices, step: int):
    """One rollout as verl's agent loop (AgentLoopWorker._compute_score) hands it to the reward worker:
    unpadded prompt + response, attention mask of ones, the dataset row's fields as non-tensors."""
    from verl import DataProto

    prompt = tokenizer("<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n", add_special_tokens=False)
    prompt = torch.tensor([prompt["input_ids"]])
    response = torch.tensor(
        [[*tokenizer(text, add_special_tokens=False)["input_ids"], tokenizer.eos_token_id]]
    )
    ids = torch.cat([prompt, response], dim=1)
    return DataProto.from_dict(
        tensors={
            "prompts": prompt,
            "responses": response,
            "input_ids": ids,
            "attention_mask": torch.ones_like(ids),
        },
        non_tensors={
            "data_source": np.array(["synthetic"]),
            "reward_model": np.array([{"style": "rule", "ground_truth": ground_truth}]),
            "extra_info": np.array([{"choices": choices}]),
            "global_steps": np.array([step]),
        },
    ), response.shape[1]


LONG = "<perception>" + " ".join(["many words here"] * 120) + "</perception><answer>B</answer>"
WORDS = len(LONG.split())  # 360: words x 1.3 = 468 > 300, so the seed's length factor bites


@pytest.mark.parametrize("preset", ["paper", "seed"])
def test_run_single_scores_as_score_batch_does(preset, tiny_model):
    """Token counts under the paper preset; the seed preset's words x 1.3, exactly as score_batch."""
    manager = _manager(tiny_model, preset)
    config = RewardConfig.load(preset)
    for text in (LONG, "<answer>A</answer>", "<perception>two</perception><answer>(B)</answer>", "B"):
        data, n_tokens = _agent_loop_sample(manager.tokenizer, text, ["B"], ["red", "blue"], step=10)
        out = manager.loop.run_until_complete(manager.run_single(data))
        lengths = [n_tokens] if preset == "paper" else None  # score_batch counts words itself for seed
        [expected] = score_batch(
            [text],
            [["B"]],
            [0],
            step=10,
            total_steps=40,
            lengths=lengths,
            choices=[["red", "blue"]],
            config=config,
        )
        info = out["reward_extra_info"]
        assert out["reward_score"] == pytest.approx(expected.base)  # no bonus per sample: the trainer adds it
        assert info["length"] == pytest.approx(expected.length) and info["format"] == expected.format
        assert (info["step"], info["total_steps"]) == (10, 40)
    data, n_tokens = _agent_loop_sample(manager.tokenizer, LONG, ["B"], ["red", "blue"], step=10)
    info = manager.loop.run_until_complete(manager.run_single(data))["reward_extra_info"]
    length = WORDS * 1.3 if preset == "seed" else n_tokens
    assert n_tokens != WORDS * 1.3 and info["length"] == pytest.approx(length)
    expected = score_response(LONG, ["B"], length=length, choices=["red", "blue"], config=config)
    assert info["length_factor"] == pytest.approx(expected.length_factor) and expected.length_factor < 1


def test_a_grading_timeout_reaches_the_step_metrics(tiny_model, monkeypatch):
    """math-verify past its deadline: the manager says so per sample, and the trainer mode's step
    metrics count it as avr/grading_timeouts, so training never hides it as a plain wrong answer."""
    import avr.rl.reward
    from avr.grading import Grade
    from avr.rl.group_bonus import step_metrics

    manager = _manager(tiny_model, "paper")

    def run(text: str) -> dict:
        data, _ = _agent_loop_sample(manager.tokenizer, text, ["3"], None, step=1)
        return manager.loop.run_until_complete(manager.run_single(data))["reward_extra_info"]

    with monkeypatch.context() as m:
        m.setattr(avr.rl.reward, "grade", lambda *a, **k: Grade(False, timed_out=True))
        slow = run("<answer>3</answer>")
    fine = run("<answer>3</answer>")
    assert slow["grading_timed_out"] and not slow["correct"]
    assert fine["correct"] and not fine["grading_timed_out"]
    metrics = step_metrics([slow, fine, fine], [0.0, 0.0, 0.0], [False, False, False], 0.0)
    assert metrics["avr/grading_timeouts"] == 1.0
