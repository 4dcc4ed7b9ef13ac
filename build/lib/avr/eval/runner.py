"""``avr eval``: generate predictions (resumable), then score them and write the report.

``predictions.jsonl`` is appended batch by batch and fsynced, so a killed run loses at most the batch
in flight; a rerun skips every (benchmark, id) already there. ``run.json`` pins the model, mode and
decoding of a run directory: resuming with other settings would mix two runs in one table, so it is
an error that names the differing key. ``skipped.jsonl`` lists the benchmark rows that could not be
loaded (benchmark, file, row, reason); the report counts them.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tqdm import tqdm

from avr.eval.items import EvalItem
from avr.eval.metrics import against_baseline, compute_metrics, scoring_summary
from avr.eval.modes import Mode, run_mode
from avr.eval.scoring import DEFAULT_PROFILE, Judge, check_profile, score_prediction
from avr.generation import Backend, Decoding
from avr.io import exclusive_lock, read_appended_jsonl, write_json, write_jsonl

PREDICTIONS = "predictions.jsonl"
RUN_INFO = "run.json"
SKIPPED = "skipped.jsonl"
PINNED = ("model", "mode", "decoding", "instruction", "consensus_temperature")


def read_predictions(path: Path) -> list[dict[str, Any]]:
    """Every complete prediction; a torn last line (killed mid-write) is dropped and the file repaired."""
    return read_appended_jsonl(path)


def _check_run_info(run_dir: Path, info: dict[str, Any]) -> None:
    path = run_dir / RUN_INFO
    if path.is_file():
        old = json.loads(path.read_text(encoding="utf-8"))
        for key in PINNED:
            if old.get(key) != info.get(key):
                raise ValueError(
                    f"{run_dir} holds a run with {key}={old.get(key)!r}, not {info.get(key)!r}; "
                    "use another --out (or delete it) rather than mixing two runs"
                )
        info = {**info, "benchmarks": sorted(set(old.get("benchmarks", [])) | set(info["benchmarks"]))}
    write_json(path, info)


def write_skipped(run_dir: Path, skipped: list[Any], benchmarks: set[str]) -> Path:
    """skipped.jsonl: this load's skipped rows, plus earlier ones of benchmarks not loaded this time."""
    path = run_dir / SKIPPED
    kept = [r for r in read_skipped(run_dir) if r.get("benchmark") not in benchmarks]
    rows = kept + [s.to_json() if hasattr(s, "to_json") else dict(s) for s in skipped]
    write_jsonl(path, rows)
    return path


