"""MathVista (testmini): math reasoning in visual contexts.

Layouts read:
- HF ``AI4Math/MathVista``: ``data/{testmini,test}-*.parquet`` (pid, question, image, decoded_image,
  choices, unit, precision, answer, question_type, answer_type, metadata, query); multi_choice golds
  are the option *text*; test answers are not public.
- the authors' ``data/testmini.json`` (an object keyed by pid, same fields, ``image`` a path under
  the folder of ``images.zip``) [lupantech/MathVista data/testmini.json, checked: 1000 rows].
- VLMEvalKit ``MathVista_MINI.tsv``: ``choices`` a list literal, ``answer_option`` the gold letter
  (kept in meta: it decides between options whose texts repeat), ``question_type``,
  ``answer_type``, ``precision``, ``unit``, ``task``, ``skills``.

Scoring:
- ``official``: lupantech/MathVista ``evaluation/calculate_score.py``: ``normalize_extracted_answer``
  (a letter, else the Levenshtein-nearest option; ``str(int(float(x)))``; ``str(round(float(x),
  precision))``) then string equality with the gold *text*: a letter counts as its option's text, so
  either of two options reading "18" is right there. The answer block is the extraction (the
  authors extract with GPT-4 from free text, ``evaluation/extract_answer.py``, whose demonstrations
  return the bare value: so the item's unit is first dropped from a free-form answer, "5 cm" -> "5").
- ``vlmevalkit``: ``vlmeval/dataset/utils/mathvista.py`` ``post_check``: ``can_infer`` for options,
  compared with ``answer_option`` (a found letter is final, right or wrong: ``MathVista_auxeval``
  asks GPT only when ``post_check(prefetch=True)`` found nothing); ``int()``/``float()`` equality for
  numbers, a miss going to GPT; free-form text and list answers never match by rule there (it
  compares ``str(None)``), so they count as needing VLMEvalKit's GPT judge. Without
  ``answer_option`` (the HF and JSON layouts) each option whose text is the gold is a gold letter.
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
    int_or_none,
    make_item,
    parse_list,
    tsv_item,
)
from avr.eval.items import EvalItem
from avr.eval.rules import (
    Verdict,
    exact_letters,
    gold_option_letters,
    letter_verdict,
    mathvista_normalize,
    options_of,
    strict,
)

META_KEYS = ("category", "context", "grade", "language", "skills", "source", "task")


def convert(row: Row) -> EvalItem:
    d = row.data
    answers = row.gold()
    qtype = row.text("question_type")
    choices, answer_type = None, row.text("answer_type", required=False)
    if qtype == "multi_choice":
        choices = choices_of(row, d.get("choices"), "choices")
        check_mc(row, answers, choices)
    elif qtype != "free_form":
        raise row.error(f"unknown question_type {qtype!r} (expected multi_choice or free_form)")
    image = d.get("decoded_image") if d.get("decoded_image") is not None else d.get("image")
    info = d.get("metadata") if isinstance(d.get("metadata"), dict) else {}
    return make_item(
        row,
        id=row.text("pid"),
        question=row.text("question"),
        images=[row.image(image, "decoded_image" if "decoded_image" in d else "image")],
        answers=answers,
        choices=choices,
        answer_type="multi_choice" if choices else answer_type,
        precision=int_or_none(row, "precision"),
        unit=row.text("unit", required=False),
        meta={
            "question_type": qtype,
            "answer_type": answer_type,
            **{k: info.get(k) for k in META_KEYS},
            "query": d.get("query"),
        },
    )


def convert_tsv(row: Row) -> EvalItem:
    qtype = row.text("question_type", required=False) or "free_form"
    raw = row.data.get("choices")
    choices = parse_list(raw) if isinstance(raw, str) else None
    choices = [str(c) for c in choices] if choices else None
    skills = row.data.get("skills")
    skills = parse_list(skills) if isinstance(skills, str) and skills.startswith("[") else skills
    answer_type = row.text("answer_type", required=False)
    option = row.text("answer_option", required=False) if qtype == "multi_choice" else None
    return tsv_item(
        row,
        choices=choices if qtype == "multi_choice" else None,
        answer_type="multi_choice" if qtype == "multi_choice" else answer_type,
        precision=int_or_none(row, "precision"),
        unit=row.text("unit", required=False),
        meta={
            "question_type": qtype,
            "answer_type": answer_type,
            "task": row.data.get("task"),
            "skills": skills,
            "category": row.data.get("category"),
            "answer_option": option.upper() if option else None,
        },
    )


def find(path: Path, split: str) -> list[BenchmarkSource]:
    """A file given directly (parquet, JSON or TSV), the HF parquet shards, or the authors' JSON."""
    sources = PARQUET(path, split)
    if sources:
        return sources
    for json_file in (path / "data" / f"{split}.json", path / f"{split}.json"):
        if json_file.is_file():
            return [BenchmarkSource(json_file, json_file.parent)]
    return []


def score(answer: str, pred: dict[str, Any], profile: str) -> Verdict:
    gold, meta = pred.get("gold") or {}, pred.get("meta") or {}
    target = str((gold.get("answers") or [""])[0])
    choices = gold.get("choices")
    qtype = meta.get("question_type") or ("multi_choice" if choices else "free_form")
    option = meta.get("answer_option")
    if profile == "strict":
        return strict(answer, {**gold, "answers": [option]} if option and choices else gold)
    atype = meta.get("answer_type")
    if profile == "official":
        if qtype != "multi_choice":
            answer = drop_unit(answer, gold.get("unit"))
        norm = mathvista_normalize(answer, choices, qtype, atype, gold.get("precision"))
        return Verdict(norm is not None and norm == target)
    # vlmevalkit: post_check on the extraction
    if qtype == "multi_choice" and choices:
        options = options_of(gold)
        golds = (
            [option]
            if option
            else exact_letters(target, choices, gold.get("option_letters"))
            or gold_option_letters(target, options)
        )
        return letter_verdict(answer, options, golds)
    correct = False
    if atype == "integer":
        correct = _as(int, answer) is not None and _as(int, answer) == _as(int, target)
    elif atype == "float":
        correct = _as(float, answer) is not None and _as(float, answer) == _as(float, target)
    return Verdict(correct, needs_judge=not correct)


def drop_unit(answer: str, unit: str | None) -> str:
    """The answer without the item's unit at its end ("5 cm", "5cm" -> "5"), as the authors' GPT
    extractor returns it (``evaluation/extract_answer.py``, whose demonstrations give the bare
    value); another unit is left alone, and so the answer stays wrong."""
    unit = (unit or "").strip()
    text = answer.rstrip()
    if unit and text.lower().endswith(unit.lower()) and len(text) > len(unit):
        return text[: -len(unit)].strip()
    return answer


def _as(kind: type, text: str) -> Any:
    try:
        return kind(text)
    except (ValueError, OverflowError):
        return None


SPEC = Spec(
    name="mathvista",
    hub_id="AI4Math/MathVista",
    splits=("testmini", "test"),
    find=find,
    convert=convert,
    tsv=convert_tsv,
    layout="data/{split}-*.parquet, the authors' data/{split}.json + images/, or MathVista_MINI.tsv",
    include="data/{split}-*",
    hidden=("test",),
    breakdown=("task", "skills", "category"),
)
