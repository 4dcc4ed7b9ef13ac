"""MMMU (validation): college-level multi-discipline questions, 30 subjects.

Layouts read:
- HF ``MMMU/MMMU``: ``<Subject>/{dev,validation,test}-*.parquet`` (id, question, options as a
  Python-list *string*, explanation, image_1..image_7, img_type, answer, topic_difficulty,
  question_type multiple-choice|open, subfield); ``<image k>`` placeholders; test answers are "?".
- VLMEvalKit ``MMMU_DEV_VAL.tsv`` (option columns A..; an open question has none): dev and
  validation rows in one file, each row's ``split`` column deciding its split; ``mmmu:dev=FILE``
  keeps the dev rows, ``mmmu=FILE`` both, the headline being validation (VLMEvalKit
  ``MMMUDataset.report_primary_metric``: "split=validation|Overall") and dev in the breakdown.
[HF MMMU/MMMU README; MMMU-Benchmark/MMMU issue #7; lmms-eval tasks/mmmu]

Scoring:
- ``official``: MMMU-Benchmark/MMMU ``mmmu/utils/eval_utils.py``: ``parse_multi_choice_response``
  ("(B)", " B ", an option's text in a long answer; the last of several; none: a random option,
  which we draw reproducibly from the item id) and ``parse_open_response`` + ``eval_open`` (numbers
  rounded to 2 places; a gold text *inside* the answer counts).
- ``vlmevalkit``: ``vlmeval/dataset/utils/multiple_choice.py``: ``can_infer`` on the options; an
  open question becomes options A = the gold, B = "Other Answers" (``MMMU_preproc``). A miss goes to
  VLMEvalKit's GPT extractor: counted as needing it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from avr.eval.benchmarks._base import (
    BenchmarkSource,
    Row,
    Spec,
    answer_forms,
    check_mc,
    choices_of,
    glob_files,
    literal_list,
    make_item,
    tsv_item,
)
from avr.eval.items import EvalItem
from avr.eval.rules import (
    Verdict,
    can_infer,
    choice_dict,
    letter_verdict,
    mmmu_eval_open,
    mmmu_parse_choice,
    mmmu_parse_open,
    strict,
)

SUBJECTS = [
    "Accounting", "Agriculture", "Architecture_and_Engineering", "Art", "Art_Theory",
    "Basic_Medical_Science", "Biology", "Chemistry", "Clinical_Medicine", "Computer_Science", "Design",
    "Diagnostics_and_Laboratory_Medicine", "Economics", "Electronics", "Energy_and_Power", "Finance",
    "Geography", "History", "Literature", "Manage", "Marketing", "Materials", "Math",
    "Mechanical_Engineering", "Music", "Pharmacy", "Physics", "Psychology", "Public_Health", "Sociology",
]  # fmt: skip
_IMAGE_REF = re.compile(r"<image (\d+)>")
# MMMU-Benchmark/MMMU mmmu/utils/data_utils.py DOMAIN_CAT2SUB_CAT: the discipline of each subject,
# which VLMEvalKit's TSV carries as l2-category and the HF parquet does not
DISCIPLINES = {
    "Art and Design": ["Art", "Art_Theory", "Design", "Music"],
    "Business": ["Accounting", "Economics", "Finance", "Manage", "Marketing"],
    "Science": ["Biology", "Chemistry", "Geography", "Math", "Physics"],
    "Health and Medicine": [
        "Basic_Medical_Science", "Clinical_Medicine", "Diagnostics_and_Laboratory_Medicine", "Pharmacy",
        "Public_Health",
    ],
    "Humanities and Social Science": ["History", "Literature", "Sociology", "Psychology"],
    "Tech and Engineering": [
        "Agriculture", "Architecture_and_Engineering", "Computer_Science", "Electronics", "Energy_and_Power",
        "Materials", "Mechanical_Engineering",
    ],
}  # fmt: skip


def discipline(subject: str | None) -> str | None:
    """The MMMU discipline of a subject ("Art_Theory" -> "Art and Design"), or None."""
    return next((d for d, subjects in DISCIPLINES.items() if subject in subjects), None)


def _images(row: Row, texts: list[str]) -> list[bytes]:
    """The images the question and options refer to (``<image k>``), in k order; else every image given."""
    refs = sorted({int(k) for t in texts for k in _IMAGE_REF.findall(t)})
    if not refs:
        refs = [k for k in range(1, 8) if row.data.get(f"image_{k}") is not None]
    if not refs:
        raise row.error("no image: every image_1..image_7 is empty")
    return [row.image(row.data.get(f"image_{k}"), f"image_{k}") for k in refs]


def _subject(row: Row, item_id: str) -> str | None:
    """MMMU ids read <split>_<Subject>_<n>; the subject folder is the other witness."""
    parts = item_id.split("_")
    return row.context.get("subject") or ("_".join(parts[1:-1]) if len(parts) > 2 else None)


def convert(row: Row, *, all_mc: bool = False) -> EvalItem:
    item_id, question = row.text("id"), row.text("question")
    qtype = "multiple-choice" if all_mc else row.text("question_type")
    options = literal_list(row, "options")
    answers = row.gold()
    choices = None
    meta: dict[str, Any] = {}
    if qtype == "multiple-choice":
        choices = choices_of(row, options, "options")
        check_mc(row, answers, choices)
    elif qtype == "open":
        meta["answer_raw"] = answers[0]
        answers = [form for a in answers for form in answer_forms(a)]
    else:
        raise row.error(f"unknown question_type {qtype!r} (expected multiple-choice or open)")
    keys = ("subfield", "topic_difficulty", "img_type")
    subject = row.data.get("subject") or _subject(row, item_id)
    return make_item(
        row,
        id=item_id,
        question=question,
        images=_images(row, [question, *options]),
        answers=answers,
        choices=choices,
        answer_type="multi_choice" if choices else None,
        meta={
            "subject": subject,
            "l2_category": discipline(subject),
            "question_type": qtype,
            **{k: row.data.get(k) for k in keys},
            **meta,
        },
    )


def convert_tsv(row: Row) -> EvalItem:
    item = tsv_item(row)
    item.meta.setdefault("subject", item.meta.get("category"))
    item.meta["question_type"] = "multiple-choice" if item.choices else "open"
    if not item.choices:
        item.meta["answer_raw"] = item.answers[0]
        item.answers = answer_forms(item.answers[0])
    return item


def find(path: Path, split: str) -> list[BenchmarkSource]:
    files = glob_files(path, f"*/{split}-*.parquet", f"{split}-*.parquet")
    return [
        BenchmarkSource(p, context={} if p.parent in (path, path / "data") else {"subject": p.parent.name})
        for p in files
    ]


def score_mc(answer: str, pred: dict[str, Any], profile: str, choices: list[str] | None) -> Verdict:
    """Multiple choice as MMMU and MMMU-Pro score it (``choices`` may come from meta: MMMU-Pro vision):
    by letter in both profiles, the gold being the ``answer`` letter."""
    gold = pred.get("gold") or {}
    if profile == "strict" or not choices:
        return strict(answer, gold)
    options = choice_dict(choices, gold.get("option_letters"))
    target = str((gold.get("answers") or [""])[0]).strip().upper()
    if profile == "official":
        letter, _guessed = mmmu_parse_choice(answer, options, str(pred.get("id")))
        return Verdict(letter == target)
    return letter_verdict(answer, options, [target])


def score(answer: str, pred: dict[str, Any], profile: str) -> Verdict:
    gold, meta = pred.get("gold") or {}, pred.get("meta") or {}
    if gold.get("choices") or profile == "strict":
        return score_mc(answer, pred, profile, gold.get("choices"))
    golds = [str(g) for g in gold.get("answers") or []]
    if profile == "official":
        return Verdict(mmmu_eval_open(golds, mmmu_parse_open(answer)))
    letter = can_infer(answer, {"A": str(meta.get("answer_raw") or golds[0]), "B": "Other Answers"})
    return Verdict(letter == "A", needs_judge=letter is None)


SPEC = Spec(
    name="mmmu",
    hub_id="MMMU/MMMU",
    splits=("validation", "dev", "test"),
    find=find,
    convert=convert,
    tsv=convert_tsv,
    layout="<Subject>/{split}-*.parquet",
    include="*/{split}-*",
    hidden=("test",),
    aliases={"val": "validation"},
    hub_config=lambda s: [(subject, s, {"subject": subject}) for subject in SUBJECTS],
    breakdown=("split", "subject", "l2_category", "topic_difficulty"),  # report_acc: category, l2-category
    headline_splits=("test", "validation", "dev"),  # MMMUDataset.report_primary_metric
)
