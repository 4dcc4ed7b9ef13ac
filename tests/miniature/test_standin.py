"""The CPU stand-in for stage 2: its arguments to TRL by hand, then real runs (e2e) of TRL's
GRPOTrainer with AVR's reward on the tiny Qwen3-VL.

The tiny model is random, so every rollout would be malformed, every reward -1 and every advantage
0: no gradient at all. A few teacher-forced steps on the SFT targets first make it emit some valid
responses, so the GRPO steps below carry a real learning signal.
"""

from __future__ import annotations

import io
import json
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import torch

from avr.config import config_path
from avr.miniature import standin as cpu_grpo
from avr.rl.reward import RewardConfig, diversity_weight, score_batch

STEPS = 3
OVERRIDES = {"trainer": {"total_training_steps": STEPS, "save_freq": 2}}


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def _warm_start(model_dir: Path, records: Path, out: Path, steps: int = 60) -> Path:
    """Teacher-force the tiny model on its SFT targets so that sampling yields some valid formats."""
    from PIL import Image
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from avr.formats import build_prompt, build_target, prompt_to_content
    from avr.records import read_records

    torch.manual_seed(0)
    proc = AutoProcessor.from_pretrained(model_dir)
    model = AutoModelForImageTextToText.from_pretrained(model_dir)
    texts, images, prompt_lens = [], [], []
    for r in read_records([records])[0]:
        msgs = [{"role": "user", "content": prompt_to_content(build_prompt(r.question, r.choices))}]
        prompt = proc.apply_chat_template(msgs, add_generation_prompt=True)
        image = [Image.open(io.BytesIO(r.images[0].data)).convert("RGB")]
        target = build_target(r.answer, r.perception, r.reasoning, format=r.format)
        texts.append(prompt + target + "<|im_end|>")
        images.append(image)
        prompt_lens.append(proc(text=[prompt], images=image, return_tensors="pt")["input_ids"].shape[1])
    batch = proc(text=texts, images=images, return_tensors="pt", padding=True, padding_side="right")
    labels = batch["input_ids"].clone()
    for i, n in enumerate(prompt_lens):
        labels[i, :n] = -100
    labels[batch["attention_mask"] == 0] = -100
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        model(**batch, labels=labels).loss.backward()
        opt.step()
        opt.zero_grad()
    model.save_pretrained(out)
    proc.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def rl_data(tmp_path_factory) -> tuple[Path, Path]:
    from avr.data.rl import build_rl_dataset
    from avr.miniature.synthetic import generate

    records = generate(tmp_path_factory.mktemp("grpo-records"), n=16, seed=0, name="train")
    out = tmp_path_factory.mktemp("grpo-rl")
    build_rl_dataset([records], out, val_fraction=0)
    return records, out


@pytest.fixture(scope="module")
def warm_model(tiny_model, rl_data, tmp_path_factory) -> Path:
    return _warm_start(tiny_model, rl_data[0], tmp_path_factory.mktemp("warm") / "model")


@pytest.fixture(scope="module")
def run(warm_model, rl_data, tmp_path_factory) -> tuple[Path, list[str]]:
    out = tmp_path_factory.mktemp("grpo") / "run"
    said: list[str] = []
    assert cpu_grpo.run_cpu_grpo(warm_model, rl_data[1], out, overrides=OVERRIDES, echo=said.append) == out
    return out, said


