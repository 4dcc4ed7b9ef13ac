"""MathVerse (testmini): the same problems in six versions, from text-dominant to vision-only.

Layouts read:
- HF ``AI4Math/MathVerse``: ``testmini.parquet`` (sample_index, problem_index, problem_version,
  question, image, answer, question_type multi-choice|free-form, metadata{split, source, subject,
  subfield}, query_wo, query_cot, question_for_eval); options live in the question ("Choices:\\nA:..");
  "Vision Only" rows have an empty question.
- the authors' ``data/testmini.json`` (the same fields, ``image`` a path) [ZrrSkywalker/MathVerse].
- VLMEvalKit ``MathVerse_MINI*.tsv``: the ``metadata`` column is the same dict written as a Python
  literal; its subject and subfield are read, as VLMEvalKit's ``MathVerse_acc`` reads them.
Multiple-choice rows whose gold names several letters load as they are (no option is dropped).
The authors' testmini.json could not be read here (the stored copy of the repository lacks it).

Scoring (``official`` and ``vlmevalkit`` agree): ZrrSkywalker/MathVerse
``evaluation/score_answer_s2.py`` ``--quick_match`` and VLMEvalKit ``utils/mathverse.py``
``post_check_score``: the extracted answer equals the gold string; anything else goes to a GPT
judge in both, so a mismatch counts as needing a judge, except a multiple-choice answer naming
other letters than the gold's, which that judge is told to score 0 (see ``_wrong_letters``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from avr.eval.benchmarks._base import (
    VISION_ONLY_QUESTION,
    BenchmarkSource,
    Row,
    Spec,
    check_mc,
    glob_files,
    make_item,
    parse_dict,
    split_options,
    tsv_item,
)
from avr.eval.items import EvalItem
from avr.eval.rules import Verdict, letters_of, strict


def convert(row: Row) -> EvalItem:
    answers = row.gold()
    qtype = row.text("question_type")
    question = row.text("question", required=False) or VISION_ONLY_QUESTION
    choices = None
    if qtype == "multi-choice":
        parsed = split_options(question)
        if parsed is not None:
            question, choices = parsed
            check_mc(row, answers, choices, several=True)
    elif qtype != "free-form":
        raise row.error(f"unknown question_type {qtype!r} (expected multi-choice or free-form)")
    info = row.data.get("metadata") if isinstance(row.data.get("metadata"), dict) else {}
    return make_item(
        row,
        id=row.text("sample_index"),
        question=question,
        images=[row.image(row.data.get("image"))],
        answers=answers,
        choices=choices,
        answer_type="multi_choice" if qtype == "multi-choice" else None,
        meta={
            "question_type": qtype,
            "problem_version": row.data.get("problem_version"),
            "problem_index": row.data.get("problem_index"),
            **{k: info.get(k) for k in ("subject", "subfield", "source")},
        },
    )


def convert_tsv(row: Row) -> EvalItem:
    question = row.text("question", required=False) or VISION_ONLY_QUESTION
    parsed = split_options(question)
    raw = row.data.get("metadata")
    info = (parse_dict(raw) if isinstance(raw, str) else None) or {}
    return tsv_item(
        row,
        question=parsed[0] if parsed else question,
        choices=parsed[1] if parsed else None,
        answer_type="multi_choice" if parsed else None,
        meta={
            "problem_version": row.data.get("problem_version"),
            **{k: info.get(k) for k in ("subject", "subfield", "source")},
        },
    )


def find(path: Path, split: str) -> list[BenchmarkSource]:
    files = glob_files(path, f"{split}.parquet", f"data/{split}-*.parquet")
    if files:
        return [BenchmarkSource(p) for p in files]
    for json_file in (path / "data" / f"{split}.json", path / f"{split}.json"):
        if json_file.is_file():
            return [BenchmarkSource(json_file, json_file.parent)]
    return []


def score(answer: str, pred: dict[str, Any], profile: str) -> Verdict:
    gold = pred.get("gold") or {}
    if profile == "strict":
        return strict(answer, gold)
    target = str((gold.get("answers") or [""])[0]).strip()
    if answer.strip() == target:
        return Verdict(True)
    return Verdict(False, needs_judge=not _wrong_letters(answer, target, gold))


def _wrong_letters(answer: str, target: str, gold: dict[str, Any]) -> bool:
    """A multiple-choice answer naming other options than the gold's. The reference's scoring GPT is
    told a multiple-choice answer is consistent only when it "completely matches" the standard
    answer, and shown "B:2√3" against "C" judged 0 (VLMEvalKit ``utils/mathverse.py``
    ``build_mathverse_gpt4_score_prompt``, ``get_gpt4_score_ICE``): such an answer can only be
    wrong there, so no judge is asked. The same letters in another order ("B, A" for "A, B") may
    still be judged consistent, so they go to the judge."""
    if not gold.get("choices"):
        return False
    said, truth = letters_of(answer), letters_of(target)
    return said is not None and truth is not None and said != truth


SPEC = Spec(
    name="mathverse",
    hub_id="AI4Math/MathVerse",
    splits=("testmini",),
    find=find,
    convert=convert,
    tsv=convert_tsv,
    layout="{split}.parquet, or the authors' data/{split}.json + images",
    include="{split}.parquet",
    hub_config=lambda s: [(s, s, {})],
    breakdown=("problem_version", "subject", "subfield"),  # VLMEvalKit MathVerse_acc
)
