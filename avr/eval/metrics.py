"""Metrics from scored predictions: accuracy, output tokens and format mix, per benchmark and overall.

Pure functions over plain dicts, so hand-made predictions with known answers test them directly.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from avr.formats import FORMAT_NAMES


def block(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One table row: n, accuracy, mean/median tokens, malformed rate, and the same per format."""
    n = len(rows)
    if n == 0:
        return {"n": 0}
    tokens = [r["tokens"] for r in rows]
    formats: dict[str, Any] = {}
    for f in range(4):
        sub = [r for r in rows if r["format"] == f]
        formats[FORMAT_NAMES[f]] = {
            "n": len(sub),
            "share": len(sub) / n,
            "accuracy": sum(r["correct"] for r in sub) / len(sub) if sub else None,
            "mean_tokens": statistics.fmean(r["tokens"] for r in sub) if sub else None,
        }
    return {
        "n": n,
        "accuracy": sum(r["correct"] for r in rows) / n,
        "mean_tokens": statistics.fmean(tokens),
        "median_tokens": statistics.median(tokens),
        "malformed_rate": formats[FORMAT_NAMES[0]]["share"],
        "formats": formats,
    }


def compute_metrics(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """``{"benchmarks": {name: block}, "overall": block + macro_accuracy}``.

    ``overall`` pools every item (micro); ``macro_accuracy`` averages the benchmarks, which is how
    papers usually report an average over benchmarks of different sizes.
    """
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    rows = list(rows)
    for r in rows:
        by[r["benchmark"]].append(r)
    benchmarks = {name: block(by[name]) for name in sorted(by)}
    overall = block(rows)
    if benchmarks:
        overall["macro_accuracy"] = statistics.fmean(b["accuracy"] for b in benchmarks.values())
    return {"benchmarks": benchmarks, "overall": overall}


def against_baseline(metrics: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """Token reduction (1 - tokens / baseline tokens) and accuracy change, where both runs have data."""
    out: dict[str, Any] = {}
    pairs = [(name, b, baseline["benchmarks"].get(name)) for name, b in metrics["benchmarks"].items()]
    pairs.append(("overall", metrics["overall"], baseline.get("overall")))
    for name, m, base in pairs:
        if not base or not base.get("n") or not m.get("n"):
            continue
        out[name] = {
            "token_reduction": 1 - m["mean_tokens"] / base["mean_tokens"] if base["mean_tokens"] else None,
            "accuracy_change": m["accuracy"] - base["accuracy"],
            "baseline_accuracy": base["accuracy"],
            "baseline_mean_tokens": base["mean_tokens"],
        }
    return out