def test_unknown_or_missing_recipe_keys_fail_naming_the_key(tmp_path):
    with pytest.raises(
        cpu_grpo.RecipeError,
        match=r"actor_rollout_ref\.rollout\.nn.*did you mean 'actor_rollout_ref\.rollout\.n'",
    ):
        cpu_grpo.load_standin_recipe("tiny_grpo", {"actor_rollout_ref.rollout.nn": 2})
    with pytest.raises(cpu_grpo.RecipeError, match=r"trainer\.total_epochs"):
        cpu_grpo.run_cpu_grpo("no-model", "no-data", tmp_path, overrides={"trainer": {"total_epochs": 1}})
    recipe = (config_path("cpu_standin") / "tiny_grpo.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(recipe + "\nactor_rollout_ref:\n  rollout:\n    max_tokens: 3\n")
    with pytest.raises(cpu_grpo.RecipeError, match=r"actor_rollout_ref\.rollout\.max_tokens"):
        cpu_grpo.load_standin_recipe(bad)
    short = tmp_path / "short.yaml"
    short.write_text(recipe.replace("  seed: 42\n", ""))
    with pytest.raises(cpu_grpo.RecipeError, match=r"missing key.*data\.seed"):
        cpu_grpo.load_standin_recipe(short)


def test_group_ids_follow_trls_contiguous_layout():
    assert cpu_grpo.group_ids(["a", "a", "b", "b"], 2, call=7) == ["7:0", "7:0", "7:1", "7:1"]
    with pytest.raises(RuntimeError, match="group layout changed"):
        cpu_grpo.group_ids(["a", "b", "a", "b"], 2, call=0)


# --- the arguments TRL is given: verl's recipe names -> GRPOConfig, by hand ----------------------------


def _kwargs(**kw: Any) -> dict[str, Any]:
    """A stand-in for TRL's GRPOConfig: the keyword arguments it would be built with."""
    return kw


def test_trl_arguments_of_the_tiny_recipe():
    args = cpu_grpo.grpo_args(cpu_grpo.load_standin_recipe("tiny_grpo"), Path("out"), _kwargs)
    assert args == {
        "output_dir": "out",
        "use_cpu": True,
        "bf16": False,
        "fp16": False,
        "seed": 42,
        "shuffle_dataset": True,
        "per_device_train_batch_size": 32,  # 4 prompts a mini-batch x 8 rollouts: TRL counts completions
        "gradient_accumulation_steps": 1,
        "steps_per_generation": 1,  # train_batch_size / ppo_mini_batch_size
        "num_iterations": 1,
        "num_generations": 8,
        "max_prompt_length": None,
        "max_completion_length": 128,
        "temperature": 0.8,
        "top_p": 0.95,
        "learning_rate": 1e-4,
        "weight_decay": 0.01,
        "max_grad_norm": 1.0,
        "lr_scheduler_type": "constant",
        "beta": 0.02,  # use_kl_loss: kl_loss_coef
        "epsilon": 0.2,  # clip_ratio
        "loss_type": "dapo",
        "scale_rewards": "group",  # norm_adv_by_std_in_grpo: divide by the group's std
        "max_steps": 20,  # 20 verl steps x 1 update each
        "save_strategy": "steps",
        "save_steps": 10,
        "save_total_limit": 2,
        "logging_steps": 1,
        "report_to": "none",
        "dataloader_num_workers": 0,
        "remove_unused_columns": False,
        "generation_kwargs": None,
    }
    with_suppress = cpu_grpo.grpo_args(
        cpu_grpo.load_standin_recipe("tiny_grpo"), Path("o"), _kwargs, suppress_tokens=(7, 3)
    )
    assert with_suppress["generation_kwargs"] == {"suppress_tokens": [7, 3]}


# several optimizer updates per verl step: 8 prompts in mini-batches of 2, two epochs over them
SEVERAL = {
    "data": {"train_batch_size": 8},
    "actor_rollout_ref": {
        "actor": {"ppo_mini_batch_size": 2, "ppo_epochs": 2, "use_kl_loss": False, "kl_loss_coef": 0.5,
                  "clip_ratio": 0.28},
        "rollout": {"n": 4},
    },
    "algorithm": {"norm_adv_by_std_in_grpo": False},
    "trainer": {"total_training_steps": 5, "save_freq": 2},
}  # fmt: skip


def test_trl_arguments_with_several_updates_per_step():
    recipe = cpu_grpo.load_standin_recipe("tiny_grpo", SEVERAL)
    assert cpu_grpo.updates_per_step(recipe) == 8  # 8 / 2 mini-batches x 2 epochs
    args = cpu_grpo.grpo_args(recipe, Path("out"), _kwargs)
    assert args["per_device_train_batch_size"] == 8  # 2 prompts x 4 rollouts
    assert (args["steps_per_generation"], args["num_iterations"], args["num_generations"]) == (4, 2, 4)
    assert (args["max_steps"], args["save_steps"]) == (40, 16)  # TRL counts updates: 5 and 2 steps x 8
    assert args["beta"] == 0.0  # no KL loss: the coefficient is not applied
    assert args["epsilon"] == 0.28
    assert args["scale_rewards"] == "none"  # advantages not divided by the group's std


@pytest.mark.e2e
def test_trls_own_config_takes_them(tmp_path):
    """TRL's GRPOConfig accepts every argument and forms verl's generation batch from them."""
    GRPOConfig, _ = cpu_grpo._import_trl()
    args = cpu_grpo.grpo_args(cpu_grpo.load_standin_recipe("tiny_grpo", SEVERAL), tmp_path, GRPOConfig)
    assert (args.scale_rewards, args.beta, args.epsilon, args.max_steps, args.num_iterations) == (
        "none", 0.0, 0.28, 40, 2,
    )  # fmt: skip
    assert args.generation_batch_size == 8 * 4  # one generation = one verl step: 8 prompts x 4 rollouts


@pytest.mark.parametrize(("batch", "mini"), [(6, 4), (0, 4), (4, 0)])
def test_a_batch_that_is_no_whole_number_of_mini_batches_is_refused(batch, mini):
    recipe = {"data.train_batch_size": batch, "actor_rollout_ref.actor.ppo_mini_batch_size": mini,
              "actor_rollout_ref.actor.ppo_epochs": 1}  # fmt: skip
    with pytest.raises(
        ValueError,
        match=rf"train_batch_size \({batch}\) must be a positive multiple of ppo_mini_batch_size \({mini}\)",
    ):
        cpu_grpo.updates_per_step(recipe)


def test_overrides_merge_into_the_recipe_by_dotted_name():
    recipe = cpu_grpo.load_standin_recipe("tiny_grpo", {"actor_rollout_ref": {"rollout": {"n": 3}}})
    assert recipe["actor_rollout_ref.rollout.n"] == 3
    assert recipe["actor_rollout_ref.rollout.temperature"] == 0.8  # the rest of the mapping stays
    assert set(recipe) == set(cpu_grpo.RECIPE_KEYS)
    assert cpu_grpo.load_standin_recipe("tiny_grpo", {"data.seed": 7})["data.seed"] == 7
    small = cpu_grpo.load_standin_recipe("small_grpo")
    assert (small["trainer.total_training_steps"], small["actor_rollout_ref.actor.kl_loss_coef"]) == (
        200,
        0.1,
    )
    assert small["data.train_batch_size"] == 4  # from its base, tiny_grpo


class _State:
    def __init__(self, global_step: int):
        self.global_step = global_step


F1, F3 = "<answer>{}</answer>", "<perception>p</perception><reasoning>r</reasoning><answer>{}</answer>"


def test_the_reward_gets_verls_step_when_a_step_is_several_updates(tmp_path):
    """TRL calls the reward once per generation batch, at global_step 0, k, 2k... (k updates a step);
    verl's step t is 1-based: 1, 2, 3. w(t) of the diversity bonus is computed at that t."""
    paper = RewardConfig.load("paper")
    reward = cpu_grpo.FSGRPOReward(
        paper, num_generations=2, updates_per_step=4, total_steps=4, rollout_path=tmp_path / "r.jsonl"
    )
    for global_step, step in [(0, 1), (4, 2), (8, 3)]:
        scores = reward(
            ["p", "p"], [F1.format("2"), [{"role": "assistant", "content": F3.format("2")}]], [[1, 2], [1, 2, 3]],
            ground_truth=[["2"], ["2"]], choices=[None, None], prompt_id=["7", "7"],
            trainer_state=_State(global_step),
        )  # fmt: skip
        w = diversity_weight(step, 4, paper)
        assert reward.step == step and w > 0
        # two formats in one group of two: each has share 1/2, so each gets w(t) / 2
        assert scores == pytest.approx([1.5 + w / 2, 1.0 + w / 2])
        metrics = reward.pop_metrics()
        assert metrics["avr/diversity_weight"] == pytest.approx(w) and metrics["avr/accuracy"] == 1.0
        assert reward.pop_metrics() == {}
    rows = _lines(tmp_path / "r.jsonl")
    assert [r["step"] for r in rows] == [1, 1, 2, 2, 3, 3]
    assert [r["group"] for r in rows] == ["0:0", "0:0", "1:0", "1:0", "2:0", "2:0"]
    assert rows[1]["completion"] == F3.format("2") and rows[1]["completion_ids"] == [1, 2, 3]
    assert rows[1]["length"] == 3.0 and rows[0]["ground_truth"] == ["2"] and rows[0]["prompt_id"] == "7"


def test_the_reward_passes_the_options_and_its_own_preset(tmp_path):
    """A letter answer is right only with the options; the preset given (no format shaping) is used."""
    no_format = RewardConfig.load("no_format")
    reward = cpu_grpo.FSGRPOReward(
        no_format, num_generations=2, updates_per_step=1, total_steps=1, rollout_path=tmp_path / "r.jsonl"
    )
    scores = reward(
        ["p", "p"], [F1.format("y"), F1.format("x")], [[1], [1]], ground_truth=[["B"], ["B"]],
        choices=[["x", "y"], ["x", "y"]], prompt_id=["3", "3"], trainer_state=_State(1),
    )  # fmt: skip
    assert scores == [1.0, 0.0]  # right and wrong, neither shaped by format; step 2 of 1: no bonus
    assert [r["choices"] for r in _lines(tmp_path / "r.jsonl")] == [["x", "y"], ["x", "y"]]


def test_recipe_errors_name_the_file_and_suggest_only_near_keys(tmp_path):
    assert cpu_grpo.load_standin_recipe() == cpu_grpo.load_standin_recipe("tiny_grpo")
    with pytest.raises(
        cpu_grpo.RecipeError, match=r"^overrides: unknown key 'zzz'; known keys: data\.train_batch_size, "
    ):
        cpu_grpo.load_standin_recipe("tiny_grpo", {"zzz": 1})
    bad = tmp_path / "bad.yaml"
    bad.write_text("trainer:\n  total_epochs: 1\n")
    with pytest.raises(cpu_grpo.RecipeError, match=rf"^{bad}: unknown key 'trainer\.total_epochs'"):
        cpu_grpo.load_standin_recipe(bad)
    with pytest.raises(FileNotFoundError, match=r"^CPU GRPO recipe not found: .*nope\.yaml"):
        cpu_grpo.load_standin_recipe("nope")
    recipe = cpu_grpo.load_standin_recipe("tiny_grpo", SEVERAL)
    assert type(cpu_grpo.updates_per_step(recipe)) is int
    with pytest.raises(RuntimeError, match=r"completions 2\.\.3 come from prompts \['a', 'b'\]"):
        cpu_grpo.group_ids(["a", "a", "a", "b"], 2, call=0)
    with pytest.raises(RuntimeError, match=r"^cpu-grpo: 3 completions are not whole groups of 2$"):
        cpu_grpo.group_ids(["a", "a", "a"], 2, call=0)


def test_completion_text_from_each_layout():
    assert cpu_grpo.completion_text("plain") == "plain"
    assert cpu_grpo.completion_text([{"role": "assistant", "content": "text"}]) == "text"
    parts = [
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "a"}, {"type": "image"}, "x", {"text": "b"}],
        }
    ]
    assert cpu_grpo.completion_text(parts) == "ab"


