"""TQA (Textbook Question Answering): the diagram multiple-choice questions, format 1.

No real file of this set could be reached here: no copy is held in the stored public repositories, and
the official download and the hub are out of reach. The reader follows the published layout (see
``read_tqa``); run ``tests/test_data_sources_real.py`` with ``AVR_REAL_DATA`` once a copy is at hand.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from avr.data.sources.common import (
    Source,
    SourceRow,
    first_existing,
    layout_error,
    stream_json,
    text_field,
)
from avr.formats import OPTION_LETTERS


def tqa_record(q: dict[str, Any], split_dir: Path, row: int) -> dict[str, Any]:
    """A TQA diagram question -> a multiple-choice record; the answer key ("b") becomes its letter."""
    options = q.get("answerChoices")
    if not isinstance(options, dict) or len(options) < 2:
        raise ValueError("'answerChoices' must hold the options")
    keys = sorted(options)
    choices = [
        text_field(options[k].get("processedText") or options[k].get("rawText"), "answerChoices")
        for k in keys
    ]
    correct = (q.get("correctAnswer") or {}).get("processedText")
    if correct not in options:
        raise ValueError(f"correct answer {correct!r} is not one of the choices {keys}")
    return {
        "id": f"tqa-{q.get('globalID') or f'{split_dir.name}-{row}'}",
        "question": text_field((q.get("beingAsked") or {}).get("processedText"), "beingAsked"),
        "answer": OPTION_LETTERS[keys.index(correct)],
        "choices": choices,
        "format": 1,
        "images": [split_dir / text_field(q.get("imagePath"), "imagePath")],
    }


def read_tqa(src: Path, split: str) -> Iterator[SourceRow]:
    """Official tqa_train_val_test: ``{split}/tqa_v1_{split}.json``, a list of lessons whose
    ``questions.diagramQuestions`` hold (beingAsked, answerChoices, correctAnswer key, imagePath relative to
    the split folder). Diagram questions only. Checked: public TQA loaders reading tqa_v1_train.json."""
    split_dir = first_existing([src / split, src / "tqa_train_val_test" / split])
    path = None
    if split_dir is not None:
        path = first_existing(sorted(split_dir.glob(f"tqa_v*_{split}.json")))
    if path is None:
        raise layout_error(SOURCE, src, [f"{split}/tqa_v1_{split}.json"])
    row = 0
    for lesson in stream_json(path):
        questions = ((lesson or {}).get("questions") or {}).get("diagramQuestions") or {}
        for q in questions.values():
            row += 1
            yield SourceRow(path, row, functools.partial(tqa_record, q, path.parent, row))


SOURCE = Source(
    "tqa",
    read_tqa,
    ("train", "val"),
    "wget https://ai2-public-datasets.s3.amazonaws.com/tqa/tqa_train_val_test.zip && unzip it "
    "(SRC = the tqa_train_val_test folder)",
)
