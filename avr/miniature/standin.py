"""The CPU stand-in for stage 2: FS-GRPO through TRL's GRPOTrainer, the fast CPU engine for the experiment's ablations.

verl's own loop runs on a CPU too (``train-fs-grpo.sh --cpu``, the demo's stage 2), but at ~6 s a step
against this stand-in's ~1.6 s, so the miniature experiment's ablations (seven arms of 200 steps) run
here (``--engine standin``; docs/miniature.md compares the two engines on the main arm): the same
RL parquet that verl reads, the same reward (``avr.rl.reward.score_batch``: correctness, format shaping,
length and the group diversity bonus), a recipe whose keys are the verl recipe's names. The product
path stays verl (``train-fs-grpo.sh``); this module is only the stand-in, and says so when it runs.

How TRL 0.24 maps onto the verl recipe:

* groups: TRL's ``RepeatSampler`` yields each prompt ``n`` times in a row, and the reward function is
  called once per generation batch, so completions ``[i*n, (i+1)*n)`` are the rollouts of one prompt;
  TRL normalises advantages over exactly those slices (``rewards.view(-1, n)``). The group id of a
  completion is its slice; the adapter checks that every slice holds one prompt.
* steps: one verl step is one generation batch of ``data.train_batch_size`` prompts, followed by
  ``train_batch_size / ppo_mini_batch_size * ppo_epochs`` optimizer updates. TRL counts updates, so
  its ``max_steps`` and ``save_steps`` are scaled by that factor and the reward's step t (1-based, as
  verl's ``global_steps``) is recovered from ``trainer_state.global_step``.
* the KL term: ``use_kl_loss``/``kl_loss_coef`` -> TRL ``beta`` (TRL's estimator is k3, verl's
  ``low_var_kl`` is k3 clamped); ``clip_ratio`` -> ``epsilon``; verl's ``token-mean`` loss -> TRL
  ``dapo``. verl's ``entropy_coeff`` has no TRL counterpart and is left out.

Two incompatibilities of TRL 0.24 with transformers 5.5, worked around here without changing TRL:

1. ``trl.import_utils`` reads ``transformers``' private ``_is_package_available``, which returns a
   tuple in transformers 5, so every optional package (mergekit, weave, deepspeed...) looks
   installed and ``from trl import GRPOTrainer`` fails. ``_import_trl`` turns those flags back into
   the booleans TRL meant before the trainer module is imported (a no-op where they are booleans).
2. Qwen3-VL in transformers 5.5 needs ``mm_token_type_ids`` with the image grid to build its M-RoPE
   positions, and TRL does not carry it from generation to the training forward. ``_AVRGRPOTrainer``
   rebuilds it from the left-padded prompt ids and routes it through TRL's existing
   ``token_type_ids`` plumbing (padded with zeros over the completion, sliced per micro-batch); a
   forward pre-hook on the policy and reference model instances renames it back.
"""

from __future__ import annotations

import difflib
import io
import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from avr.rl.reward import RewardConfig, RewardResult, diversity_weight, score_batch, summarize

logger = logging.getLogger(__name__)

BANNER = (
    "[cpu-grpo] the CPU stand-in for stage 2 (TRL GRPOTrainer); the product path is verl (train-fs-grpo.sh)"
)
LOG_FILE = "train_log.jsonl"
ROLLOUT_FILE = "rollouts.jsonl"
REWARD_NAME = "avr_fs_grpo"

# Every recipe key, by the name the verl recipe (train_configs/fs_grpo/*.yaml) gives it.
RECIPE_KEYS: tuple[str, ...] = (
    "data.train_batch_size",  # prompts per step
    "data.max_response_length",  # -> max_completion_length
    "data.shuffle",
    "data.seed",
    "actor_rollout_ref.actor.optim.lr",
    "actor_rollout_ref.actor.optim.weight_decay",
    "actor_rollout_ref.actor.optim.clip_grad",  # -> max_grad_norm
    "actor_rollout_ref.actor.optim.lr_scheduler_type",
    "actor_rollout_ref.actor.ppo_mini_batch_size",  # prompts per optimizer update
    "actor_rollout_ref.actor.ppo_epochs",  # -> num_iterations
    "actor_rollout_ref.actor.use_kl_loss",
    "actor_rollout_ref.actor.kl_loss_coef",  # -> beta
    "actor_rollout_ref.actor.clip_ratio",  # -> epsilon
    "actor_rollout_ref.rollout.n",  # -> num_generations
    "actor_rollout_ref.rollout.temperature",
    "actor_rollout_ref.rollout.top_p",
    "algorithm.norm_adv_by_std_in_grpo",  # -> scale_rewards "group" / "none"
    "trainer.total_training_steps",
    "trainer.save_freq",
    "trainer.max_ckpt_to_keep",  # -> save_total_limit
    "avr.reward_config",  # train_configs/reward/<name>.yaml or a path
)