@pytest.mark.e2e
def test_run_says_it_is_the_stand_in_and_writes_an_hf_checkpoint_that_learned(run, warm_model):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    out, said = run
    assert said[0] == cpu_grpo.BANNER and "product path is verl (train-fs-grpo.sh)" in said[0]
    assert (out / "checkpoint-2").is_dir() and cpu_grpo.is_finished(out)
    assert json.loads((out / "trainer_state.json").read_text())["global_step"] == STEPS
    AutoProcessor.from_pretrained(out)
    trained = AutoModelForImageTextToText.from_pretrained(out).state_dict()
    base = AutoModelForImageTextToText.from_pretrained(warm_model).state_dict()
    assert trained.keys() == base.keys()
    assert any(not torch.equal(trained[k], base[k]) for k in base)
    # ... and by a policy gradient: some group had rewards that differed, so advantages were not all 0
    steps = [r for r in _lines(out / cpu_grpo.LOG_FILE) if "loss" in r]
    assert any(r["frac_reward_zero_std"] < 1 and r["grad_norm"] > 0 for r in steps)


@pytest.mark.e2e
def test_every_step_logs_the_avr_metrics(run):
    out, _ = run
    steps = [r for r in _lines(out / cpu_grpo.LOG_FILE) if "loss" in r]
    assert [r["step"] for r in steps] == list(range(1, STEPS + 1))
    paper = RewardConfig.load("paper")
    for r in steps:
        shares = [r[f"avr/{k}/share"] for k in ("malformed", "answer", "perception", "full")]
        assert sum(shares) == pytest.approx(1.0)
        for key in ("avr/mean_score", "avr/mean_diversity_bonus", "avr/mean_length_factor", "avr/accuracy"):
            assert key in r
        # w(t) is verl's: 1-based step t of T generation batches
        assert r["avr/diversity_weight"] == pytest.approx(diversity_weight(r["step"], STEPS, paper))


