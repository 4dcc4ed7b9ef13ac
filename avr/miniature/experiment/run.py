"""The experiment's stages. Each writes under ``out/`` and is skipped when its output is there, so a
killed run resumes where it stopped, and one arm can be run (or rerun) alone.

    out/data/records/{sft,rl,heldout}.jsonl   the world (avr.miniature.synthetic, world from the recipe);
                                              val.jsonl too where the recipe sets data.val_items
    out/data/sft/, out/data/rl/               avr data sft / avr data rl, held-out items excluded
    out/model/                                the random model (avr tiny-model --size ...)
    out/sft/                                  stage 1: train-sft.sh RECIPE (LLaMA-Factory)
    out/eval/val-sft-<mode>/                  the SFT model, forced:1/2/3, on the val split (worlds with one)
    out/eval/sft-<mode>/                      avr eval of the SFT model: forced:1/2/3 and adaptive
    out/grpo/<arm>-s<seed>/                   stage 2: the CPU stand-in with the arm's reward preset
    out/eval/<arm>-s<seed>/                   avr eval of each FS-GRPO model (adaptive)
    out/report.md, out/summary.json, out/plots/
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from avr.io import write_json
from avr.miniature.experiment.recipe import (
    BASELINE_MODES,
    COMBOS,
    FORCED_MODES,
    Experiment,
    load_experiment,
    mode_dir,
)

STAGES = ("data", "model", "sft", "val", "baselines")


def _say(msg: str) -> None:
    print(f"[experiment] {msg}", flush=True)


class Timer:
    """Wall seconds per stage, kept in ``summary.json`` across resumed runs (a resumed stage adds)."""

    def __init__(self, path: Path):
        self.path = path
        self.data: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
        self.data.setdefault("stages", {})

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        t0 = time.monotonic()
        result = fn()
        spent = time.monotonic() - t0
        self.data["stages"][name] = round(self.data["stages"].get(name, 0.0) + spent, 1)
        self.save()
        return result

    def save(self) -> None:
        write_json(self.path, self.data)


def build_world_data(exp: Experiment, out: Path) -> dict[str, Path]:
    """The world's three disjoint item sets, the SFT set and the RL parquet (held-out items excluded).

    With ``data.val_items`` (worlds with a val split: trio), a fourth set of training combinations on
    new images becomes the RL parquet's validation set instead of a share of the RL items.
    """
    from avr.data.exclude import LeakageIndex
    from avr.data.rl import build_rl_dataset
    from avr.data.sft import build_sft_dataset
    from avr.eval.benchmarks import load_benchmark
    from avr.miniature.synthetic import generate, world_splits

    rec = out / "data" / "records"
    d, seed = exp.data, int(exp.data.get("seed", 0))
    # Three seeds, so the three sets are drawn independently; the leakage guard still checks.
    paths = {
        "sft": rec / "sft.jsonl",
        "rl": rec / "rl.jsonl",
        "heldout": rec / "heldout.jsonl",
    }
    specs = {
        "sft": (int(d["sft_items"]), 3 * seed, exp.sft_formats, d.get("sft_levels")),
        "rl": (int(d["rl_items"]), 3 * seed + 1, None, d.get("rl_levels")),
        "heldout": (int(d["heldout_items"]), 3 * seed + 2, None, None),
    }
    if d.get("val_items"):  # the recipe allows it only where the world has a val split
        paths["val"] = rec / "val.jsonl"
        specs["val"] = (int(d["val_items"]), 3 * seed, None, None)  # its split seeds its own stream
    # A world with splits (trio) draws each set from its own pool: held-out items then ask digit
    # combinations and phrasings that no SFT or RL item has. Other worlds take no split.
    splits = world_splits(exp.world)
    if COMBOS in splits:
        # as many items again: the held-out combinations in training phrasings, one axis alone
        paths[COMBOS] = rec / f"{COMBOS}.jsonl"
        specs[COMBOS] = (int(d["heldout_items"]), 3 * seed + 2, None, None)
    for name, (n, s, formats, levels) in specs.items():
        if not paths[name].is_file():
            split = name if name in splits else None
            generate(rec, n, seed=s, name=name, world=exp.world, formats=formats, levels=levels, split=split)
    sft_dir, rl_dir = out / "data" / "sft", out / "data" / "rl"
    if not (sft_dir / "dataset_info.json").is_file() or not (rl_dir / "val.parquet").is_file():
        # The guard, for real, but on exact images only. Its look-alike rule (same question and answer,
        # an image within a few dHash bits) is right for benchmarks, whose items are unique; in this
        # world every image with the same two digits is a look-alike, so it would drop a third of the
        # training set and test unseen digit pairs instead of unseen images.
        leaks = LeakageIndex()
        for name in ("heldout", COMBOS):
            if name in paths:
                for item in load_benchmark(f"{name}={paths[name]}"):
                    for sha in item.image_hashes():
                        leaks.images.setdefault(sha, f"{item.benchmark}/{item.id}")
        if not (sft_dir / "dataset_info.json").is_file():
            build_sft_dataset([paths["sft"]], sft_dir, name="avr_sft", exclude=leaks)
        if not (rl_dir / "val.parquet").is_file():
            # at the resolution the model trains and is evaluated at (verl's default floor would upscale)
            px = int(exp.eval["pixels"])
            build_rl_dataset(
                [paths["rl"]],
                rl_dir,
                val_inputs=[paths["val"]] if "val" in paths else None,
                val_fraction=0.05,
                seed=seed,
                exclude=leaks,
                min_pixels=px,
                max_pixels=px,
            )
    return {**paths, "sft_dir": sft_dir, "rl_dir": rl_dir}


def build_model(exp: Experiment, out: Path) -> Path:
    from avr.miniature.tiny import build_tiny_model

    return build_tiny_model(out / "model", seed=int(exp.model.get("seed", 0)), size=str(exp.model["size"]))


def run_sft(exp: Experiment, out: Path, model: Path, sft_data: Path) -> Path:
    from avr.sft.runner import train_sft

    overrides = {
        "model_name_or_path": model,
        "dataset_dir": sft_data,
        "save_total_limit": 1,
        **exp.sft["overrides"],
    }
    return train_sft(exp.sft["recipe"], overrides, out / "sft", out / "logs" / "sft.log")


def evaluate(
    exp: Experiment, model: Path, records: Path, run_dir: Path, mode: str, name: str = "heldout"
) -> dict[str, Any]:
    """``avr eval`` (transformers backend) of ``model`` on a records file (the held-out items, or the
    val split), at the training resolution."""
    from avr.eval.benchmarks import load_benchmark
    from avr.eval.modes import parse_mode
    from avr.eval.runner import run_eval
    from avr.generation import Decoding

    px = int(exp.eval["pixels"])
    decoding = Decoding(max_new_tokens=int(exp.eval["max_new_tokens"]), min_pixels=px, max_pixels=px)
    items = load_benchmark(f"{name}={records}")
    return run_eval(
        model,
        items,
        run_dir,
        mode=parse_mode(mode),
        decoding=decoding,
        batch_size=int(exp.eval.get("batch_size", 32)),
    )


def run_arm(exp: Experiment, out: Path, sft_dir: Path, rl_dir: Path, arm: str, seed: int) -> Path:
    """One FS-GRPO run of an arm; returns the Hugging Face model to evaluate."""
    from avr.eval.report import plot_training_log

    spec = exp.arms[arm]
    run_dir = out / "grpo" / f"{arm}-s{seed}"
    overrides = {
        **exp.grpo["overrides"],
        **spec.grpo_overrides,
        "avr.reward_config": spec.reward,
        "data.seed": seed,
    }
    engine = exp.grpo["engine"]
    if engine == "verl":
        model, log = _run_arm_verl(exp, run_dir, sft_dir, rl_dir, overrides), run_dir / "metrics.jsonl"
    else:
        from avr.miniature.standin import run_cpu_grpo

        run_cpu_grpo(sft_dir, rl_dir, run_dir, recipe=exp.grpo["recipe"], overrides=overrides, echo=_say)
        model, log = run_dir, run_dir / "train_log.jsonl"
    curves = run_dir / "training_curves.png"
    if not curves.is_file():
        label = "verl, CPU backend" if engine == "verl" else "CPU stand-in"
        plot_training_log(log, curves, f"FS-GRPO ({label}): {arm}, seed {seed}")
    return model


def _run_arm_verl(exp: Experiment, run_dir: Path, sft_dir: Path, rl_dir: Path, overrides: dict) -> Path:
    """The arm on verl's own loop (train-fs-grpo.sh --cpu), the stand-in's recipe as Hydra overrides;
    the last FSDP checkpoint merged to HF (scripts/merge_checkpoint.sh), as a GPU run would be."""
    from avr.miniature.standin import load_standin_recipe, verl_overrides
    from avr.rl.runner import MERGED, merge, train_fs_grpo

    flat = load_standin_recipe(exp.grpo["recipe"], overrides)
    steps = int(flat["trainer.total_training_steps"])
    hydra = [*verl_overrides(flat), f"trainer.save_freq={flat.get('trainer.save_freq', steps)}"]
    ckpt = train_fs_grpo(sft_dir, rl_dir, run_dir, overrides=hydra, workers=int(exp.grpo.get("workers", 1)),
                         total_steps=steps)  # fmt: skip
    return merge(ckpt, run_dir / MERGED)


def _stages(
    exp: Experiment,
    out: Path,
    wanted: list[str],
    timer: Timer,
    until: str | None,
    sft_checkpoint: Path | None,
) -> None:
    _say(f"1/5 data: the {exp.world} world -> {out / 'data'}")
    paths = timer.run("data", lambda: build_world_data(exp, out))
    if until == "data":
        return
    if sft_checkpoint is not None:
        _say(f"2-3/5 stage 1: the SFT checkpoint {sft_checkpoint} (not retrained here)")
        sft_dir = sft_checkpoint
    else:
        _say(f"2/5 model: random {exp.model['size']} Qwen3-VL")
        model = timer.run("model", lambda: build_model(exp, out))
        if until == "model":
            return
        _say(f"3/5 stage 1: train-sft.sh {exp.sft['recipe']} (LLaMA-Factory)")
        sft_dir = timer.run("sft", lambda: run_sft(exp, out, model, paths["sft_dir"]))
    if until == "sft":
        return
    if "val" in paths:
        # What the recipe is tuned on: the held-out items are read only for the report below.
        _say("4/5 the SFT model on the val split (for tuning): forced:1, forced:2, forced:3")
        for mode in FORCED_MODES:
            run_dir = out / "eval" / ("val-" + mode_dir(mode))
            timer.run(
                f"eval val-{mode_dir(mode)}",
                lambda m=mode, d=run_dir: evaluate(exp, sft_dir, paths["val"], d, m, name="val"),
            )
    if until == "val":
        return
    _say("4/5 the SFT model on held-out items: forced:1, forced:2, forced:3 (always-reason), adaptive")
    for mode in BASELINE_MODES:
        run_dir = out / "eval" / mode_dir(mode)
        timer.run(
            f"eval {mode_dir(mode)}", lambda m=mode, d=run_dir: evaluate(exp, sft_dir, paths["heldout"], d, m)
        )
    if COMBOS in paths:
        _say(f"4/5 the SFT model on {COMBOS} (held-out combinations, training phrasings)")
        for mode in BASELINE_MODES:
            run_dir = out / "eval" / f"{COMBOS}-{mode_dir(mode)}"
            timer.run(
                f"eval {COMBOS}-{mode_dir(mode)}",
                lambda m=mode, d=run_dir: evaluate(exp, sft_dir, paths[COMBOS], d, m, name=COMBOS),
            )
    if until == "baselines":
        return
    for name in wanted:
        for seed in exp.arms[name].seeds:
            run = f"{name}-s{seed}"
            _say(f"5/5 stage 2 ({exp.arms[name].reward} reward, seed {seed}): {run}")
            grpo_dir = timer.run(
                f"grpo {run}", lambda n=name, s=seed: run_arm(exp, out, sft_dir, paths["rl_dir"], n, s)
            )
            timer.run(
                f"eval {run}",
                lambda g=grpo_dir, r=run: evaluate(exp, g, paths["heldout"], out / "eval" / r, "adaptive"),
            )
            if COMBOS in paths:
                timer.run(
                    f"eval {COMBOS}-{run}",
                    lambda g=grpo_dir, r=run: evaluate(
                        exp, g, paths[COMBOS], out / "eval" / f"{COMBOS}-{r}", "adaptive", name=COMBOS
                    ),
                )


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()} (Python {platform.python_version()})"


def run_experiment(
    recipe: str | os.PathLike = "digits",
    out: str | os.PathLike = "outputs/demo-full",
    *,
    arms: Iterable[str] | None = None,
    report_only: bool = False,
    until: str | None = None,
    sft_checkpoint: str | os.PathLike | None = None,
    engine: str | None = None,
) -> Path:
    """Every stage of the experiment into ``out``; returns the report's path.

    ``arms`` limits stage 2 to those arms (the report covers every arm that has results).
    ``report_only`` rewrites the report from what is there, running nothing.
    ``until``: stop after this stage (``data``, ``model``, ``sft``, ``val`` or ``baselines``); ``val``
    evaluates the SFT model's forced formats on the val split (worlds with one), the tuning view.
    ``sft_checkpoint``: an SFT model to start from instead of building and training one (the plain
    demo's committed checkpoint); the report names it.
    ``engine``: stage 2's engine over the recipe's ``grpo.engine`` (``verl`` or ``standin``).
    """
    if until is not None and until not in STAGES:
        raise ValueError(f"until must be one of {', '.join(STAGES)}, not {until!r}")
    from avr.miniature.experiment.report import write_report

    exp = load_experiment(recipe)
    # Pinned for every stage and the launchers' children: an unset OpenMP pool sized itself to the
    # machine in each worker, and on a loaded machine LLaMA-Factory then tokenised 17 rows/s, not ~1,000.
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    if engine is not None:
        from avr.miniature.experiment.recipe import ENGINES

        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
        exp.grpo["engine"] = engine
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    wanted = list(arms) if arms else list(exp.arms)
    unknown = sorted(set(wanted) - set(exp.arms))
    if unknown:
        raise ValueError(f"{exp.path}: no arm(s) {unknown}; arms: {sorted(exp.arms)}")
    timer = Timer(out / "summary.json")
    timer.data.update(
        recipe=str(exp.path),
        machine=machine(),
        engine=exp.grpo["engine"],
        omp_threads=os.environ["OMP_NUM_THREADS"],
    )
    if sft_checkpoint is not None:
        timer.data["sft_checkpoint"] = str(sft_checkpoint)
    if not report_only:
        t0 = time.monotonic()
        _stages(exp, out, wanted, timer, until, Path(sft_checkpoint) if sft_checkpoint else None)
        timer.data["last_run_seconds"] = round(time.monotonic() - t0, 1)
        timer.save()
    report = write_report(exp, out, timer.data)
    _say(f"report: {report}")
    return report