# The few keys whose verl name differs from the stand-in's (the rest are verl's own names already).
VERL_NAMES: dict[str, tuple[str, ...]] = {
    # verl's vanilla loss reads the two clip bounds; actor.clip_ratio is only their fallback
    "actor_rollout_ref.actor.clip_ratio": (
        "actor_rollout_ref.actor.clip_ratio_low",
        "actor_rollout_ref.actor.clip_ratio_high",
    ),
    "trainer.max_ckpt_to_keep": ("trainer.max_actor_ckpt_to_keep",),
}


def verl_overrides(flat: Mapping[str, Any]) -> list[str]:
    """The same recipe as Hydra overrides for verl (train-fs-grpo.sh --cpu), so one arm can run on
    either engine. verl's entropy term is switched off: the stand-in has none (TRL has no counterpart),
    and the two engines are compared on the same objective."""
    out = []
    for key, value in flat.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        out += [f"{name}={text}" for name in VERL_NAMES.get(key, (key,))]
    return [*out, "actor_rollout_ref.actor.entropy_coeff=0"]


# ----------------------------------------------------------------------------------------------- recipe
class RecipeError(ValueError):
    """A recipe or override key that is unknown or missing; the message names it."""


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def _check_keys(keys: Sequence[str], source: str) -> None:
    for key in keys:
        if key not in RECIPE_KEYS:
            near = difflib.get_close_matches(key, RECIPE_KEYS, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise RecipeError(f"{source}: unknown key {key!r}{hint}; known keys: {', '.join(RECIPE_KEYS)}")


def load_standin_recipe(
    recipe: str | os.PathLike = "tiny_grpo", overrides: Mapping[str, Any] | None = None
) -> dict:
    """The flat recipe (dotted verl names): YAML merged with overrides; any unknown key is an error."""
    from avr.config import read_preset

    path, data = read_preset(recipe, "cpu_standin", "CPU GRPO recipe")
    flat = _flatten(data)
    _check_keys(list(flat), str(path))
    extra = _flatten(overrides or {})
    _check_keys(list(extra), "overrides")
    flat.update(extra)
    missing = [k for k in RECIPE_KEYS if k not in flat]
    if missing:
        raise RecipeError(f"{path}: missing key(s) {missing}")
    return flat


def updates_per_step(recipe: Mapping[str, Any]) -> int:
    """Optimizer updates TRL makes per verl step (one generation batch)."""
    batch, mini = (
        int(recipe["data.train_batch_size"]),
        int(recipe["actor_rollout_ref.actor.ppo_mini_batch_size"]),
    )
    if batch <= 0 or mini <= 0 or batch % mini:
        raise ValueError(
            f"data.train_batch_size ({batch}) must be a positive multiple of ppo_mini_batch_size ({mini})"
        )
    return batch // mini * int(recipe["actor_rollout_ref.actor.ppo_epochs"])


def grpo_args(
    recipe: Mapping[str, Any], out_dir: Path, config_cls: type, *, suppress_tokens: Sequence[int] = ()
) -> Any:
    """TRL's GRPOConfig from the verl-named recipe.

    ``suppress_tokens``: ids the sampler must never emit (the image/video placeholders: one in a
    completion makes the training forward expect an image that is not there).
    """
    n = int(recipe["actor_rollout_ref.rollout.n"])
    mini = int(recipe["actor_rollout_ref.actor.ppo_mini_batch_size"])
    k = updates_per_step(recipe)
    return config_cls(
        output_dir=str(out_dir),
        use_cpu=True,
        bf16=False,
        fp16=False,
        seed=int(recipe["data.seed"]),
        shuffle_dataset=bool(recipe["data.shuffle"]),
        per_device_train_batch_size=mini * n,  # TRL counts completions
        gradient_accumulation_steps=1,
        steps_per_generation=int(recipe["data.train_batch_size"]) // mini,
        num_iterations=int(recipe["actor_rollout_ref.actor.ppo_epochs"]),
        num_generations=n,
        max_prompt_length=None,  # TRL would cut image tokens; verl filters overlong prompts instead
        max_completion_length=int(recipe["data.max_response_length"]),
        temperature=float(recipe["actor_rollout_ref.rollout.temperature"]),
        top_p=float(recipe["actor_rollout_ref.rollout.top_p"]),
        learning_rate=float(recipe["actor_rollout_ref.actor.optim.lr"]),
        weight_decay=float(recipe["actor_rollout_ref.actor.optim.weight_decay"]),
        max_grad_norm=float(recipe["actor_rollout_ref.actor.optim.clip_grad"]),
        lr_scheduler_type=str(recipe["actor_rollout_ref.actor.optim.lr_scheduler_type"]),
        beta=float(recipe["actor_rollout_ref.actor.kl_loss_coef"])
        if recipe["actor_rollout_ref.actor.use_kl_loss"]
        else 0.0,
        epsilon=float(recipe["actor_rollout_ref.actor.clip_ratio"]),
        loss_type="dapo",  # token-mean over the batch, verl's default loss_agg_mode
        scale_rewards="group" if recipe["algorithm.norm_adv_by_std_in_grpo"] else "none",
        max_steps=int(recipe["trainer.total_training_steps"]) * k,
        save_strategy="steps",
        save_steps=int(recipe["trainer.save_freq"]) * k,
        save_total_limit=recipe["trainer.max_ckpt_to_keep"],
        logging_steps=1,
        report_to="none",
        dataloader_num_workers=0,
        remove_unused_columns=False,
        generation_kwargs={"suppress_tokens": list(suppress_tokens)} if suppress_tokens else None,
    )


# ------------------------------------------------------------------------------------------------- data
class RLRows:
    """verl's RL parquet as TRL wants it: chat prompt with image parts, PIL images, reward columns."""

    def __init__(self, parquet: str | os.PathLike):
        import pyarrow.parquet as pq

        self.path = Path(parquet)
        self.rows = pq.read_table(self.path).to_pylist()
        if not self.rows:
            raise ValueError(f"{self.path}: no rows")

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        from PIL import Image

        from avr.formats import prompt_to_content

        row = self.rows[i]
        extra = row.get("extra_info") or {}
        images = []
        for im in row.get("images") or []:
            src = io.BytesIO(im["bytes"]) if im.get("bytes") else self.path.parent / im["path"]
            with Image.open(src) as img:
                images.append(img.convert("RGB"))
        # Fresh dicts on every access: TRL edits prompts in place.
        prompt = [
            {"role": m["role"], "content": prompt_to_content(m["content"])}
            if isinstance(m["content"], str)
            else m
            for m in row["prompt"]
        ]
        return {
            "prompt": prompt,
            "images": images,
            "ground_truth": list(row["reward_model"]["ground_truth"]),
            "choices": extra.get("choices"),
            "prompt_id": str(extra.get("id", extra.get("index", i))),
        }


# ----------------------------------------------------------------------------------------------- reward
def completion_text(completion: Any) -> str:
    """TRL hands conversational completions as ``[{"role": "assistant", "content": text}]``."""
    if isinstance(completion, str):
        return completion
    content = completion[-1]["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, Mapping))


def group_ids(prompt_ids: Sequence[str], num_generations: int, call: int) -> list[str]:
    """TRL's groups: consecutive slices of ``num_generations`` completions, each of one prompt."""
    n = num_generations
    if len(prompt_ids) % n:
        raise RuntimeError(f"cpu-grpo: {len(prompt_ids)} completions are not whole groups of {n}")
    for start in range(0, len(prompt_ids), n):
        if len(set(prompt_ids[start : start + n])) != 1:
            raise RuntimeError(
                f"cpu-grpo: TRL's group layout changed: completions {start}..{start + n - 1} come from "
                f"prompts {sorted(set(prompt_ids[start : start + n]))}"
            )
    return [f"{call}:{i // n}" for i in range(len(prompt_ids))]


class FSGRPOReward:
    """TRL reward function: ``avr.rl.reward.score_batch`` over the generation batch, groups as TRL forms them.

    Keeps the step's results for the ``avr/*`` metrics and appends every rollout with its reward terms
    to ``rollouts.jsonl`` (what the trainer was given, for inspection and tests).
    """

    __name__ = REWARD_NAME

    def __init__(
        self,
        config: RewardConfig,
        *,
        num_generations: int,
        updates_per_step: int,
        total_steps: int,
        rollout_path: Path | None = None,
    ):
        self.config = config
        self.num_generations = num_generations
        self.updates_per_step = updates_per_step
        self.total_steps = total_steps
        self.rollout_path = rollout_path
        self.calls = 0
        self.pending: list[RewardResult] = []
        self.step = 0

    def __call__(
        self,
        prompts: list,
        completions: list,
        completion_ids: list[list[int]],
        *,
        ground_truth: list,
        choices: list,
        prompt_id: list[str],
        trainer_state: Any,
        **_: Any,
    ) -> list[float]:
        texts = [completion_text(c) for c in completions]
        groups = group_ids(prompt_id, self.num_generations, self.calls)
        self.calls += 1
        # verl's global_steps is 1-based and counts generation batches; TRL's counts optimizer updates.
        self.step = trainer_state.global_step // self.updates_per_step + 1
        results = score_batch(
            texts,
            ground_truth,
            groups,
            step=self.step,
            total_steps=self.total_steps,
            lengths=[float(len(ids)) for ids in completion_ids],
            choices=choices,
            config=self.config,
        )
        self.pending.extend(results)
        if self.rollout_path is not None:
            with open(self.rollout_path, "a") as f:
                for i, res in enumerate(results):
                    row = {
                        "step": self.step,
                        "group": groups[i],
                        "prompt_id": prompt_id[i],
                        "ground_truth": list(ground_truth[i]),
                        "choices": choices[i],
                        "completion": texts[i],
                        "completion_ids": list(completion_ids[i]),
                        **res.as_dict(),
                    }
                    f.write(json.dumps(row) + "\n")
        return [r.score for r in results]

    def pop_metrics(self) -> dict[str, float]:
        """``avr/*`` metrics of the rollouts scored since the last call (empty if none)."""
        if not self.pending:
            return {}
        metrics = summarize(self.pending)
        metrics["avr/diversity_weight"] = diversity_weight(self.step, self.total_steps, self.config)
        self.pending = []
        return metrics


# ---------------------------------------------------------------------------------------------- trainer
def _import_trl() -> tuple[type, type]:
    """GRPOConfig and GRPOTrainer, after restoring TRL's optional-package flags to booleans.

    TRL 0.24 stores ``transformers``' private ``_is_package_available(...)``, a ``(bool, version)``
    tuple in transformers 5, so absent packages read as present and the trainer's import fails.
    """
    import trl.import_utils as flags

    for name, value in list(vars(flags).items()):
        if name.startswith("_") and name.endswith("_available") and isinstance(value, tuple):
            setattr(flags, name, bool(value[0]))
    from trl import GRPOConfig, GRPOTrainer

    return GRPOConfig, GRPOTrainer


def _mm_token_types_to_model(module: Any, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """Forward pre-hook: TRL passes the modality ids as ``token_type_ids``; Qwen3-VL names them ``mm_``."""
    if kwargs.get("token_type_ids") is not None and "mm_token_type_ids" not in kwargs:
        kwargs["mm_token_type_ids"] = kwargs.pop("token_type_ids")
    return args, kwargs


def _trainer_classes() -> tuple[type, type]:
    """The trainer subclass and the JSONL log callback (built lazily: TRL is imported only to train)."""
    _, GRPOTrainer = _import_trl()
    import torch
    from transformers import TrainerCallback
    from trl.trainer.utils import pad

    class _AVRGRPOTrainer(GRPOTrainer):
        """GRPOTrainer + the Qwen3-VL modality ids + AVR's reward metrics in every log line."""

        def __init__(self, *args: Any, avr_reward: FSGRPOReward, **kwargs: Any):
            self.avr_reward = avr_reward
            super().__init__(*args, **kwargs)
            for model in (self.model, self.ref_model):
                if model is not None:
                    model.register_forward_pre_hook(_mm_token_types_to_model, with_kwargs=True)

        def _generate_single_turn(self, prompts: list, images: list | None):
            prompt_ids, completion_ids, logprobs, forward_kwargs = super()._generate_single_turn(
                prompts, images
            )
            # The processor's ids follow its own (right) padding; TRL left-pads prompt_ids. Rebuild them
            # on TRL's layout so that TRL extends them over the completion and slices them per batch.
            if forward_kwargs.pop("mm_token_type_ids", None) is not None:
                if "token_type_ids" in forward_kwargs:
                    raise RuntimeError(
                        "cpu-grpo: the processor returned both token_type_ids and mm_token_type_ids"
                    )
                types = self.processing_class.create_mm_token_type_ids(prompt_ids)
                forward_kwargs["token_type_ids"] = pad(
                    [torch.tensor(t, device=self.accelerator.device) for t in types],
                    padding_value=0,
                    padding_side="left",
                )
            return prompt_ids, completion_ids, logprobs, forward_kwargs

        def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
            if self.model.training:
                logs = {**logs, **self.avr_reward.pop_metrics()}
            super().log(logs, start_time)

    class _JsonlLog(TrainerCallback):
        """One JSON line per logged step (loss, TRL's reward stats, ``avr/*``), like LLaMA-Factory's log."""

        def __init__(self, path: Path):
            self.path = path

        def on_log(self, args, state, control, logs=None, **kwargs):
            if state.is_world_process_zero and logs:
                with open(self.path, "a") as f:
                    f.write(json.dumps({"step": state.global_step, **logs}) + "\n")

    return _AVRGRPOTrainer, _JsonlLog


def _quiet_progress(trainer: Any) -> None:
    """Keep the Trainer's progress bar but not its dump of ~40 metrics a step to stdout: they are in
    train_log.jsonl, one JSON line a step, where they can be read."""
    from transformers.trainer_callback import ProgressCallback

    class _Bar(ProgressCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            return None

    if trainer.pop_callback(ProgressCallback) is not None:
        trainer.add_callback(_Bar())


def is_finished(out_dir: str | os.PathLike) -> bool:
    """The final model is written last, then ``trainer_state.json``: both present means done."""
    out = Path(out_dir)
    weights = (out / "model.safetensors").is_file() or (out / "model.safetensors.index.json").is_file()
    return weights and (out / "trainer_state.json").is_file()


def run_cpu_grpo(
    model_dir: str | os.PathLike,
    data_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    recipe: str | os.PathLike = "tiny_grpo",
    overrides: Mapping[str, Any] | None = None,
    echo: Callable[[str], None] = print,
) -> Path:
    """Stage 2 on the CPU: FS-GRPO of ``model_dir`` on ``data_dir/train.parquet``; returns ``out_dir``.

    ``out_dir`` ends up an HF model directory (weights, config, processor). A rerun resumes from the
    last ``checkpoint-N`` there, and does nothing once the final model is in place.
    """
    cfg = load_standin_recipe(recipe, overrides)  # unknown keys fail before anything loads
    out = Path(out_dir)
    echo(BANNER)
    logger.info(BANNER)
    if is_finished(out):
        echo(f"[cpu-grpo] done already: {out} holds the final model; nothing to do")
        return out
    train_file = Path(data_dir) / "train.parquet"
    if not train_file.is_file():
        raise FileNotFoundError(f"{train_file} not found; build it with `avr data rl`")

    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from transformers.trainer_utils import get_last_checkpoint

    GRPOConfig, _ = _import_trl()
    trainer_cls, log_cls = _trainer_classes()
    out.mkdir(parents=True, exist_ok=True)
    dataset = RLRows(train_file)
    n_prompts = int(cfg["data.train_batch_size"])
    if len(dataset) < n_prompts:
        raise ValueError(f"{train_file}: {len(dataset)} rows, fewer than data.train_batch_size={n_prompts}")
    k = updates_per_step(cfg)
    total = int(cfg["trainer.total_training_steps"])
    reward = FSGRPOReward(
        RewardConfig.load(cfg["avr.reward_config"]),
        num_generations=int(cfg["actor_rollout_ref.rollout.n"]),
        updates_per_step=k,
        total_steps=total,
        rollout_path=out / ROLLOUT_FILE,
    )
    model = AutoModelForImageTextToText.from_pretrained(model_dir, dtype=torch.float32)
    if not hasattr(model, "warnings_issued"):  # TRL 0.24 writes to it; transformers 5 dropped it
        model.warnings_issued = {}
    processor = AutoProcessor.from_pretrained(model_dir)
    suppress = sorted({*getattr(processor, "image_ids", []), *getattr(processor, "video_ids", [])})
    trainer = trainer_cls(
        model=model,
        reward_funcs=[reward],
        args=grpo_args(cfg, out, GRPOConfig, suppress_tokens=suppress),
        train_dataset=dataset,
        processing_class=processor,
        avr_reward=reward,
        callbacks=[log_cls(out / LOG_FILE)],
    )
    _quiet_progress(trainer)
    last = get_last_checkpoint(str(out)) if out.is_dir() else None
    echo(
        f"[cpu-grpo] {total} steps x {n_prompts} prompts x {reward.num_generations} rollouts "
        f"({len(dataset)} rows, reward preset {cfg['avr.reward_config']!r})"
        + (f"; resuming from {last}" if last else "")
    )
    trainer.train(resume_from_checkpoint=last)
    trainer.save_model(str(out))  # weights, config, generation config, processor
    trainer.save_state()  # trainer_state.json last: marks the run finished
    echo(f"[cpu-grpo] FS-GRPO model (HF format, CPU stand-in): {out}")
    return out