@pytest.mark.e2e
def test_the_trainer_got_exactly_score_batchs_rewards_in_groups_of_n(run, rl_data):
    import pyarrow.parquet as pq
    from transformers import AutoProcessor

    out, _ = run
    recipe = cpu_grpo.load_standin_recipe("tiny_grpo", OVERRIDES)
    n, prompts = recipe["actor_rollout_ref.rollout.n"], recipe["data.train_batch_size"]
    rows = pq.read_table(rl_data[1] / "train.parquet").to_pylist()
    truth = {r["extra_info"]["id"]: r for r in rows}
    tok = AutoProcessor.from_pretrained(out).tokenizer
    by_step: dict[int, list[dict]] = defaultdict(list)
    for r in _lines(out / cpu_grpo.ROLLOUT_FILE):
        by_step[r["step"]].append(r)
    assert sorted(by_step) == list(range(1, STEPS + 1))
    logged = {r["step"]: r for r in _lines(out / cpu_grpo.LOG_FILE) if "loss" in r}
    for step, got in by_step.items():
        # one group = the n rollouts of one prompt; train_batch_size different prompts per step
        groups: dict[str, list[dict]] = defaultdict(list)
        for r in got:
            groups[r["group"]].append(r)
        assert len(groups) == prompts and all(len(g) == n for g in groups.values())
        assert all(len({r["prompt_id"] for r in g}) == 1 for g in groups.values())
        assert len({g[0]["prompt_id"] for g in groups.values()}) == prompts
        for r in got:  # inputs as the parquet and the token ids say, not as the adapter said
            src = truth[r["prompt_id"]]
            assert r["ground_truth"] == src["reward_model"]["ground_truth"]
            assert r["choices"] == src["extra_info"]["choices"]
            assert r["completion"] == tok.decode(r["completion_ids"], skip_special_tokens=True)
        expected = score_batch(
            [r["completion"] for r in got],
            [r["ground_truth"] for r in got],
            [r["group"] for r in got],
            step=step,
            total_steps=STEPS,
            lengths=[len(r["completion_ids"]) for r in got],
            choices=[r["choices"] for r in got],
            config=RewardConfig.load("paper"),
        )
        assert [r["score"] for r in got] == [e.score for e in expected]
        assert [r["diversity_bonus"] for r in got] == [e.diversity_bonus for e in expected]
        # the trainer's own reward statistic is the mean of these scores
        mean = sum(e.score for e in expected) / len(expected)
        assert logged[step][f"rewards/{cpu_grpo.REWARD_NAME}/mean"] == pytest.approx(mean, abs=1e-6)


