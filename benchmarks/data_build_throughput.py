"""Data pipeline throughput: built-in records generated, then built into the SFT and RL sets.

Generates 10,000 synthetic records (images written to disk), then times ``build_sft_dataset``
(validate every row, copy images, write sharegpt JSON) and ``build_rl_dataset`` (validate, embed the
image bytes, write verl parquet) on them, and prints rows/s for each step. Every step decodes or
writes every image, so these are the figures to compare when the record reader or writers change.

    .venv/bin/python benchmarks/data_build_throughput.py [--n 10000] [--seed 0] [--out DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from avr.data.rl import build_rl_dataset
from avr.data.sft import build_sft_dataset
from avr.miniature.synthetic import generate


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def du(path: Path) -> int:
    """Bytes under a folder, to show what each step wrote."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run(out: Path, n: int, seed: int) -> None:
    gen_s, records = timed(lambda: generate(out / "records", n=n, seed=seed, name="bench"))
    sft_s, sft = timed(lambda: build_sft_dataset([records], out / "sft", name="bench_sft"))
    rl_s, rl = timed(lambda: build_rl_dataset([records], out / "rl", val_fraction=0.05, seed=seed))
    assert sft["rows"] == n and rl["train"] + rl["val"] == n, "every row must survive both builders"
    print(f"{n} synthetic records (seed {seed}) in {out}, one process")
    print(f"{'step':<34} {'rows/s':>10} {'time':>9} {'written':>10}")
    for name, secs, folder in (
        ("generate (draw + PNG + JSONL)", gen_s, out / "records"),
        ("build_sft_dataset (sharegpt)", sft_s, out / "sft"),
        ("build_rl_dataset (verl parquet)", rl_s, out / "rl"),
    ):
        print(f"{name:<34} {n / secs:>10.0f} {secs:>8.2f}s {du(folder) / 2**20:>8.1f}MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="keep the outputs here (default: a temp dir)")
    args = ap.parse_args()
    if args.out is not None:
        run(args.out, args.n, args.seed)
        return
    with tempfile.TemporaryDirectory(prefix="avr-data-bench-") as tmp:
        run(Path(tmp), args.n, args.seed)


if __name__ == "__main__":
    main()
