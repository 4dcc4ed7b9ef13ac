"""GQA (balanced or all questions, v1.2): compositional questions on Visual Genome images, format 1.

No real file of this set could be reached here: no copy is held in the stored public repositories, and
the official download and the hub are out of reach. The reader follows the published layout (see
``read_gqa``); run ``tests/test_data_sources_real.py`` with ``AVR_REAL_DATA`` once a copy is at hand.
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


def gqa_record(qid: str, q: dict[str, Any], image_dir: Path) -> dict[str, Any]:
    """A GQA question -> a direct-answer record with the short answer.

    ``fullAnswer`` ("The bowl is on the left of the table.") restates the answer rather than describing
    what was seen, so it is kept as ``full_answer`` and not used as a perception.
    """
    row = {
        "id": f"gqa-{qid}",
        "question": text_field(q.get("question"), "question"),
        "answer": text_field(q.get("answer"), "answer"),
        "format": 1,
        "images": [image_dir / f"{text_field(q.get('imageId'), 'imageId')}.jpg"],
    }
    if isinstance(q.get("fullAnswer"), str) and q["fullAnswer"].strip():
        row["full_answer"] = q["fullAnswer"].strip()
    return row


def read_gqa(src: Path, split: str) -> Iterator[SourceRow]:
    """Official questions1.2: ``{split}_questions.json`` (a dict qid -> {question, answer, fullAnswer,
    imageId, ...}; ``train_all`` is a folder of shards) and ``{src}/images/{imageId}.jpg``. Checked:
    cs.stanford.edu/people/dorarad/gqa/download.html file names and public loaders of the JSON."""
    bases = (src, src / "questions1.2", src / "questions")
    files: list[Path] = []
    for d in bases:
        if (d / f"{split}_questions.json").is_file():
            files = [d / f"{split}_questions.json"]
            break
        if (d / f"{split}_questions").is_dir():
            files = sorted((d / f"{split}_questions").glob(f"{split}_questions*.json"))
            break
    if not files:
        raise layout_error(SOURCE, src, [f"{split}_questions.json", f"questions1.2/{split}_questions.json"])
    image_dir = first_existing([src / "images", src / "allImages" / "images"]) or (src / "images")
    for path in files:
        for i, (qid, q) in enumerate(stream_json(path, "", pairs=True), start=1):
            yield SourceRow(path, i, functools.partial(gqa_record, qid, q, image_dir))


SOURCE = Source(
    "gqa",
    read_gqa,
    ("train_balanced", "val_balanced", "testdev_balanced", "train_all", "val_all", "testdev_all"),
    "download questions1.2.zip and images.zip from https://cs.stanford.edu/people/dorarad/gqa/download.html "
    "and unzip both into SRC (SRC/questions1.2/*_questions.json, SRC/images/*.jpg)",
    default_split="train_balanced",
)
