"""Metrics from scored predictions: accuracy, output tokens and format mix, per benchmark and overall.

Pure functions over plain dicts, so hand-made predictions with known answers test them directly.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from avr.formats import FORMAT_NAMES

# Meta keys broken down for a benchmark that declares none (a generic records file, the synthetic levels).
DEFAULT_BREAKDOWN: tuple[str, ...] = ("level", "category", "task")


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


def judge_accuracy(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy both ways when a judge may have failed: ``accuracy`` (in ``block``) counts an item whose
    judge gave no verdict (``judge_failed``) as wrong; ``accuracy_over_verdicts`` is over the
    ``n_verdicts`` items that got one, by rule or judge. A flaky judge shows as the gap."""
    failed = sum(bool(r.get("judge_failed")) for r in rows)
    right = sum(bool(r["correct"]) for r in rows)
    n = len(rows) - failed
    return {"judge_failed": failed, "n_verdicts": n, "accuracy_over_verdicts": right / n if n else None}


_WHOLE_FLOAT = re.compile(r"[+-]?\d+\.0+")


def _value_key(value: Any) -> str:
    """The breakdown key of one meta value: always a string, and ``2.0`` and ``"2.0"`` (a level pandas
    wrote as a float once a NaN made its column float) read ``"2"`` like ``2``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    key = str(value).strip()
    return str(int(key.split(".")[0])) if _WHOLE_FLOAT.fullmatch(key) else key


def _values(meta: dict[str, Any], field: str) -> list[str]:
    """The values an item counts under: none when absent, each element of a list (MathVista's skills)."""
    value = meta.get(field)
    values = value if isinstance(value, list | tuple) else [value]
    keys = [_value_key(v) for v in values if v is not None and not isinstance(v, dict)]
    return list(dict.fromkeys(k for k in keys if k))


def _sort_key(value: str) -> tuple[int, float, str]:
    try:
        return (0, float(value), value)  # levels 1 < 2 < 10, not "1" < "10" < "2"
    except ValueError:
        return (1, 0.0, value)


def breakdown(rows: list[dict[str, Any]], fields: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``{field: {value: block}}`` for each field some row carries in its ``meta``.

    An item without the field is left out of that field's table; an item whose field holds a list
    counts once under each element, so a field's blocks may add up to more than the benchmark.
    """
    out: dict[str, dict[str, Any]] = {}
    for field in fields:
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            for value in _values(r.get("meta") or {}, field):
                groups[value].append(r)
        if groups:
            out[field] = {v: block(groups[v]) for v in sorted(groups, key=_sort_key)}
    return out


def headline_rows(
    rows: list[dict[str, Any]], prefer: Sequence[str]
) -> tuple[list[dict[str, Any]], str | None]:
    """The rows a benchmark's headline counts, and their split: the first split of ``prefer`` that
    some row's ``meta.split`` holds (VLMEvalKit reports one split of a file holding several:
    ``MMMUDataset.report_primary_metric``); every row when ``prefer`` names none present."""
    present = {str((r.get("meta") or {}).get("split")) for r in rows}
    for split in prefer:
        if split in present:
            return [r for r in rows if str((r.get("meta") or {}).get("split")) == split], split
    return rows, None


def compute_metrics(
    rows: Iterable[dict[str, Any]],
    breakdowns: Mapping[str, Sequence[str]] | None = None,
    headlines: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """``{"benchmarks": {name: block + breakdown}, "overall": block + macro_accuracy}``.

    ``overall`` pools every headline item (micro); ``macro_accuracy`` averages the benchmarks, which
    is how papers usually report an average over benchmarks of different sizes. Each benchmark's
    ``breakdown`` splits it by the meta keys ``breakdowns[name]`` names (default
    ``DEFAULT_BREAKDOWN``): accuracy, tokens and format mix per level, subject or category, over all
    its items. ``headlines[name]`` lists the splits its headline prefers (see ``headline_rows``):
    the benchmark's block is that split alone, with ``headline_split`` and ``n_all`` saying so.
    """
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    rows = list(rows)
    for r in rows:
        by[r["benchmark"]].append(r)
    breakdowns, headlines = breakdowns or {}, headlines or {}
    benchmarks, pooled = {}, []
    for name in sorted(by):
        head, split = headline_rows(by[name], headlines.get(name, ()))
        pooled += head
        benchmarks[name] = {
            **block(head),
            **judge_accuracy(head),
            **({"headline_split": split, "n_all": len(by[name])} if split is not None else {}),
            "breakdown": breakdown(by[name], breakdowns.get(name, DEFAULT_BREAKDOWN)),
        }
    overall = {**block(pooled), **judge_accuracy(pooled)} if pooled else block(pooled)
    if benchmarks:
        overall["macro_accuracy"] = statistics.fmean(b["accuracy"] for b in benchmarks.values())
    return {"benchmarks": benchmarks, "overall": overall}


def scoring_summary(rows: list[dict[str, Any]]) -> dict[str, int]:
    """How the verdicts came about: items where the reference would ask a judge and the rule decided,
    items our judge decided, items our judge gave no verdict on (graded wrong, counted here), and
    grading calls that missed their deadline (retried; unresolved ones were graded wrong)."""
    return {
        "needs_judge": sum(bool(r.get("needs_judge")) for r in rows),
        "judged": sum(bool(r.get("judged")) for r in rows),
        "judge_failed": sum(bool(r.get("judge_failed")) for r in rows),
        "grading_timeouts": sum(int(r.get("grading_timeouts") or 0) for r in rows),
        "grading_unresolved": sum(bool(r.get("grading_unresolved")) for r in rows),
    }


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