def read_skipped(run_dir: Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / SKIPPED
    if not path.is_file():
        return []
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _prediction(item: EvalItem, out: dict[str, Any], mode: Mode) -> dict[str, Any]:
    lettered = {"option_letters": item.option_letters} if item.option_letters else {}
    return {
        "benchmark": item.benchmark,
        "id": item.id,
        "mode": str(mode),
        "question": item.question,
        "response": out["response"],
        "tokens": out["tokens"],
        "levels": out["levels"],
        "gold": {
            "answers": item.answers,
            "choices": item.choices,
            "answer_type": item.answer_type,
            "precision": item.precision,
            "unit": item.unit,
            **lettered,
        },
        "meta": item.meta,
    }


def generate_predictions(
    backend: Backend,
    items: list[EvalItem],
    run_dir: Path,
    mode: Mode,
    *,
    batch_size: int = 8,
    instruction: bool = False,
    consensus_temperature: float = 0.7,
) -> int:
    """Answer every item not yet in predictions.jsonl; returns how many were generated now."""
    path = run_dir / PREDICTIONS
    with exclusive_lock(run_dir, "avr eval"):
        done = {(p["benchmark"], p["id"]) for p in read_predictions(path)}
        todo = [it for it in items if (it.benchmark, it.id) not in done]
        if todo:
            _append_predictions(backend, todo, path, mode, batch_size, instruction, consensus_temperature)
    return len(todo)


def _append_predictions(
    backend: Backend,
    todo: list[EvalItem],
    path: Path,
    mode: Mode,
    batch_size: int,
    instruction: bool,
    consensus_temperature: float,
) -> None:
    with (
        path.open("a", encoding="utf-8") as f,
        tqdm(total=len(todo), desc=f"eval ({mode})", unit="item") as bar,
    ):
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            outs = run_mode(
                mode, backend, batch, instruction=instruction, consensus_temperature=consensus_temperature
            )
            for item, out in zip(batch, outs, strict=True):
                f.write(json.dumps(_prediction(item, out, mode), ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
            bar.update(len(batch))


def score_run(
    run_dir: Path,
    *,
    judge: Judge | None = None,
    baseline: Path | None = None,
    profile: str = DEFAULT_PROFILE,
) -> dict[str, Any]:
    """Grade predictions.jsonl under a scoring profile; write scored.jsonl, metrics.json, report.md, plots."""
    from avr.eval.benchmarks import aggregate, breakdown_fields, headline_splits
    from avr.eval.report import write_run_report

    check_profile(profile)
    run_dir = Path(run_dir)
    preds = read_predictions(run_dir / PREDICTIONS)
    if not preds:
        raise FileNotFoundError(f"{run_dir / PREDICTIONS}: no predictions to score")
    scored = [
        score_prediction(p, judge=judge, profile=profile)
        for p in tqdm(preds, desc=f"scoring ({profile})", unit="item", disable=len(preds) < 200)
    ]
    write_jsonl(run_dir / "scored.jsonl", scored)
    names = sorted({p["benchmark"] for p in scored})
    metrics = compute_metrics(
        scored,
        {name: breakdown_fields(name) for name in names},
        {name: headline_splits(name) for name in names},
    )
    skipped = read_skipped(run_dir)
    for name, b in metrics["benchmarks"].items():
        rows = [r for r in scored if r["benchmark"] == name]
        b["scoring"] = scoring_summary(rows)
        b["skipped"] = sum(s.get("benchmark") == name for s in skipped)
        reference = aggregate(name, rows)
        if reference:
            by = reference.pop("breakdown", None)
            b["reference_metrics"] = reference
            if by:
                b["reference_breakdown"] = by
    metrics["scoring"] = {
        "profile": profile,
        "judge": judge is not None,
        "n": len(scored),
        **scoring_summary(scored),
    }
    metrics["skipped"] = len(skipped)
    info_path = run_dir / RUN_INFO
    info = json.loads(info_path.read_text(encoding="utf-8")) if info_path.is_file() else {}
    comparison = base = None
    if baseline is not None:
        bpath = Path(baseline) / "metrics.json"
        if not bpath.is_file():
            raise FileNotFoundError(f"{bpath}: the baseline run has no metrics; score it first")
        base = json.loads(bpath.read_text(encoding="utf-8"))
        comparison = against_baseline(metrics, base)
    write_run_report(run_dir, metrics, info, comparison, base, skipped=skipped)
    return {**metrics, "baseline": comparison}


def run_eval(
    model: str,
    items: list[EvalItem],
    run_dir: str | Path,
    *,
    mode: Mode,
    backend: str = "hf",
    decoding: Decoding | None = None,
    batch_size: int = 8,
    instruction: bool = False,
    consensus_temperature: float = 0.7,
    judge: Judge | None = None,
    baseline: Path | None = None,
    backend_obj: Backend | None = None,
    tensor_parallel_size: int = 1,
    profile: str = DEFAULT_PROFILE,
    skipped: list[Any] | None = None,
) -> dict[str, Any]:
    """Generate what is missing, then score everything; returns the metrics.

    ``skipped``: the rows the loaders left out (``Loaded.skipped``), written to skipped.jsonl."""
    from avr.generation import make_backend

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    decoding = decoding or Decoding()
    info = {
        "model": str(model),
        "mode": str(mode),
        "backend": backend,
        "decoding": asdict(decoding),
        "instruction": instruction,
        "consensus_temperature": consensus_temperature if mode.name == "consensus" else None,
        "benchmarks": sorted({it.benchmark for it in items}),
    }
    check_profile(profile)
    _check_run_info(run_dir, info)
    if skipped is None:
        skipped = list(getattr(items, "skipped", []))
    write_skipped(run_dir, skipped, set(info["benchmarks"]) | {s.benchmark for s in skipped})
    done = {(p["benchmark"], p["id"]) for p in read_predictions(run_dir / PREDICTIONS)}
    if any((it.benchmark, it.id) not in done for it in items):
        be = backend_obj or make_backend(
            backend, str(model), decoding, tensor_parallel_size=tensor_parallel_size, batch_size=batch_size
        )
        generate_predictions(
            be,
            items,
            run_dir,
            mode,
            batch_size=batch_size,
            instruction=instruction,
            consensus_temperature=consensus_temperature,
        )
    return score_run(run_dir, judge=judge, baseline=baseline, profile=profile)
