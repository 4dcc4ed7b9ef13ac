"""The ``avr`` command: data building, evaluation, the tiny model and the demo.

Training itself is launched by the frameworks' own CLIs through ``train-sft.sh`` and
``train-fs-grpo.sh``; this command prepares what they read.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from avr.pixels import IMAGE_MAX_PIXELS, IMAGE_MIN_PIXELS


def _cmd_tiny_model(args: argparse.Namespace) -> int:
    from avr.miniature.tiny import build_tiny_model

    out = build_tiny_model(args.out, seed=args.seed, overwrite=args.overwrite, size=args.size)
    print(f"{args.size} random Qwen3-VL written to {out}")
    return 0


def _exclude_index(args: argparse.Namespace):
    """The leakage index for --exclude: every item of the named evaluation benchmarks."""
    if not args.exclude:
        return None
    from avr.data.exclude import load_index

    index = load_index(args.exclude, data_dir=args.benchmark_dir)
    print(f"--exclude: {len(index.images)} benchmark images, {len(index.questions)} questions indexed")
    return index


def _cmd_data_sft(args: argparse.Namespace) -> int:
    from avr.data.sft import build_sft_dataset, format_stats

    stats = build_sft_dataset(
        args.input,
        args.out,
        name=args.name,
        on_error=args.on_error,
        images=args.images,
        instruction=args.instruction,
        image_root=args.image_root,
        exclude=_exclude_index(args),
    )
    print(format_stats(stats))
    if stats["skipped"]:
        print(f"skipped rows are listed in {Path(args.out) / (args.name + '.skipped.jsonl')}")
    if stats["excluded"]:
        print(f"excluded rows are listed in {Path(args.out) / (args.name + '.excluded.jsonl')}")
    print(f"LLaMA-Factory: dataset_dir={args.out} dataset={args.name}")
    return 0


def _cmd_data_rl(args: argparse.Namespace) -> int:
    from avr.data.rl import build_rl_dataset, format_stats

    stats = build_rl_dataset(
        args.input,
        args.out,
        val_inputs=args.val_input,
        val_fraction=args.val_fraction,
        seed=args.seed,
        on_error=args.on_error,
        instruction=args.instruction,
        image_root=args.image_root,
        exclude=_exclude_index(args),
        min_pixels=args.min_pixels,
        max_pixels=args.max_pixels,
    )
    print(format_stats(stats))
    if stats["skipped"]:
        print(f"skipped rows are listed in {Path(args.out) / 'skipped.jsonl'}")
    if stats["excluded"]:
        print(f"excluded rows are listed in {Path(args.out) / 'excluded.jsonl'}")
    print(
        f"verl: data.train_files={Path(args.out) / 'train.parquet'} data.val_files={Path(args.out) / 'val.parquet'}"
    )
    return 0


def _cmd_data_convert(args: argparse.Namespace) -> int:
    from avr.data.sources import convert

    stats = convert(args.name, args.src, args.out, split=args.split, limit=args.limit, on_error=args.on_error)
    print(
        f"{args.name}: {stats['rows']} records written to {stats['path']} ({stats['skipped']} skipped, "
        f"{stats['filtered']} left out on purpose); by format {stats['by_format']}"
    )
    if stats["skipped"]:
        print(f"skipped rows are listed in {stats['skipped_path']}")
    if stats["repaired"]:
        print(f"{stats['repaired']} rows had U+FFFD (a lost character) in a text, replaced by a space")
    return 0


def _cmd_data_synthetic(args: argparse.Namespace) -> int:
    from avr.miniature.synthetic import generate

    path = generate(args.out, n=args.n, seed=args.seed, name=args.name)
    print(f"{args.n} synthetic records written to {path}")
    return 0


def _cmd_data_build(args: argparse.Namespace) -> int:
    from avr.data.build import build_data

    result = build_data(
        args.recipe,
        raw_dir=args.raw_dir,
        out_dir=args.out,
        only=args.only,
        overrides=_parse_sets(args.set),
        benchmark_dir=args.benchmark_dir,
    )
    print(f"data card: {result['card']}")
    if result["sft_dir"]:
        print(f"LLaMA-Factory: dataset_dir={result['sft_dir']} dataset={result['sft_name']}")
    if result["rl_dir"]:
        print(f"verl: bash train-fs-grpo.sh --data-dir {result['rl_dir']} ...")
    for key, path in result["heldout"].items():
        print(f"held out for evaluation: avr eval --benchmarks {key}={path} ...")
    return 0


def _parse_sets(pairs: list[str]) -> dict:
    """``key=value`` overrides; values parsed as YAML scalars (numbers, booleans)."""
    import yaml

    out = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise ValueError(f"--set {pair!r}: expected key=value")
        out[key.strip()] = yaml.safe_load(value)
    return out


def _cmd_data_annotate(args: argparse.Namespace) -> int:
    from avr.data.annotate import AnnotateConfig, annotate
    from avr.generation import Decoding, make_backend

    cfg = AnnotateConfig.load(args.config, _parse_sets(args.set))
    for p in [args.model, args.teacher]:
        if p and not Path(p).exists():
            raise FileNotFoundError(f"model not found: {p}")
    decoding = Decoding(max_new_tokens=cfg.max_new_tokens, seed=args.seed)
    policy = make_backend(args.backend, args.model, decoding)
    teacher = make_backend(args.backend, args.teacher, decoding) if args.teacher else None
    stats = annotate(
        args.input, args.out, backend=policy, teacher=teacher, config=cfg, on_error=args.on_error
    )
    print(
        f"annotated {stats['annotated']} rows now ({stats['already_done']} done before), by format "
        f"{stats['by_format']}; skipped {stats['skipped']} (see annotate.skipped.jsonl); -> {stats['path']}"
    )
    return 0


def _judge(args: argparse.Namespace):
    from avr.eval.scoring import Judge

    if not args.judge_url:
        return None
    if not args.judge_model:
        raise ValueError("--judge-url needs --judge-model (the model name the endpoint serves)")
    return Judge(args.judge_url, args.judge_model, api_key=os.environ.get("AVR_JUDGE_API_KEY", "EMPTY"))


def _print_metrics(run_dir: Path, metrics: dict) -> None:
    from avr.eval.report import metrics_table

    print(metrics_table(metrics, metrics.get("baseline")))
    sc = metrics.get("scoring") or {}
    print(
        f"scoring: {sc.get('profile')}; rule verdict where the reference asks a judge: {sc.get('needs_judge', 0)} "
        f"items; judged: {sc.get('judged', 0)}; judge failed (counted wrong): {sc.get('judge_failed', 0)}; "
        f"grading timeouts retried: {sc.get('grading_timeouts', 0)}; rows skipped at load: {metrics.get('skipped', 0)}"
    )
    print(f"report: {run_dir / 'report.md'} (plots: format_mix.png, accuracy_vs_tokens.png)")


def _cmd_eval_run(args: argparse.Namespace) -> int:
    from avr.eval.benchmarks import load_benchmark
    from avr.eval.modes import parse_mode
    from avr.eval.runner import run_eval
    from avr.generation import Decoding

    mode = parse_mode(args.mode)
    if not Path(args.model).exists():
        raise FileNotFoundError(f"--model {args.model}: no such directory (a merged HF checkpoint)")
    decoding = Decoding(
        temperature=args.temperature,
        top_p=args.top_p,
        max_new_tokens=args.max_new_tokens,
        min_pixels=args.min_pixels,
        max_pixels=args.max_pixels,
        seed=args.seed,
    )
    items, skipped = [], []
    for spec in [s for s in args.benchmarks.split(",") if s.strip()]:
        loaded = load_benchmark(spec.strip(), data_dir=args.data_dir, limit=args.limit)
        note = f" ({len(loaded.skipped)} rows skipped: see skipped.jsonl)" if loaded.skipped else ""
        print(f"{spec.strip()}: {len(loaded)} items{note}")
        items += loaded
        skipped += loaded.skipped
    metrics = run_eval(
        args.model,
        items,
        Path(args.out),
        mode=mode,
        backend=args.backend,
        decoding=decoding,
        batch_size=args.batch_size or (256 if args.backend == "vllm" else 8),
        instruction=args.instruction,
        consensus_temperature=args.consensus_temperature,
        tensor_parallel_size=args.tensor_parallel_size,
        judge=_judge(args),
        baseline=Path(args.baseline) if args.baseline else None,
        profile=args.scoring,
        skipped=skipped,
    )
    _print_metrics(Path(args.out), metrics)
    return 0


def _cmd_eval_score(args: argparse.Namespace) -> int:
    from avr.eval.runner import score_run

    metrics = score_run(
        Path(args.run_dir),
        judge=_judge(args),
        baseline=Path(args.baseline) if args.baseline else None,
        profile=args.scoring,
    )
    _print_metrics(Path(args.run_dir), metrics)
    return 0


def _cmd_eval_compare(args: argparse.Namespace) -> int:
    from avr.eval.report import compare_runs

    print(compare_runs([Path(r) for r in args.runs], Path(args.out) if args.out else None))
    if args.out:
        print(f"written: {Path(args.out) / 'compare.md'}, {Path(args.out) / 'accuracy_vs_tokens.png'}")
    return 0


def _add_judge_args(p: argparse.ArgumentParser) -> None:
    from avr.eval.scoring import DEFAULT_PROFILE, PROFILES

    p.add_argument(
        "--scoring",
        choices=PROFILES,
        default=DEFAULT_PROFILE,
        help="whose rule grades: vlmevalkit (the paper's toolkit), official (the benchmark authors' "
        "scorer), strict (the training grader)",
    )
    p.add_argument("--judge-url", default=None, help="optional LLM judge: OpenAI-compatible base URL")
    p.add_argument("--judge-model", default=None, help="model name served at --judge-url")
    p.add_argument("--baseline", default=None, help="another run dir: report token reduction and acc change")


def _add_eval_parser(sub) -> None:
    e = sub.add_parser(
        "eval",
        help="evaluate a model: accuracy, output tokens, format mix (also: eval score, eval compare)",
        description="avr eval --model PATH --benchmarks NAME[,NAME...] --out DIR  |  "
        "avr eval score RUN_DIR  |  avr eval compare RUN...",
    )
    es = e.add_subparsers(dest="eval_command", required=True)
    r = es.add_parser("run", help="generate predictions (resumable), score them, write the report")
    r.add_argument("--model", required=True, help="HF model directory (e.g. a merged checkpoint)")
    r.add_argument(
        "--benchmarks",
        required=True,
        help="comma-separated NAME or NAME=PATH (a benchmark dir, or a generic .jsonl/.parquet)",
    )
    r.add_argument("--out", required=True, help="run directory (a rerun resumes)")
    r.add_argument("--data-dir", default="data/benchmarks", help="where NAME without =PATH is looked up")
    r.add_argument("--backend", choices=["hf", "vllm"], default="hf")
    r.add_argument("--mode", default="adaptive", help="adaptive | forced:1|2|3 | consensus[:k]")
    r.add_argument("--limit", type=int, default=None, help="first N items of each benchmark")
    r.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="items per generate call and fsync (default: hf 8, vllm 256)",
    )
    r.add_argument("--tensor-parallel-size", type=int, default=1, help="vllm: GPUs per model copy")
    r.add_argument("--temperature", type=float, default=0.0)
    r.add_argument("--top-p", type=float, default=1.0)
    r.add_argument("--max-new-tokens", type=int, default=4096)
    r.add_argument("--min-pixels", type=int, default=IMAGE_MIN_PIXELS, help="default: avr/pixels.py")
    r.add_argument("--max-pixels", type=int, default=IMAGE_MAX_PIXELS, help="authors' eval: 35840, 458752")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--consensus-temperature", type=float, default=0.7)
    r.add_argument("--instruction", action="store_true", help="describe the formats in the prompt")
    _add_judge_args(r)
    r.set_defaults(func=_cmd_eval_run)
    s = es.add_parser("score", help="re-score saved predictions (no model): after a grader or judge change")
    s.add_argument("run_dir")
    _add_judge_args(s)
    s.set_defaults(func=_cmd_eval_score)
    c = es.add_parser("compare", help="one table (and plot with --out) from several run dirs")
    c.add_argument("runs", nargs="+")
    c.add_argument("--out", default=None)
    c.set_defaults(func=_cmd_eval_compare)


def _cmd_demo(args: argparse.Namespace) -> int:
    if args.full:
        from avr.miniature.experiment import run_experiment

        out = args.out if args.out != "outputs/demo" else "outputs/demo-full"
        run_experiment(
            args.recipe, out, arms=args.arms, report_only=args.report_only, until=args.until, engine=args.engine,
            sft_checkpoint=args.sft_checkpoint,
        )  # fmt: skip
        return 0
    from avr.miniature.demo import run_demo

    return run_demo(
        Path(args.out),
        n=args.n,
        steps=args.max_steps,
        grpo_steps=args.grpo_steps,
        max_new_tokens=args.max_new_tokens,
        effect_recipe=None if args.no_effect else args.effect_recipe,
    )


def _cmd_experiment(args: argparse.Namespace) -> int:
    from avr.miniature.experiment import run_experiment

    run_experiment(
        args.recipe, args.out, arms=args.arms, report_only=args.report_only, until=args.until, engine=args.engine,
        sft_checkpoint=args.sft_checkpoint,
    )  # fmt: skip
    return 0


def _add_experiment_args(p: argparse.ArgumentParser, recipe_positional: bool) -> None:
    if recipe_positional:
        p.add_argument(
            "recipe", nargs="?", default="digits", help="train_configs/experiment/<name>.yaml or a path"
        )
    else:
        p.add_argument("--recipe", default="digits", help="with --full: the experiment recipe")
    p.add_argument(
        "--arms", nargs="+", default=None, help="run only these arms (the report covers all with results)"
    )
    p.add_argument("--report-only", action="store_true", help="rewrite the report from the results there")
    p.add_argument(
        "--until",
        choices=["data", "model", "sft", "val", "baselines"],
        default=None,
        help="stop after this stage",
    )
    p.add_argument(
        "--engine",
        choices=["standin", "verl"],
        default=None,
        help="stage 2's engine, over the recipe's grpo.engine: verl's own loop on the CPU backend, or the "
        "stand-in (TRL's GRPOTrainer with the same reward)",
    )
    p.add_argument(
        "--sft-checkpoint",
        default=None,
        help="start from this SFT model instead of training one (e.g. avr/assets/digits_sft)",
    )


def _add_exclude_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--exclude",
        nargs="+",
        default=None,
        metavar="BENCHMARK",
        help="drop rows whose image or question matches an item of these benchmarks (NAME or NAME=PATH)",
    )
    p.add_argument("--benchmark-dir", default="data/benchmarks", help="where --exclude NAME is looked up")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="avr", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("tiny-model", help="build the tiny random Qwen3-VL used by tests and the demo")
    t.add_argument("--out", required=True, help="model directory to write")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument(
        "--size",
        choices=["tiny", "small"],
        default="tiny",
        help="tiny (~0.8M parameters: tests, demo) or small (~3M: the miniature experiment)",
    )
    t.add_argument("--overwrite", action="store_true", help="rebuild even if the directory holds a model")
    t.set_defaults(func=_cmd_tiny_model)

    d = sub.add_parser("data", help="build data sets").add_subparsers(dest="data_command", required=True)
    s = d.add_parser("sft", help="records -> LLaMA-Factory sharegpt JSON + dataset_info.json")
    s.add_argument("--input", "-i", nargs="+", required=True, help="records files (.jsonl, .json, .parquet)")
    s.add_argument("--out", "-o", required=True, help="dataset_dir to write (created if missing)")
    s.add_argument("--name", default="avr_sft", help="data set name in dataset_info.json")
    s.add_argument(
        "--on-error",
        choices=["raise", "skip"],
        default="raise",
        help="raise: stop at the first bad row; skip: write <name>.skipped.jsonl and go on",
    )
    s.add_argument(
        "--images",
        choices=["copy", "hardlink", "symlink"],
        default="copy",
        help="how images go next to the data set",
    )
    s.add_argument(
        "--image-root", default=None, help="resolve relative image paths here (default: records dir)"
    )
    s.add_argument("--instruction", action="store_true", help="add the format instruction to prompts")
    _add_exclude_args(s)
    s.set_defaults(func=_cmd_data_sft)

    r = d.add_parser("rl", help="records -> verl parquet (train.parquet, val.parquet)")
    r.add_argument("--input", "-i", nargs="+", required=True, help="records files (.jsonl, .json, .parquet)")
    r.add_argument("--out", "-o", required=True, help="directory for train.parquet and val.parquet")
    r.add_argument("--val-input", nargs="+", default=None, help="records for validation (default: a split)")
    r.add_argument(
        "--val-fraction", type=float, default=0.05, help="share of --input held out when no --val-input"
    )
    r.add_argument("--seed", type=int, default=0, help="seed of the train/val split")
    r.add_argument("--on-error", choices=["raise", "skip"], default="raise")
    r.add_argument("--image-root", default=None)
    r.add_argument("--instruction", action="store_true", help="add the format instruction to prompts")
    r.add_argument("--min-pixels", type=int, default=IMAGE_MIN_PIXELS, help="image bounds as verl resizes")
    r.add_argument("--max-pixels", type=int, default=IMAGE_MAX_PIXELS, help="default: avr/pixels.py")
    _add_exclude_args(r)
    r.set_defaults(func=_cmd_data_rl)

    from avr.data.sources import SOURCES

    cv = d.add_parser("convert", help="a published data set (local dir or hub id) -> AVR records")
    cv.add_argument("name", choices=sorted(SOURCES), help="which data set")
    cv.add_argument("--src", required=True, help="its directory in the published layout, or a hub id")
    cv.add_argument("--out", "-o", required=True, help="directory for <name>-<split>.jsonl and images/")
    cv.add_argument("--split", default=None, help="split to read (default: the data set's training split)")
    cv.add_argument("--limit", type=int, default=None)
    cv.add_argument("--on-error", choices=["raise", "skip"], default="raise")
    cv.set_defaults(func=_cmd_data_convert)

    g = d.add_parser("synthetic", help="the built-in demo data: drawn scenes with three question levels")
    g.add_argument("--out", "-o", required=True)
    g.add_argument("--n", type=int, default=300)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--name", default="synthetic")
    g.set_defaults(func=_cmd_data_synthetic)

    b = d.add_parser(
        "build",
        help="a data recipe -> the SFT and RL sets in one command (convert, annotate, exclude, sft, rl)",
        description="Build the training data a recipe under train_configs/data/ describes. Each step is "
        "skipped when its output is there and current, so a rerun resumes; DIR/data_card.md counts every row.",
    )
    b.add_argument("recipe", help="train_configs/data/<name>.yaml by name (paper, synthetic) or a path")
    b.add_argument(
        "--raw-dir", default="data/raw", help="where the data sets were downloaded (one folder each)"
    )
    b.add_argument("--out", "-o", default="data", help="output: sft/, rl/, heldout/, build/, data_card.md")
    b.add_argument("--only", choices=["sft", "rl"], default=None, help="build one of the two sets")
    b.add_argument(
        "--benchmark-dir", default=None, help="where excluded benchmarks are (default: the recipe's)"
    )
    b.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a recipe key (a.b.c=value)"
    )
    b.set_defaults(func=_cmd_data_build)

    a = d.add_parser(
        "annotate", help="assign formats by pass rate; a teacher fills missing texts (resumable)"
    )
    a.add_argument("--input", "-i", nargs="+", required=True, help="records files")
    a.add_argument("--out", "-o", required=True, help="directory for annotated.jsonl (a rerun resumes)")
    a.add_argument("--model", required=True, help="the policy whose pass rates decide the format")
    a.add_argument("--teacher", default=None, help="model that writes missing texts (default: --model)")
    a.add_argument("--backend", choices=["hf", "vllm"], default="hf")
    a.add_argument("--config", default="default", help="train_configs/annotate/<name>.yaml or a path")
    a.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    a.add_argument("--on-error", choices=["raise", "skip"], default="raise")
    a.add_argument("--seed", type=int, default=0)
    a.set_defaults(func=_cmd_data_annotate)

    _add_eval_parser(sub)

    m = sub.add_parser("demo", help="the pipeline on the built-in data and the tiny model (CPU)")
    m.add_argument("--out", default="outputs/demo")
    m.add_argument("--n", type=int, default=240, help="synthetic records to build")
    m.add_argument("--max-steps", type=int, default=400, help="SFT steps")
    m.add_argument("--grpo-steps", type=int, default=3, help="stage-2 steps (verl, CPU backend)")
    m.add_argument("--max-new-tokens", type=int, default=160, help="evaluation budget per answer")
    m.add_argument(
        "--effect-recipe",
        default="demo",
        help="experiment recipe of part 2, the effect from the committed SFT checkpoint",
    )
    m.add_argument("--no-effect", action="store_true", help="part 1 only: the pipeline on the tiny model")
    m.add_argument(
        "--full",
        action="store_true",
        help="the miniature experiment instead (avr experiment digits): ~1 h on 2 cores, outputs/demo-full",
    )
    _add_experiment_args(m, recipe_positional=False)
    m.set_defaults(func=_cmd_demo)

    x = sub.add_parser(
        "experiment",
        help="the miniature AVR experiment: small Qwen3-VL from scratch, SFT, FS-GRPO arms, report (CPU)",
    )
    x.add_argument("--out", default="outputs/experiment")
    _add_experiment_args(x, recipe_positional=True)
    x.set_defaults(func=_cmd_experiment)
    return p


EVAL_COMMANDS = {"run", "score", "compare", "-h", "--help"}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["eval"] and (len(argv) == 1 or argv[1] not in EVAL_COMMANDS):
        argv.insert(1, "run")  # `avr eval --model ...` is `avr eval run --model ...`
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, FileExistsError) as e:
        print(f"avr: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
