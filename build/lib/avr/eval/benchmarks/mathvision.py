"""MATH-Vision (MATH-V): competition problems with a figure; five levels, sixteen subjects.

Layouts read:
- HF ``MathLLMs/MathVision``: ``data/{test,testmini}-*.parquet`` (id, question, options, image,
  decoded_image, answer, solution, level, subject).
- the authors' ``data/{test,testmini}.jsonl`` + ``images/`` [mathllm/MATH-V; checked: test.jsonl
  3,040 rows and testmini.jsonl 304 rows load with 0 skipped, every image decoded].
- VLMEvalKit ``MathVision.tsv`` / ``MathVision_MINI.tsv`` (``choices`` a list literal, ``category``
  the subject).
A gold is a letter when there are options; some rows have a letter gold and no options (the
options are drawn in the figure): those are free-form items whose answer is that letter.

Scoring:
- ``official``: mathllm/MATH-V ``evaluation/evaluate.py`` + ``utils.py``: the answer cleaned as
  ``find_math_answer`` does, then ``is_equal`` against the gold letter *or* that option's text:
  the same text, or the same value rounded to 2 decimal places (math-verify with rounding 2 in
  place of ``eval(latex2sympy(...))``).
- ``vlmevalkit``: ``vlmeval/dataset/utils/mathv.py`` ``post_check``: ``can_infer`` for options,
  the letter found compared with the gold letter and final, right or wrong (``MATH_V_auxeval``
  asks GPT only when ``post_check(prefetch=True)`` found none); otherwise ``is_equal`` (same text, or equal within 1e-6, numbers parsed and LaTeX through
  math-verify instead of ``eval``). A miss goes to VLMEvalKit's GPT extractor: counted as needing it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from avr.eval.benchmarks._base import (
    PARQUET,
    BenchmarkSource,
    Row,
    Spec,
    check_mc,
    choices_of,
    make_item,
    parse_list,
    tsv_item,
)
from avr.eval.items import EvalItem
from avr.eval.rules import (
    Verdict,
    gold_option_letters,
    graded,
    letter_verdict,
    mathv_equal,
    mathv_normalize,
    options_of,
    strict,
)
from avr.grading import parse_number


def convert(row: Row) -> EvalItem:
    d = row.data
    answers = row.gold()
    options = d.get("options")
    choices = choices_of(row, options, "options") if options else None
    if choices:
        check_mc(row, answers, choices)
    image = d.get("decoded_image") if d.get("decoded_image") is not None else d.get("image")
    return make_item(
        row,
        id=row.text("id"),
        question=row.text("question"),
        images=[row.image(image, "decoded_image" if "decoded_image" in d else "image")],
        answers=answers,
        choices=choices,
        answer_type="multi_choice" if choices else None,
        meta={"subject": d.get("subject"), "level": d.get("level")},
    )


def convert_tsv(row: Row) -> EvalItem:
    raw = row.data.get("choices")
    choices = [str(c) for c in parse_list(raw) or []] if isinstance(raw, str) else []
    return tsv_item(
        row,
        choices=choices or None,
        answer_type="multi_choice" if choices else None,
        meta={"subject": row.data.get("category"), "level": row.data.get("level")},
    )


def find(path: Path, split: str) -> list[BenchmarkSource]:
    sources = PARQUET(path, split)
    if sources:
        return sources
    for jsonl in (path / "data" / f"{split}.jsonl", path / f"{split}.jsonl"):
        if jsonl.is_file():  # image paths ("images/1.jpg") are relative to the repository root
            root = jsonl.parent.parent if jsonl.parent.name == "data" else jsonl.parent
            return [BenchmarkSource(jsonl, root)]
    return []


def _vlmevalkit_equal(answer: str, gold: str) -> Verdict:
    """VLMEvalKit's ``is_equal``: the same text, or the same value within 1e-6."""
    a, g = answer.lower().strip(), gold.lower().strip()
    if a == g:
        return Verdict(True)
    na, ng = parse_number(a), parse_number(g)
    if na is not None and ng is not None:
        return Verdict(abs(float(na[0]) - float(ng[0])) < 1e-6)
    return graded(a, [g])


def score(answer: str, pred: dict[str, Any], profile: str) -> Verdict:
    gold = pred.get("gold") or {}
    if profile == "strict":
        return strict(answer, gold)
    target = str((gold.get("answers") or [""])[0])
    choices = gold.get("choices")
    if profile == "official":
        model = mathv_normalize(answer)
        verdict = mathv_equal(model, target)
        value = options_of(gold).get(target.strip().upper()) if choices else None
        if not verdict.correct and value is not None:
            other = mathv_equal(model, value)
            return Verdict(
                other.correct, timeouts=verdict.timeouts + other.timeouts, unresolved=other.unresolved
            )
        return verdict
    if choices:
        options = options_of(gold)
        return letter_verdict(answer, options, gold_option_letters(target, options))
    verdict = _vlmevalkit_equal(answer, target)
    return Verdict(
        verdict.correct,
        needs_judge=not verdict.correct,
        timeouts=verdict.timeouts,
        unresolved=verdict.unresolved,
    )


SPEC = Spec(
    name="mathvision",
    hub_id="MathLLMs/MathVision",
    splits=("test", "testmini"),
    find=find,
    convert=convert,
    tsv=convert_tsv,
    layout="data/{split}-*.parquet, or the authors' data/{split}.jsonl + images/",
    include="data/{split}-*",
    breakdown=("level", "subject"),
)
