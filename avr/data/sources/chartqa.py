"""ChartQA: questions on charts, human-written and machine-generated, format 1."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from avr.data.records import RecordError
from avr.data.sources.common import (
    Source,
    SourceRow,
    first_existing,
    image_value,
    layout_error,
    load_json,
    parquet_rows,
    split_parquets,
    text_field,
)


def chartqa_record(query: Any, label: Any, image: bytes | Path, id_: str, origin: str) -> dict[str, Any]:
    """A chart question -> a direct-answer record (``label`` is one answer or a list of them)."""
    labels = label if isinstance(label, list) else [label]
    answers = [str(a).strip() for a in labels if a is not None and str(a).strip()]
    if not answers:
        raise ValueError("missing or empty 'label'")
    return {
        "id": id_,
        "question": text_field(query, "query"),
        "answer": answers if len(answers) > 1 else answers[0],
        "format": 1,
        "images": [image],
        "origin": origin,
    }


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
            data = load_json(path)
            if not isinstance(data, list):
                raise RecordError(path, None, "expected a JSON list")
            for i, q in enumerate(data, start=1):
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
    "huggingface-cli download HuggingFaceM4/ChartQA --repo-type dataset --local-dir SRC; or "
    "git clone https://github.com/vis-nlp/ChartQA and use 'ChartQA/ChartQA Dataset' as SRC",
    hub_repos=("HuggingFaceM4/ChartQA",),
)
