"""ChartQA (test): questions about charts, human-written and machine-generated.

Layouts read: HF ``lmms-lab/ChartQA`` ``data/test-*.parquet`` (type human_test|augmented_test,
question, answer, image); HuggingFaceM4/ChartQA (query, label list, human_or_machine);
ahmed-masry/ChartQA (imgname, query, label, type, image bytes); the authors'
``test/test_{human,augmented}.json`` + ``test/png/`` (imgname, query, label) [vis-nlp/ChartQA];
VLMEvalKit ``ChartQA_TEST.tsv``.

Scoring (``official`` and ``vlmevalkit`` agree): relaxed accuracy as in pix2struct
``pix2struct/metrics.py`` ``relaxed_correctness``, which VLMEvalKit ``utils/vqa_eval.py`` reuses:
within 5% of a numeric gold (numbers as Python's ``float()`` reads them: "1,000" is not a number),
otherwise an exact case-insensitive match; the best over the golds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from avr.eval.benchmarks._base import BenchmarkSource, Row, Spec, glob_files, make_item, tsv_item
from avr.eval.items import EvalItem
from avr.eval.rules import Verdict, relaxed_correctness, strict


def convert(row: Row) -> EvalItem:
    d = row.data
    question = row.text("question" if "question" in d else "query")
    answers = row.gold("answer" if "answer" in d else "label")
    if "human_or_machine" in d:  # HuggingFaceM4/ChartQA: a class label, 0 = human
        kind = {0: "human", 1: "augmented"}.get(d["human_or_machine"])
    else:  # lmms-lab: human_test / augmented_test; the authors' JSON: the file name
        kind = str(d.get("type") or row.context.get("type") or "").removesuffix("_test") or None
    image = d.get("image") if d.get("image") is not None else d.get("imgname")
    item_id = f"{Path(row.file).stem}-{row.row}" if "imgname" in d and "image" not in d else str(row.index)
    return make_item(
        row, id=item_id, question=question, images=[row.image(image)], answers=answers, meta={"type": kind}
    )


def convert_tsv(row: Row) -> EvalItem:
    return tsv_item(row, meta={"type": row.data.get("split") or row.data.get("category")})


def find(path: Path, split: str) -> list[BenchmarkSource]:
    files = glob_files(path, f"data/{split}-*.parquet", f"{split}-*.parquet")
    if files:
        return [BenchmarkSource(p) for p in files]
    for root in (path / "ChartQA Dataset" / split, path / split):  # the authors' JSON + png release
        kinds = [k for k in ("human", "augmented") if (root / f"{split}_{k}.json").is_file()]
        if kinds:
            return [BenchmarkSource(root / f"{split}_{k}.json", root / "png", {"type": k}) for k in kinds]
    return []


def score(answer: str, pred: dict[str, Any], profile: str) -> Verdict:
    gold = pred.get("gold") or {}
    if profile == "strict":
        return strict(answer, gold)
    return Verdict(any(relaxed_correctness(str(g), answer.strip()) for g in gold.get("answers") or []))


SPEC = Spec(
    name="chartqa",
    hub_id="lmms-lab/ChartQA",
    splits=("test",),
    find=find,
    convert=convert,
    tsv=convert_tsv,
    layout="data/{split}-*.parquet, or the authors' {split}/{split}_human.json + {split}/png/",
    include="data/{split}-*",
    breakdown=("type",),
)
