"""Stage 2 on verl's own code paths, on a CPU: the agent loop scores each rollout with avr's manager,
the fs_grpo trainer adds the diversity bonus, and verl's GRPO and validation bookkeeping use them.

The end-to-end test composes the paper recipe (tiny model, small batch), builds the registered
``FSGRPOTrainer`` through its real ``__init__`` (v1 replay buffer included) and its data loaders, a real
Ray reward worker (``RewardLoopManager``) and verl's TransferQueue agent loop (``AgentLoopManagerTQ``,
single-turn agent, verl's image handling). Only the LLM server is a stand-in (tests/helpers/
scripted_llm.py): it answers with known texts. At steps 1, T/2 and T the trainer's own code then
submits the prompts, samples the finished groups from the replay buffer, pads and reorders them across
5 data-parallel ranks (``_balance_batch``: verl's padding rows), and computes the advantages; the
scores and advantages are checked against hand computation from the texts verl stored. Validation
runs the v1 trainer's ``_validate``. What needs GPUs (log-probs, the actor update, vLLM) is not run.
"""

import json
import math
import os
import random
import sys
from collections import Counter, defaultdict
from types import SimpleNamespace

import pytest
import torch

from avr.pixels import IMAGE_MAX_PIXELS
from avr.rl.group_bonus import add_at_last_valid_token, group_bonuses, session_of
from avr.rl.reward import RewardConfig, score_response
from tests import REPO

HELPERS = REPO / "tests" / "helpers"
PAPER = RewardConfig.load("paper")
N, PROMPTS, T, DP = 4, 3, 4, 5  # rollouts per prompt, prompts per step, steps, data-parallel ranks


def test_sessions_and_padding():
    assert session_of("p0_3_0") == "p0_3" and session_of("a_b_c_12") == "a_b_c"
    keys = ["p_0_0", "p_0_1", "p_1_0", "p_2_0", "p_0_0"]  # session p_0 has two outputs; the last is padding
    bonus = group_bonuses(
        keys, ["p"] * 5, [1, 1, 2, 2, 1], [False] * 4 + [True], step=0, total_steps=10, config=PAPER
    )
    # sessions: p_0 (F1), p_1 (F2), p_2 (F2): shares 1/3 and 2/3, w(0) = 0.5
    assert bonus == pytest.approx([0.5 * 2 / 3, 0.5 * 2 / 3, 0.5 / 3, 0.5 / 3, 0.0])


