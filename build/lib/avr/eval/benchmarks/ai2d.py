"""AI2D (test): science diagrams, multiple choice.

Layouts read: HF ``lmms-lab/ai2d`` ``data/test-*.parquet`` (question, options list, answer = the
0-based option *index* as a string, image) [lmms-eval tasks/ai2d]; VLMEvalKit ``AI2D_TEST.tsv``.

Scoring: ``_mcq`` (VLMEvalKit's ``can_infer``; AI2D's authors publish no scorer).
"""

from __future__ import annotations

from avr.eval.benchmarks._base import PARQUET, Row, Spec, choices_of, make_item
from avr.eval.benchmarks._mcq import score
from avr.eval.items import EvalItem
from avr.formats import OPTION_LETTERS


def convert(row: Row) -> EvalItem:
    choices = choices_of(row, row.data.get("options"), "options")
    gold = row.gold()[0]
    if not gold.isdigit() or int(gold) >= len(choices):
        raise row.error(f"answer {gold!r} is not the 0-based index of one of the {len(choices)} options")
    return make_item(
        row,
        id=str(row.index),
        question=row.text("question"),
        images=[row.image(row.data.get("image"))],
        answers=[OPTION_LETTERS[int(gold)]],
        choices=choices,
        answer_type="multi_choice",
    )


SPEC = Spec(
    name="ai2d",
    hub_id="lmms-lab/ai2d",
    splits=("test",),
    find=PARQUET,
    convert=convert,
    layout="data/{split}-*.parquet",
    include="data/{split}-*",
    breakdown=("category",),
)

__all__ = ["SPEC", "convert", "score"]
