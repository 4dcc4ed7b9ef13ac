"""MMMU-Pro: MMMU with ten options ("standard") or with question and options in one screenshot ("vision").

Layouts read: HF ``MMMU/MMMU_Pro`` ``<config>/test-*.parquet`` for configs "standard (10 options)",
"standard (4 options)", "vision": standard = MMMU columns + subject; vision = id, image, options,
answer, subject [HF MMMU/MMMU_Pro tree; lmms-eval tasks/mmmu_pro]; VLMEvalKit ``MMMU_Pro_*.tsv``.

Scoring: ``official`` is MMMU-Benchmark/MMMU ``mmmu-pro/evaluate.py`` (the MMMU
``parse_multi_choice_response``); ``vlmevalkit`` its MCQ ``can_infer`` path. The vision config's
options are not in the prompt but are kept in meta so that both rules can read the answer's text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from avr.eval.benchmarks import mmmu
from avr.eval.benchmarks._base import (
    VISION_ONLY_QUESTION,
    BenchmarkSource,
    Row,
    Spec,
    glob_files,
    literal_list,
    make_item,
)
from avr.eval.items import EvalItem
from avr.eval.rules import Verdict
from avr.formats import OPTION_LETTERS


def convert(row: Row) -> EvalItem:
    if "question" in row.data:
        return mmmu.convert(row, all_mc=True)
    # vision: question and options are drawn in one screenshot, so the text prompt carries neither
    options = literal_list(row, "options")
    answers = row.gold()
    if not re.fullmatch(r"[A-Z]", answers[0]) or OPTION_LETTERS.index(answers[0]) >= len(options):
        raise row.error(f"answer {answers[0]!r} is not the letter of one of the {len(options)} options")
    return make_item(
        row,
        id=row.text("id"),
        question=VISION_ONLY_QUESTION,
        images=[row.image(row.data.get("image"))],
        answers=answers,
        answer_type="multi_choice",
        meta={"subject": row.data.get("subject"), "options": options},
    )


def find(path: Path, split: str) -> list[BenchmarkSource]:
    """One folder per config, named like the config ("standard (10 options)/test-00000-of-00002.parquet")."""
    if path.is_file():
        return [BenchmarkSource(path)]
    return [BenchmarkSource(p) for p in glob_files(path / split, "test-*.parquet", "*.parquet")]


def score(answer: str, pred: dict[str, Any], profile: str) -> Verdict:
    choices = (pred.get("gold") or {}).get("choices") or (pred.get("meta") or {}).get("options")
    return mmmu.score_mc(answer, pred, profile, choices)


SPEC = Spec(
    name="mmmu_pro",
    hub_id="MMMU/MMMU_Pro",
    splits=("standard (10 options)", "standard (4 options)", "vision"),
    find=find,
    convert=convert,
    layout="{split}/test-*.parquet",
    include="{split}/*",
    aliases={
        "standard": "standard (10 options)",
        "standard10": "standard (10 options)",
        "standard4": "standard (4 options)",
    },
    hub_config=lambda s: [(s, "test", {})],
    breakdown=("subject",),
)
