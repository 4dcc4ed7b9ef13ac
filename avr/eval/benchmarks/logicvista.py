"""LogicVista: logical reasoning in diagrams, puzzles, sequences; answers are option letters drawn in the image.

Layouts read: the authors' ``data/dataset.json`` (an object keyed by id: imagename, question,
answer "C" or "A, C" or a digit, reasoning, skill, broad_capability, specific_capability,
imagesource...) + ``data/images/`` [Yijia-Xiao/LogicVista; checked: 448 entries, 447 load, 1 skipped
(v1_382: empty question and answer)]; VLMEvalKit ``LogicVista.tsv``.

Scoring: Yijia-Xiao/LogicVista ``eval/extract_accuracy.py``: a GPT extractor names the letters
chosen; they must equal ``answer.split(", ")``, in any order, case ignored (a lone letter past E
or a lone symbol is no answer). VLMEvalKit ``utils/logicvista.py`` is the same comparison after
its own GPT extractor, and scores nothing without one. So every answer counts as needing a judge
in both profiles; the rule reads the letters itself ("A, C", "(A) and (C)", "CA" all name A and C).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from avr.eval.benchmarks._base import BenchmarkSource, Row, Spec, glob_files, make_item, tsv_item
from avr.eval.items import EvalItem
from avr.eval.rules import Verdict, logicvista_match, strict

META_KEYS = ("skill", "broad_capability", "specific_capability", "capability", "imagesource")


def _answer_type(answers: list[str]) -> str | None:
    """The gold's answer type: ``letters`` for option letters ("C", "A, C"), which the strict profile
    grades as a choice; None for the rest (a digit)."""
    return "letters" if all(p.strip().isalpha() for p in answers[0].split(",")) else None


def convert(row: Row) -> EvalItem:
    d = row.data
    answers = row.gold()
    image = d.get("image") if d.get("image") is not None else d.get("imagename")
    return make_item(
        row,
        id=row.text("id", required=False) or str(row.index),
        question=row.text("question"),
        images=[row.image(image, "image" if "image" in d else "imagename")],
        answers=answers,
        answer_type=_answer_type(answers),
        meta={k: d.get(k) for k in META_KEYS},
    )


def convert_tsv(row: Row) -> EvalItem:
    return tsv_item(
        row,
        answer_type=_answer_type(row.gold()),  # as from the authors' JSON: the TSV has no option columns
        meta={"skill": row.data.get("skill"), "capability": row.data.get("capability")},
    )


def find(path: Path, split: str) -> list[BenchmarkSource]:
    for json_file in (path / "data" / "dataset.json", path / "dataset.json"):
        if json_file.is_file():
            return [BenchmarkSource(json_file, json_file.parent / "images")]
    if path.is_file() and path.suffix == ".json":
        return [BenchmarkSource(path, path.parent / "images")]
    return [BenchmarkSource(p) for p in glob_files(path, f"data/{split}-*.parquet", f"{split}-*.parquet")]


def score(answer: str, pred: dict[str, Any], profile: str) -> Verdict:
    gold = pred.get("gold") or {}
    target = str((gold.get("answers") or [""])[0])
    if profile == "strict":
        return strict(
            answer, {**gold, "answer_type": "multi_choice"} if gold.get("answer_type") == "letters" else gold
        )
    correct, needs_judge = logicvista_match(answer, target)
    return Verdict(correct, needs_judge=needs_judge)


SPEC = Spec(
    name="logicvista",
    hub_id=None,  # the authors publish on GitHub only
    splits=("test",),
    find=find,
    convert=convert,
    tsv=convert_tsv,
    layout="data/dataset.json + data/images/",
    download="git clone --depth 1 https://github.com/Yijia-Xiao/LogicVista {path}",
    breakdown=("skill", "broad_capability", "specific_capability", "capability"),
)
