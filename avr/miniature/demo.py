"""The CPU demo: the whole pipeline on the built-in data and a tiny random Qwen3-VL, then the effect.

built-in data -> tiny model -> stage 1 SFT (LLaMA-Factory, ``train-sft.sh``) -> stage 2 FS-GRPO on
verl's own loop (``train-fs-grpo.sh --cpu``: the CPU backend) -> the checkpoint merged to HF
(``scripts/merge_checkpoint.sh``) -> ``avr eval`` of every model -> ``report.md`` with plots. Every
command is the one a GPU user runs. Each step skips work already done, so a rerun resumes. The tiny
model's numbers show the pipeline works, not what AVR achieves; part 2 (the effect) does that, from the
miniature experiment's committed SFT checkpoint.
"""

from __future__ import annotations

import time
from pathlib import Path

from avr.io import atomic_open, write_json


def _say(msg: str) -> None:
    print(f"[demo] {msg}", flush=True)


def _train_sft(out: Path, model: Path, data: Path, steps: int) -> Path:
    """Run train-sft.sh with the tiny_cpu recipe; show a progress bar fed by LLaMA-Factory's log."""
    from avr.sft.runner import sft_done, train_sft

    sft_dir = out / "sft"
    if sft_done(sft_dir):
        _say(f"SFT already done: {sft_dir}")
        return sft_dir
    overrides = {"model_name_or_path": model, "dataset_dir": data, "max_steps": steps,
                 "save_steps": max(steps // 2, 1)}  # fmt: skip
    return train_sft("tiny_cpu", overrides, sft_dir, out / "logs" / "sft.log")


def _evaluate(out: Path, runs: dict[str, tuple[Path, str]], bench: str, max_new_tokens: int) -> dict:
    """``avr eval`` (transformers backend) on the held-out benchmark for each (model, mode)."""
    from avr.eval.benchmarks import load_benchmark
    from avr.eval.modes import parse_mode
    from avr.eval.runner import run_eval
    from avr.generation import Decoding

    items = load_benchmark(bench)
    decoding = Decoding(max_new_tokens=max_new_tokens)
    results = {}
    for name, (model, mode) in runs.items():
        baseline = out / "eval" / "sft" if name != "sft" else None
        results[name] = run_eval(
            model, items, out / "eval" / name, mode=parse_mode(mode), decoding=decoding, baseline=baseline
        )
    return results


def _effect_section(effect_report: Path | None) -> list[str]:
    """The main arm's comparison table (one seed, from the committed SFT model), lifted from its report."""
    if effect_report is None:
        return []
    text = effect_report.read_text(encoding="utf-8")
    start, end = text.find("## Against always-reason"), text.find("### Targets")
    table = text[start:end].split("\n", 1)[1].strip() if start >= 0 else "(no comparison: see the report)"
    return [
        "## The effect (the experiment's main arm, one seed, from its committed SFT checkpoint)",
        "",
        "A small Qwen3-VL that learned to read digits from pixels (`avr/assets/digits_sft`, the SFT model",
        "of `avr demo --full`), then FS-GRPO for 200 steps through the CPU stand-in (TRL's GRPOTrainer with",
        "the same reward and recipe: 200 steps of verl on 2 cores take ~27 minutes, the stand-in's ~7;",
        "`avr experiment demo --engine verl` runs them), evaluated on held-out",
        "items at two levels: 1 reads one digit (a glance suffices), 3 adds or subtracts the two (the",
        "written steps help). One seed and no ablations; the full experiment, with the SFT stage trained",
        "here, two seeds and the ablations, is `avr demo --full`.",
        "",
        table,
        "",
        "Full report: [effect/report.md](effect/report.md)",
        "",
        "![accuracy vs tokens](effect/plots/accuracy_vs_tokens.png)",
        "",
        "![format share per level](effect/plots/format_share_per_level.png)",
        "",
    ]


def _write_report(
    out: Path,
    stages: list[dict[str, str]],
    compare_table: str,
    results: dict,
    effect_report: Path | None = None,
) -> Path:
    lines = [
        "# AVR demo report",
        "",
        "Part 1: the whole pipeline on the built-in synthetic data and a tiny random Qwen3-VL (~0.8M",
        "parameters), on a CPU. Its numbers show that each stage runs and hands over to the next; a model",
        "this small says nothing about AVR's accuracy or token savings. Part 2 (below) shows the effect.",
        "",
        "## Stages",
        "",
        "| stage | what ran | status |",
        "|---|---|---|",
        *[f"| {s['stage']} | {s['what']} | {s['status']} |" for s in stages],
        "",
        "## Training curves",
        "",
        "Stage 1 (LLaMA-Factory's loss plot) and stage 2 (verl's run: format mix, reward and w(t)):",
        "",
        "![SFT loss](sft/training_loss.png)",
        "",
        "![FS-GRPO on verl](fs_grpo/training_curves.png)",
        "",
        "## Evaluation (held-out synthetic questions)",
        "",
        "Token reduction and accuracy change are against the SFT model in adaptive mode.",
        "",
        compare_table,
        "",
        "![accuracy vs tokens](eval/compare/accuracy_vs_tokens.png)",
        "",
    ]
    for name in results:
        lines += [f"### {name}", "", f"![format mix](eval/{name}/format_mix.png)", "",
                  f"Full report: [eval/{name}/report.md](eval/{name}/report.md)", ""]  # fmt: skip
    lines += _effect_section(effect_report)
    path = out / "report.md"
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    return path


def run_demo(
    out: Path,
    n: int = 240,
    steps: int = 400,
    grpo_steps: int = 3,
    max_new_tokens: int = 160,
    effect_recipe: str | None = "demo",
) -> int:
    from avr.data.build import build_data
    from avr.eval.report import compare_runs, plot_training_log
    from avr.miniature.tiny import build_tiny_model
    from avr.rl.runner import MERGED, merge, train_fs_grpo

    out = out.resolve()
    t0 = time.monotonic()
    stages: list[dict[str, str]] = []

    _say(f"1/7 built-in data -> {out / 'data'} (avr data build synthetic)")
    # The same command as the paper's data (train_configs/data/synthetic.yaml): generate, hold out,
    # the leakage guard for real (nothing of the evaluation set may reach training), SFT set, RL parquet.
    built = build_data(
        "synthetic",
        raw_dir=None,
        out_dir=out / "data",
        overrides={"sources.train.n": n, "sources.heldout.n": max(n // 8, 12)},
        log=lambda s: None,
    )
    held = Path(built["heldout"]["heldout"])
    data_sft, data_rl = Path(built["sft_dir"]), Path(built["rl_dir"])
    bench = f"synthetic_heldout={held}"
    sft_rows, rl_rows = built["sets"]["sft"]["rows"], built["sets"]["rl"]["train"]
    print(f"[demo] data: {sft_rows} SFT rows, {rl_rows} RL prompts, card: {out / 'data' / 'data_card.md'}")
    stages.append({"stage": "data", "what": f"{sft_rows} SFT rows, {rl_rows} RL prompts "
                   "(`avr data build synthetic`, leakage guard on)", "status": "ran"})  # fmt: skip

    _say("2/7 tiny random Qwen3-VL")
    model = build_tiny_model(out / "tiny-qwen3vl")
    stages.append({"stage": "model", "what": "tiny random Qwen3-VL (`avr tiny-model`)", "status": "ran"})

    _say("3/7 stage 1: multi-format SFT (LLaMA-Factory, train-sft.sh tiny_cpu)")
    sft_dir = _train_sft(out, model, data_sft, steps)
    stages.append({"stage": "1: SFT", "what": f"LLaMA-Factory, {steps} steps (`train-sft.sh tiny_cpu`)",
                   "status": "ran"})  # fmt: skip

    _say(f"4/7 stage 2: FS-GRPO on verl's own loop, CPU backend (train-fs-grpo.sh --cpu, {grpo_steps} steps)")
    run_dir = out / "fs_grpo"
    ckpt = train_fs_grpo(sft_dir, data_rl, run_dir, overrides=[f"trainer.total_training_steps={grpo_steps}",
                         f"trainer.save_freq={grpo_steps}", "trainer.test_freq=-1"], total_steps=grpo_steps)  # fmt: skip
    plot_training_log(
        run_dir / "metrics.jsonl", run_dir / "training_curves.png", "FS-GRPO on verl (CPU backend)"
    )
    stages.append({"stage": "2: FS-GRPO on verl", "what": f"`train-fs-grpo.sh --cpu --recipe cpu_tiny`, {grpo_steps} "
                   "steps: verl's GRPO loop, FSDP2 over gloo, the HF rollout replica, AVR's reward manager and "
                   "group bonus", "status": "ran"})  # fmt: skip

    _say("5/7 merge: scripts/merge_checkpoint.sh (verl's model merger, then a load check)")
    merged = merge(ckpt, run_dir / MERGED)
    stages.append({"stage": "merge", "what": "`scripts/merge_checkpoint.sh`: the FSDP checkpoint -> HF",
                   "status": "ran"})  # fmt: skip

    _say("6/7 avr eval on the held-out questions")
    runs = {
        "sft": (sft_dir, "adaptive"),
        "sft_forced3": (sft_dir, "forced:3"),
        "fs_grpo": (merged, "adaptive"),
    }
    results = _evaluate(out, runs, bench, max_new_tokens)
    table = compare_runs([out / "eval" / r for r in runs], out / "eval" / "compare")
    stages.append({"stage": "eval", "what": "`avr eval` (transformers backend): adaptive and forced:3",
                   "status": "ran"})  # fmt: skip
    effect = None
    if effect_recipe:
        from avr.miniature.experiment import run_experiment
        from avr.miniature.experiment.checkpoint import ASSET

        _say(f"7/7 the effect: FS-GRPO from the committed SFT checkpoint ({effect_recipe} recipe)")
        effect = run_experiment(effect_recipe, out / "effect", sft_checkpoint=ASSET)
        stages.append({"stage": "the effect", "what": "`avr experiment demo`: FS-GRPO (CPU stand-in) "
                       "from the committed SFT checkpoint, on the digits world", "status": "ran"})  # fmt: skip
    report = _write_report(out, stages, table, results, effect)
    summary = {name: r["overall"] for name, r in results.items()}
    write_json(out / "summary.json", {"stages": stages, "overall": summary, "seconds": time.monotonic() - t0})
    print(table)
    _say(f"done in {time.monotonic() - t0:.0f} s")
    _say(f"report: {report}")
    _say(f"plots: {out / 'eval' / 'compare' / 'accuracy_vs_tokens.png'}, {out / 'eval'}/*/format_mix.png")
    return 0
