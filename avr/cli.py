"""The ``avr`` command: data building, the tiny model and the demo.

Training itself is launched by the frameworks' own CLIs through ``train-sft.sh`` and
``train-fs-grpo.sh``; this command prepares what they read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _cmd_tiny_model(args: argparse.Namespace) -> int:
    from avr.tiny import build_tiny_model

    out = build_tiny_model(args.out, seed=args.seed, overwrite=args.overwrite)
    print(f"tiny Qwen3-VL written to {out}")
    return 0


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
    )
    print(format_stats(stats))
    if stats["skipped"]:
        print(f"skipped rows are listed in {Path(args.out) / (args.name + '.skipped.jsonl')}")
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
    )
    print(format_stats(stats))
    if stats["skipped"]:
        print(f"skipped rows are listed in {Path(args.out) / 'skipped.jsonl'}")
    print(
        f"verl: data.train_files={Path(args.out) / 'train.parquet'} data.val_files={Path(args.out) / 'val.parquet'}"
    )
    return 0


def _cmd_data_synthetic(args: argparse.Namespace) -> int:
    from avr.data.synthetic import generate

    path = generate(args.out, n=args.n, seed=args.seed, name=args.name)
    print(f"{args.n} synthetic records written to {path}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from avr.demo import run_demo

    return run_demo(Path(args.out), n=args.n, steps=args.max_steps)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="avr", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("tiny-model", help="build the tiny random Qwen3-VL used by tests and the demo")
    t.add_argument("--out", required=True, help="model directory to write")
    t.add_argument("--seed", type=int, default=0)
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
    r.set_defaults(func=_cmd_data_rl)

    g = d.add_parser("synthetic", help="the built-in demo data: drawn scenes with three question levels")
    g.add_argument("--out", "-o", required=True)
    g.add_argument("--n", type=int, default=300)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--name", default="synthetic")
    g.set_defaults(func=_cmd_data_synthetic)

    m = sub.add_parser("demo", help="the pipeline on the built-in data and the tiny model (CPU)")
    m.add_argument("--out", default="outputs/demo")
    m.add_argument("--n", type=int, default=240, help="synthetic records to build")
    m.add_argument("--max-steps", type=int, default=400, help="SFT steps")
    m.set_defaults(func=_cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, FileExistsError) as e:
        print(f"avr: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