@pytest.mark.e2e
def test_a_rerun_with_the_final_model_present_does_no_training(run, warm_model, rl_data, monkeypatch):
    out, _ = run
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    monkeypatch.setattr(cpu_grpo, "_trainer_classes", lambda: pytest.fail("a finished run built a trainer"))
    said: list[str] = []
    cpu_grpo.run_cpu_grpo(warm_model, rl_data[1], out, overrides=OVERRIDES, echo=said.append)
    assert any("done already" in s for s in said)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before


@pytest.mark.e2e
def test_an_interrupted_run_resumes_from_its_last_checkpoint(run, warm_model, rl_data, tmp_path):
    out = tmp_path / "resumed"
    shutil.copytree(run[0], out)
    # as if killed after checkpoint-2: no final model, no later checkpoint
    for name in ("model.safetensors", "trainer_state.json"):
        (out / name).unlink()
    shutil.rmtree(out / "checkpoint-3")
    n_before = len(_lines(out / cpu_grpo.ROLLOUT_FILE))
    said: list[str] = []
    cpu_grpo.run_cpu_grpo(warm_model, rl_data[1], out, overrides=OVERRIDES, echo=said.append)
    assert any("resuming from" in s and "checkpoint-2" in s for s in said)
    assert json.loads((out / "trainer_state.json").read_text())["global_step"] == STEPS
    redone = _lines(out / cpu_grpo.ROLLOUT_FILE)[n_before:]
    assert {r["step"] for r in redone} == {STEPS}  # only the step after the checkpoint ran again
