"""OK-VQA: outside-knowledge questions on COCO images, format 1, annotators' answers most common first.

No real file of this set could be reached here: no copy is held in the stored public repositories, and
the official download and the hub are out of reach. The reader follows the published layout (see
``read_okvqa``); run ``tests/test_data_sources_real.py`` with ``AVR_REAL_DATA`` once a copy is at hand.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from avr.data.sources.common import (
    Source,
    SourceRow,
    first_existing,
    image_value,
    layout_error,
    parquet_rows,
    split_parquets,
    stream_json,
    text_field,
)
from avr.hub import download_command


def rank_answers(answers: Iterable[Any]) -> list[str]:
    """Annotator answers -> distinct answers, most common first (ties keep their first appearance)."""
    counts = Counter(str(a).strip() for a in answers if a is not None and str(a).strip())
    return [a for a, _ in counts.most_common()]


def okvqa_record(
    question: dict[str, Any], answers: list[Any], image: bytes | Path, id_: str
) -> dict[str, Any]:
    """A question and its annotators' answers -> a direct-answer record, most common answer first."""
    ranked = rank_answers(answers)
    if not ranked:
        raise ValueError("no annotator answers")
    return {
        "id": id_,
        "question": text_field(question.get("question"), "question"),
        "answer": ranked,
        "format": 1,
        "images": [image],
    }


def _okvqa_answer_texts(annotation: dict[str, Any]) -> list[Any]:
    return [a.get("answer") if isinstance(a, dict) else a for a in annotation.get("answers") or []]


def read_okvqa(src: Path, split: str) -> Iterator[SourceRow]:
    """Official: ``OpenEnded_mscoco_{split}2014_questions.json`` + ``mscoco_{split}2014_annotations.json``
    with COCO images in ``{src}/{split}2014/COCO_{split}2014_{id:012d}.jpg``; or the lmms-lab/OK-VQA
    parquet (``data/val2014-*.parquet``: question_id, question, answers, image). Checked: okvqa.allenai.org
    file names as read by the HuggingFaceM4/OK-VQA script, lmms-eval ok_vqa utils (doc["answers"])."""
    qfile = first_existing(
        d / f"OpenEnded_mscoco_{split}2014_questions.json" for d in (src, src / "annotations", src / "okvqa")
    )
    if qfile is None:
        files = split_parquets(src, (f"{split}2014", split, *(("validation",) if split == "val" else ())))
        if not files:
            raise layout_error(
                SOURCE, src, [f"OpenEnded_mscoco_{split}2014_questions.json", f"{split}2014-*.parquet"]
            )
        for f, row, obj in parquet_rows(files):
            qid = obj.get("question_id")
            id_ = f"okvqa-{qid}" if qid is not None else f"okvqa-{split}-{f.stem}-{row}"
            build = functools.partial(_okvqa_parquet_record, obj, f.parent, id_)
            yield SourceRow(f, row, build)
        return
    afile = qfile.parent / f"mscoco_{split}2014_annotations.json"
    # Only the answer texts are kept per question: the annotations file is read once, streamed.
    by_qid = {
        a.get("question_id"): _okvqa_answer_texts(a)
        for a in stream_json(afile, "annotations.item")
        if isinstance(a, dict)
    }
    image_dir = first_existing(
        d / f"{split}2014" for d in (src, src / "images", src / "coco", qfile.parent)
    ) or (src / f"{split}2014")
    for i, q in enumerate(stream_json(qfile, "questions.item"), start=1):
        yield SourceRow(qfile, i, functools.partial(_okvqa_official_record, q, by_qid, image_dir, split))


def _okvqa_official_record(q: dict, by_qid: dict, image_dir: Path, split: str) -> dict[str, Any]:
    qid = q["question_id"]
    if qid not in by_qid:
        raise ValueError(f"question {qid} has no entry in the annotations file")
    image = image_dir / f"COCO_{split}2014_{int(q['image_id']):012d}.jpg"
    return okvqa_record(q, by_qid[qid], image, f"okvqa-{qid}")


def _okvqa_parquet_record(obj: dict, base: Path, id_: str) -> dict[str, Any]:
    return okvqa_record(obj, _okvqa_answer_texts(obj), image_value(obj.get("image"), base), id_)


SOURCE = Source(
    "okvqa",
    read_okvqa,
    ("train", "val"),
    download_command("lmms-lab/OK-VQA", "SRC") + "  (val only); or the "
    "official files from https://okvqa.allenai.org/download.html with COCO images in SRC/{split}2014/",
    hub_repos=("lmms-lab/OK-VQA",),
)