def test_bonus_goes_to_the_last_valid_token():
    scores = torch.tensor([[0.0, 0.0, 1.0, 0.0], [0.0, 2.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0], [0, 0, 0, 0]])
    out = add_at_last_valid_token(scores, mask, [0.5, 0.25, 1.0])
    assert out.tolist() == [[0.0, 0.0, 1.5, 0.0], [0.0, 2.25, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    assert scores[0, 2] == 1.0  # the input is not modified


def _w(step: int) -> float:
    return 0.5 * 0.5 * (1 + math.cos(math.pi * step / T)) if step < T else 0.0


@pytest.fixture(scope="module")
def stage2(tiny_model, synthetic_records, tmp_path_factory):
    """verl's trainer, reward workers and agent loop, wired as TaskRunnerV1 wires them."""
    import ray
    import transfer_queue as tq
    from verl.experimental.reward_loop import RewardLoopManager
    from verl.trainer.ppo.v1 import AgentLoopManagerTQ, get_trainer_cls

    from avr.data.rl import build_rl_dataset
    from avr.rl.config_check import compose

    sys.path.insert(0, str(HELPERS))
    from scripted_llm import ScriptedLLM

    out = tmp_path_factory.mktemp("stage2")
    # validation: six free-form questions, each asked once (the check below finds each by its text)
    val = {}
    for line in synthetic_records.read_text().splitlines():
        record = json.loads(line)
        if not record.get("choices") and len(val) < 6:
            val.setdefault(record["question"], line)
    (out / "val.jsonl").write_text("".join(line + "\n" for line in val.values()))
    build_rl_dataset(
        [synthetic_records], out / "rl", val_inputs=[out / "val.jsonl"], image_root=synthetic_records.parent
    )
    config = compose(
        REPO / "train_configs/fs_grpo/qwen3vl_2b.yaml",
        [
            f"actor_rollout_ref.model.path={tiny_model}",
            f"data.train_files={out / 'rl' / 'train.parquet'}",
            f"data.val_files={out / 'rl' / 'val.parquet'}",
            f"data.train_batch_size={PROMPTS}",
            "data.val_batch_size=8",
            "data.max_prompt_length=1024",
            "data.max_response_length=1024",
            "data.dataloader_num_workers=0",
            f"actor_rollout_ref.rollout.n={N}",
            "actor_rollout_ref.actor.ppo_mini_batch_size=1",
            "actor_rollout_ref.rollout.agent.num_workers=1",
            "reward.num_workers=1",
            f"trainer.total_training_steps={T}",
            f"trainer.validation_data_dir={out / 'val'}",
            "transfer_queue.backend.SimpleStorage.num_data_storage_units=1",
            "+avr.replay_buffer_poll_s=0.2",  # verl polls every 2 s; the CPU test need not wait
        ],
    )
    pythonpath = os.pathsep.join([str(HELPERS), os.environ.get("PYTHONPATH", "")])
    ray.init(
        num_cpus=8,
        include_dashboard=False,
        log_to_driver=False,
        ignore_reinit_error=True,
        runtime_env={
            "env_vars": {"PYTHONPATH": pythonpath, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
        },
    )
    tq.init(config.transfer_queue)
    try:
        trainer = get_trainer_cls("fs_grpo")(config=config)  # the real __init__: replay buffer, modes
        trainer._init_tokenizer()
        trainer._init_dataloader()
        trainer._init_dump_executor()
        trainer.reward_loop_manager = RewardLoopManager(trainer.config)
        trainer.agent_loop_manager = AgentLoopManagerTQ.create(
            config=trainer.config,
            llm_client=ScriptedLLM(str(tiny_model)),
            reward_loop_worker_handles=trainer.reward_loop_manager.reward_loop_worker_handles,
        )
        # what verl's actor worker group reports for DP ranks 0..4 (the GPUs are not there)
        trainer.actor_rollout_wg = SimpleNamespace(_dispatch_info={"actor": list(range(DP))})
        yield SimpleNamespace(trainer=trainer, out=out)
    finally:
        tq.close()
        ray.shutdown()


@pytest.mark.e2e
def test_the_trainer_is_verls_sync_trainer(stage2):
    from verl.trainer.ppo.v1.replay_buffer import ReplayBuffer, ReplayBufferAsync

    trainer = stage2.trainer
    assert trainer.trainer_mode == "sync" and trainer._registered_mode == "fs_grpo"
    assert type(trainer.replay_buffer) is ReplayBuffer and not isinstance(
        trainer.replay_buffer, ReplayBufferAsync
    )
    assert trainer.total_training_steps == T
    assert trainer.config.actor_rollout_ref.actor.optim.total_training_steps == T  # what the reward reads
    assert trainer.replay_buffer.poll_interval == 0.2  # avr.replay_buffer_poll_s, not verl's 2 s


def test_the_replay_buffer_poll_setting():
    from avr.rl.trainer_mode import replay_buffer_poll_s

    assert replay_buffer_poll_s({"avr": {"reward_config": "paper"}}) is None  # verl's own 2 s
    assert replay_buffer_poll_s({"avr": {"replay_buffer_poll_s": "0.05"}}) == 0.05
    for bad in (0, -1, "soon"):
        with pytest.raises(ValueError, match=r"avr\.replay_buffer_poll_s"):
            replay_buffer_poll_s({"avr": {"replay_buffer_poll_s": bad}})


def _items(values) -> list:
    """A non-tensor field of a TransferQueue batch as a list (a stack or a linked list of values)."""
    return values.tolist() if hasattr(values, "tolist") else list(values)


@pytest.mark.e2e
@pytest.mark.parametrize("step", [1, T // 2, T])
def test_a_training_step_on_verls_code(stage2, step):
    import transfer_queue as tq

    trainer = stage2.trainer
    trainer.global_steps = step
    trainer.prepare_step()  # dataloader -> TransferQueue -> agent loop -> reward worker -> TransferQueue
    batch, _ = trainer.replay_buffer.sample(global_steps=step, partition_id="train", batch_size=PROMPTS)
    assert len(batch) == PROMPTS * N
    batch = trainer._balance_batch(batch, metrics={})  # verl's padding rows + its reordering across ranks
    padding = [bool(t.get("is_padding")) for t in batch.tags]
    assert len(batch) % DP == 0 and sum(padding) == len(batch) - PROMPTS * N > 0
    batch.reorder(random.Random(step).sample(range(len(batch)), len(batch)))  # and shuffled
    padding = [bool(t.get("is_padding")) for t in batch.tags]
    metrics: dict = {}
    trainer._compute_advantage(batch, metrics)

    fields = ["uid", "responses", "rm_scores", "advantages", "reward_model", "extra_info", "extra_fields"]
    got = tq.kv_batch_get(keys=batch.keys, partition_id="train", select_fields=fields)
    uids = [str(u) for u in _items(got["uid"])]
    reward_model, extra_info, extra_fields = (
        _items(got[k]) for k in ("reward_model", "extra_info", "extra_fields")
    )
    real = [i for i, p in enumerate(padding) if not p]
    expected_base, formats = {}, {}
    for i in real:
        ids = got["responses"][i].tolist()
        text = trainer.tokenizer.decode(ids, skip_special_tokens=True)
        gt, choices = reward_model[i]["ground_truth"], extra_info[i].get("choices")
        r = score_response(text, gt, length=len(ids), choices=choices, config=PAPER)
        expected_base[i], formats[i] = r.score, r.format
        info = extra_fields[i]["reward_extra_info"]  # what the Ray reward worker computed
        assert info["base"] == pytest.approx(r.score) and info["format"] == r.format
        assert info["step"] == step and info["diversity_weight"] == pytest.approx(_w(step))
        w, h = extra_fields[i]["test_image_sizes"][0]  # the image the agent loop handed the LLM
        assert w * h <= IMAGE_MAX_PIXELS
    # the diversity bonus by hand: w(t) x (1 - share of the format among the group's valid responses)
    valid = defaultdict(list)
    for i in real:
        if formats[i]:
            valid[uids[i]].append(formats[i])
    expected = {}
    for i in real:
        v = valid[uids[i]]
        bonus = 0.0 if not formats[i] or len(v) <= 1 else _w(step) * (1 - v.count(formats[i]) / len(v))
        expected[i] = expected_base[i] + bonus
    assert len(set(uids[i] for i in real)) == PROMPTS
    if step < T:
        assert any(expected[i] != expected_base[i] for i in real)  # the bonus was really applied
    for i in real:
        assert got["rm_scores"][i].sum().item() == pytest.approx(expected[i], abs=1e-5)
        assert got["rm_scores"][i][-1].item() == pytest.approx(expected[i], abs=1e-5)  # at the last token
    for i, p in enumerate(padding):
        if p:
            assert got["rm_scores"][i].abs().sum() == 0 and got["advantages"][i].abs().sum() == 0
    # verl's GRPO advantage: (score - group mean) / (group std + 1e-6), on the scores with the bonus
    for i in real:
        group = torch.tensor([expected[j] for j in real if uids[j] == uids[i]])
        adv = (expected[i] - group.mean()) / (group.std() + 1e-6)
        assert got["advantages"][i][0].item() == pytest.approx(adv.item(), abs=1e-4)
    assert metrics["avr/diversity_weight"] == pytest.approx(_w(step))
    share = Counter(formats[i] for i in real)
    assert metrics["avr/malformed/share"] == pytest.approx(share[0] / len(real))
    assert metrics["avr/answer/share"] == pytest.approx(share[1] / len(real))
    assert metrics["avr/mean_base"] == pytest.approx(sum(expected_base.values()) / len(real), abs=1e-6)
    tq.kv_clear(keys=batch.keys, partition_id=batch.partition_id)


@pytest.mark.e2e
def test_validation_through_the_v1_trainer(stage2):
    """verl's v1 _validate: the agent loop, the reward worker, then its own per-source bookkeeping."""
    trainer = stage2.trainer
    trainer.global_steps = 0
    metrics = trainer._validate()
    trainer._shutdown_dump_executor()
    trainer._init_dump_executor()
    rows = [json.loads(line) for line in (stage2.out / "val" / "0.jsonl").read_text().splitlines()]
    assert len(rows) == len(trainer.val_dataset)
    df = trainer.val_dataset.dataframe
    source_of = {e["question"]: s for e, s in zip(df["extra_info"], df["data_source"], strict=True)}
    assert not any(e["choices"] for e in df["extra_info"])
    by_source = defaultdict(list)
    for row in rows:
        [source] = [s for q, s in source_of.items() if f"Question: {q}\n" in row["input"]]
        n_tokens = len(trainer.tokenizer(row["output"], add_special_tokens=False)["input_ids"]) + 1  # + EOS
        r = score_response(row["output"], row["gts"], length=n_tokens, config=PAPER)
        assert row["score"] == pytest.approx(r.score)  # no bonus in validation
        by_source[source].append(r)
    for source, results in by_source.items():
        n = len(results)
        assert metrics[f"val-core/{source}/acc/mean@1"] == pytest.approx(sum(r.correct for r in results) / n)
        for fmt, key in enumerate(["is_malformed", "is_answer", "is_perception", "is_full"]):
            share = sum(r.format == fmt for r in results) / n
            assert metrics[f"val-aux/{source}/{key}/mean@1"] == pytest.approx(share)
        assert f"val-aux/{source}/length/mean@1" in metrics and f"val-aux/{source}/reward/mean@1" in metrics


@pytest.mark.e2e
def test_a_fresh_ray_actor_resolves_both_names(stage2):
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

    # a new Ray worker imports torch, transformers and verl: 75 s on 2 busy cores, past 120 s under more
    # load; the timeout only guards against a hang
    assert ray.get(Probe.remote().names.remote(), timeout=600) == (
        "avr.rl.trainer_mode",
        "avr.rl.reward_manager",
    )
