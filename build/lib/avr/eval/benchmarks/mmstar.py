"""MMStar (val): vision-indispensable multiple choice, 6 core capabilities x 3 sub-axes.

Layouts read: HF ``Lin-Chen/MMStar`` ``mmstar.parquet`` (index, question, image, answer letter,
category, l2_category, meta_info; options embedded as "Options: A: .., B: .."); VLMEvalKit
``MMStar.tsv`` (option columns). [HF Lin-Chen/MMStar; lmms-eval; evalscope]

Scoring: ``_mcq`` (VLMEvalKit's ``can_infer``; the authors evaluate with VLMEvalKit).
"""

from __future__ import annotations

from avr.eval.benchmarks._base import Row, Spec, check_mc, make_item, parquet_finder, split_options
from avr.eval.benchmarks._mcq import score
from avr.eval.items import EvalItem


def convert(row: Row) -> EvalItem:
    question, answers, choices = row.text("question"), row.gold(), None
    parsed = split_options(question)
    if parsed is not None:
        question, choices = parsed
        check_mc(row, answers, choices)
    info = row.data.get("meta_info") if isinstance(row.data.get("meta_info"), dict) else {}
    return make_item(
        row,
        id=row.text("index"),
        question=question,
        images=[row.image(row.data.get("image"))],
        answers=answers,
        choices=choices,
        answer_type="multi_choice",
        meta={
            "category": row.data.get("category"),
            "l2_category": row.data.get("l2_category"),
            "source": info.get("source"),
        },
    )


SPEC = Spec(
    name="mmstar",
    hub_id="Lin-Chen/MMStar",
    splits=("val",),
    find=parquet_finder("mmstar.parquet", "data/{split}-*.parquet", "{split}/*.parquet"),
    convert=convert,
    layout="mmstar.parquet",
    include="mmstar.parquet",
    breakdown=("category", "l2_category"),
)

__all__ = ["SPEC", "convert", "score"]
