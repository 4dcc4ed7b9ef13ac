"""OCRBench: 1,000 text-recognition, text VQA, KIE and handwritten-maths questions.

Layouts read: HF ``echo840/OCRBench`` ``data/test-*.parquet`` (dataset, question, question_type,
answer list, image); the authors' ``OCRBench.json`` + ``OCRBench_Images/`` (dataset_name, id,
image_path, question, answers a string or a list, type) [Yuliang-Liu/MultimodalOCR
OCRBench/OCRBench/OCRBench.json; checked: 1,000 rows]; VLMEvalKit ``OCRBench.tsv`` (answer a list
literal, category = the question type).

Scoring (both profiles, the two references agree): Yuliang-Liu/MultimodalOCR ``OCRBench/example.py``
and VLMEvalKit ``image_vqa.py`` ``OCRBench.evaluate``: a gold text *inside* the answer, case
ignored; for handwritten maths (HME100k) spaces and line breaks removed and case kept. It replaces
the generic grader; it does not follow it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from avr.eval.benchmarks._base import PARQUET, BenchmarkSource, Row, Spec, make_item, parse_list, tsv_item
from avr.eval.items import EvalItem
from avr.eval.rules import Verdict, ocrbench_hit, strict

HMER = "Handwritten Mathematical Expression Recognition"


def convert(row: Row) -> EvalItem:
    d = row.data
    authors = "dataset_name" in d  # the authors' JSON
    return make_item(
        row,
        id=str(row.index),  # the authors' "id" repeats across source data sets (143 repeats in OCRBench.json)
        question=row.text("question"),
        images=[
            row.image(
                d.get("image_path") if authors else d.get("image"), "image_path" if authors else "image"
            )
        ],
        answers=row.gold("answers" if authors else "answer"),
        meta={
            "source_id": d.get("id"),
            "dataset": d.get("dataset_name" if authors else "dataset"),
            "question_type": d.get("type" if authors else "question_type"),
        },
    )


def convert_tsv(row: Row) -> EvalItem:
    raw = row.text("answer")
    golds = parse_list(raw) if raw.startswith("[") else None
    return tsv_item(
        row,
        answers=[str(g) for g in golds] if golds else [raw],
        meta={"question_type": row.data.get("category")},
    )


def find(path: Path, split: str) -> list[BenchmarkSource]:
    sources = PARQUET(path, split)
    if sources:
        return sources
    for json_file in (path / "OCRBench.json", path / "OCRBench" / "OCRBench.json"):
        if json_file.is_file():
            images = next(
                (d for d in (path / "OCRBench_Images", json_file.parent / "OCRBench_Images") if d.is_dir()),
                path,
            )
            return [BenchmarkSource(json_file, images)]
    return []


def score(answer: str, pred: dict[str, Any], profile: str) -> Verdict:
    gold, meta = pred.get("gold") or {}, pred.get("meta") or {}
    if profile == "strict":
        return strict(answer, gold)
    hme = meta.get("dataset") == "HME100k" or meta.get("question_type") == HMER
    return Verdict(ocrbench_hit(answer, [str(g) for g in gold.get("answers") or []], hme=hme))


SPEC = Spec(
    name="ocrbench",
    hub_id="echo840/OCRBench",
    splits=("test",),
    find=find,
    convert=convert,
    tsv=convert_tsv,
    layout="data/{split}-*.parquet, or the authors' OCRBench.json + OCRBench_Images/",
    breakdown=("question_type",),
)
