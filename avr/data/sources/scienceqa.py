"""ScienceQA: multiple-choice science questions; image questions only, the solution kept as reasoning.

Real files checked: ``problems.json`` as republished in Think-ScienceQA/Think-ScienceQA.github.io
(``data/scienceqa/problems.json``; that copy stops part way, after 1,772 of 21,208 problems, some of
its train rows carry rewritten lectures, and it has no images): every problem before the cut was read
and built (1,041 train, 371 val, 360 test; 893 without an image left out on purpose), the cut was
reported as the row after the last whole one, and the image questions were skipped for want of
images. lupantech/ScienceQA's own ``problems.json`` and the hub parquet were out of reach.
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
    image_value,
    index_letter,
    layout_error,
    parquet_rows,
    split_parquets,
    stream_json,
    text_field,
)
from avr.hub import download_command


def scienceqa_record(p: dict[str, Any], image: bytes | Path | None, id_: str) -> dict[str, Any] | None:
    """A ScienceQA problem -> a multiple-choice record; ``None`` for a question without an image.

    The hint (text context) is appended to the question because many answers depend on it; the
    ``solution`` becomes ``reasoning`` and ``lecture`` is kept, but the row stays format 1 since the
    set has no perception text.
    """
    if image is None:
        return None
    choices = p.get("choices")
    if not isinstance(choices, list) or len(choices) < 2:
        raise ValueError("'choices' must list the options")
    question = text_field(p.get("question"), "question")
    hint = (p.get("hint") or "").strip()
    row: dict[str, Any] = {
        "id": id_,
        "question": f"{question}\nContext: {hint}" if hint else question,
        "answer": index_letter(p.get("answer"), len(choices)),
        "choices": [str(c) for c in choices],
        "format": 1,
        "images": [image],
    }
    if (p.get("solution") or "").strip():
        row["reasoning"] = p["solution"].strip()
    if (p.get("lecture") or "").strip():
        row["lecture"] = p["lecture"].strip()
    for key in ("subject", "topic", "category", "skill", "grade"):
        if p.get(key):
            row[key] = p[key]
    return row


def read_scienceqa(src: Path, split: str) -> Iterator[SourceRow]:
    """Official: ``problems.json`` (pid -> {question, choices, answer index, hint, image, lecture,
    solution, split}) with ``images/{split}/{pid}/image.png``; or the derek-thomas / lmms-lab ScienceQA
    parquet (same columns, image inline). Image questions only. Checked: lupantech/ScienceQA
    tools/download.sh; lmms-lab/ScienceQA dataset card features."""
    problems_path = first_existing(
        d / "problems.json" for d in (src, src / "data" / "scienceqa", src / "scienceqa")
    )
    if problems_path is not None:
        base = problems_path.parent
        for i, (pid, p) in enumerate(stream_json(problems_path, "", pairs=True), start=1):
            if not isinstance(p, dict) or p.get("split") != split:
                continue
            image = None
            if p.get("image"):
                image = first_existing(
                    [base / "images" / split / pid / p["image"], base / split / pid / p["image"]]
                ) or (base / "images" / split / pid / p["image"])
            yield SourceRow(
                problems_path, i, functools.partial(scienceqa_record, p, image, f"scienceqa-{pid}")
            )
        return
    files = split_parquets(src, (split, "validation") if split == "val" else (split,))
    if not files:
        raise layout_error(SOURCE, src, ["problems.json", f"data/{split}-*.parquet"])
    for n, (f, row, obj) in enumerate(parquet_rows(files), start=1):
        yield SourceRow(f, row, functools.partial(_scienceqa_hub, obj, f.parent, f"scienceqa-{split}-{n}"))


def _scienceqa_hub(obj: dict, base: Path, id_: str) -> dict[str, Any] | None:
    image = image_value(obj["image"], base) if obj.get("image") else None
    return scienceqa_record(obj, image, id_)


SOURCE = Source(
    "scienceqa",
    read_scienceqa,
    ("train", "val", "test"),
    download_command("derek-thomas/ScienceQA", "SRC") + "; or the official "
    "release (github.com/lupantech/ScienceQA: data/scienceqa/problems.json + tools/download.sh images)",
    hub_repos=("derek-thomas/ScienceQA",),
)
