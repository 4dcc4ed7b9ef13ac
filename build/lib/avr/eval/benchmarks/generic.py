"""Any records file as a benchmark: ``NAME=path.jsonl|.json|.parquet`` (AVR records), or
``NAME=path.tsv`` for a VLMEvalKit TSV of a benchmark AVR has no module for.

Records: question, image|images, answer, [choices], [id], plus optional answer_type, precision and
unit (see ``avr.records``); every other field goes to ``meta``, so ``level``, ``category`` and
``task`` (the synthetic data's) reach the per-level tables. A TSV row: index, image (base64),
question, [hint], option columns A.., answer, [category, l2-category, split].

Scoring: these sets have no reference scorer but ours, so every profile grades with
``avr.grading`` (the ``strict`` rule); outside ``strict``, a free-form miss is what ``--judge-url``
is asked about.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from avr.eval.benchmarks._base import (
    BenchmarkNotFound,
    BenchmarkSource,
    Loaded,
    Row,
    check_mc,
    collect,
    int_or_none,
    make_item,
    source_rows,
    tsv_item,
)
from avr.eval.items import EvalItem
from avr.eval.metrics import DEFAULT_BREAKDOWN
from avr.eval.rules import Verdict, strict
from avr.records import parse_record

SUFFIXES = (".jsonl", ".json", ".parquet", ".tsv")
BREAKDOWN = DEFAULT_BREAKDOWN


def convert(row: Row) -> EvalItem:
    if row.tsv:
        return tsv_item(row)
    rec = parse_record(row.data, row.file, row.row)
    if rec.choices:
        check_mc(row, rec.answers, rec.choices)
    extra = {k: v for k, v in rec.extra.items() if k not in ("answer_type", "precision", "unit")}
    return make_item(
        row,
        id=rec.id,
        question=rec.question,
        images=[im.data for im in rec.images],
        answers=rec.answers,
        choices=rec.choices,
        answer_type=row.text("answer_type", required=False),
        precision=int_or_none(row, "precision"),
        unit=row.text("unit", required=False),
        meta=extra,
    )


def load(
    path: str | Path, *, split: str | None = None, limit: int | None = None, name: str = "generic"
) -> Loaded:
    """Any .jsonl/.json/.parquet of AVR records, or a VLMEvalKit .tsv, as benchmark ``name``."""
    path = Path(path)
    if split is not None:
        raise ValueError(f"{name}: a generic records file has no splits (got {split!r})")
    if path.suffix.lower() not in SUFFIXES:
        raise ValueError(f"{name}: {path} is not one of {', '.join(SUFFIXES)}")
    if not path.is_file():
        raise BenchmarkNotFound(f"{name}: no such file {path}")
    return collect(source_rows([BenchmarkSource(path)]), convert, name, None, limit)


def score(answer: str, pred: dict[str, Any], profile: str) -> Verdict:
    gold = pred.get("gold") or {}
    verdict = strict(answer, gold)
    if profile == "strict" or verdict.correct or gold.get("choices"):
        return verdict
    return Verdict(False, needs_judge=True, timeouts=verdict.timeouts, unresolved=verdict.unresolved)
