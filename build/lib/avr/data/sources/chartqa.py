"""ChartQA: questions on charts, human-written and machine-generated, format 1.

Real files checked: the test split as RobustCQA/ChartQA-Split republishes it (its ``test_human_*.json``
and ``test_augmented_*.json`` joined back into ``test/test_human.json`` and ``test/test_augmented.json``:
1,161 and 1,212 of the 1,250 + 1,250 rows, with the real ``png/`` charts): 2,373 rows, none skipped;
4 queries held U+FFFD (mended by ``convert``), 20 labels named several values (``"[2013, 2016]"``,
``"[2003,2009]"``). A few of that copy's labels differ from vis-nlp/ChartQA's own
``ChartQA Dataset/test/test_human.json``, whose opening rows were read (as text, not converted) and
hold the same U+FFFD query. Train, val and the hub parquet were out of reach.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator
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

_BRACKETED = re.compile(r"\[(.*)\]", re.DOTALL)


def label_values(label: str) -> list[str] | None:
    """``"[2013, 2016]"`` -> ``["2013", "2016"]``; None for a plain label.

    ChartQA writes the answer to a question about a set ("Which years recorded the maximum?") as a
    bracketed list in one string. Values are split at ``", "`` (so ``"[1,000, 2,000]"`` keeps its
    thousands), or at ``","`` when the list has no space (``"[2003,2009]"``).
    """
    m = _BRACKETED.fullmatch(label.strip())
    if not m:
        return None
    inner = m.group(1)
    values = [v.strip() for v in (inner.split(", ") if ", " in inner else inner.split(","))]
    return values if all(values) else None


def label_answers(label: str) -> tuple[list[str], list[str] | None]:
    """A label's acceptable answer texts, and its values when it names several.

    Several values become one answer written plainly, ``"2013, 2016"``, accepted in any order (every
    order up to three values; beyond that, the label's order only).
    """
    values = label_values(label)
    if values is None:
        return [label], None
    if len(values) == 1:
        return values, None
    orders = itertools.permutations(values) if len(values) <= 3 else [values]
    return [", ".join(o) for o in orders], values


def chartqa_record(query: Any, label: Any, image: bytes | Path, id_: str, origin: str) -> dict[str, Any]:
    """A chart question -> a direct-answer record (``label``: one label, or the hub's list of them)."""
    labels = label if isinstance(label, list) else [label]
    answers: list[str] = []
    several: list[str] | None = None
    for text in (str(a).strip() for a in labels if a is not None and str(a).strip()):
        forms, values = label_answers(text)
        answers += [f for f in forms if f not in answers]
        several = several or values
    if not answers:
        raise ValueError("missing or empty 'label'")
    row = {
        "id": id_,
        "question": text_field(query, "query"),
        "answer": answers if len(answers) > 1 else answers[0],
        "format": 1,
        "images": [image],
        "origin": origin,
    }
    if several:
        row["answer_values"] = several
    return row


def read_chartqa(src: Path, split: str) -> Iterator[SourceRow]:
    """Official (github vis-nlp/ChartQA): ``ChartQA Dataset/{split}/{split}_human.json`` and
    ``_augmented.json`` (imgname, query, label) with ``{split}/png/``; or HuggingFaceM4/ChartQA parquet
    (image, query, label list, human_or_machine). Checked: vis-nlp/ChartQA test_human.json; the
    HuggingFaceM4/ChartQA dataset card."""
    split_dir = first_existing([src / split, src / "ChartQA Dataset" / split])
    if split_dir is not None and (split_dir / f"{split}_human.json").is_file():
        for origin in ("human", "augmented"):
            path = split_dir / f"{split}_{origin}.json"
            if not path.is_file():
                continue
            for i, q in enumerate(stream_json(path), start=1):
                build = functools.partial(
                    _chartqa_official, q, split_dir / "png", f"chartqa-{split}-{origin}-{i}", origin
                )
                yield SourceRow(path, i, build)
        return
    files = split_parquets(src, (split,))
    if not files:
        raise layout_error(SOURCE, src, [f"{split}/{split}_human.json", f"data/{split}-*.parquet"])
    for n, (f, row, obj) in enumerate(parquet_rows(files), start=1):
        origin = {0: "human", 1: "augmented"}.get(obj.get("human_or_machine"), "unknown")
        image = obj.get("image")
        build = functools.partial(_chartqa_hub, obj, image, f.parent, f"chartqa-{split}-{n}", origin)
        yield SourceRow(f, row, build)


def _chartqa_official(q: Any, png: Path, id_: str, origin: str) -> dict[str, Any]:
    if not isinstance(q, dict):
        raise ValueError("expected an object with imgname, query, label")
    return chartqa_record(
        q.get("query"), q.get("label"), png / text_field(q.get("imgname"), "imgname"), id_, origin
    )


def _chartqa_hub(obj: dict, image: Any, base: Path, id_: str, origin: str) -> dict[str, Any]:
    return chartqa_record(obj.get("query"), obj.get("label"), image_value(image, base), id_, origin)


SOURCE = Source(
    "chartqa",
    read_chartqa,
    ("train", "val", "test"),
    download_command("HuggingFaceM4/ChartQA", "SRC") + "; or "
    "git clone https://github.com/vis-nlp/ChartQA and use 'ChartQA/ChartQA Dataset' as SRC",
    hub_repos=("HuggingFaceM4/ChartQA",),
)
