"""Geometry3K: geometry problems with a diagram, from the InterGPS release (multiple choice) or the
hiyouga/geometry3k parquet (free-form answer values); format 1.

Real files checked: the ten problems InterGPS publishes unzipped (lupantech/InterGPS,
``annotation_tool/data_collection/data_examples/11..20/data.json`` + ``img_diagram.png``, laid out as
``train/<id>/``): 10 rows, none skipped; LaTeX choices (``5 \\sqrt { 2 }``, ``\\frac { \\sqrt { 2 } } { 10 }``)
and letter answers come through as published. The release zips and the hub parquet were out of reach.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from avr.data.sources.common import (
    Source,
    SourceRow,
    first_existing,
    image_value,
    layout_error,
    letter_answer,
    parquet_rows,
    split_parquets,
    text_field,
)
from avr.formats import OPTION_LETTERS
from avr.hub import download_command


def geometry3k_official_record(data: dict[str, Any], problem_dir: Path) -> dict[str, Any]:
    """InterGPS ``data.json`` (problem_text, choices, answer letter) -> a multiple-choice record."""
    choices = data.get("choices")
    if not isinstance(choices, list) or len(choices) < 2:
        raise ValueError("'choices' must list the options")
    answer = letter_answer(text_field(data.get("answer"), "answer"), len(choices))
    if answer not in OPTION_LETTERS[: len(choices)]:
        raise ValueError(f"answer {answer!r} is not an option letter")
    return {
        "id": f"geometry3k-{data.get('id', problem_dir.name)}",
        "question": text_field(data.get("problem_text"), "problem_text"),
        "answer": answer,
        "choices": [str(c) for c in choices],
        "format": 1,
        "images": [problem_dir / "img_diagram.png"],
    }


def geometry3k_hub_record(obj: dict[str, Any], base: Path, id_: str) -> dict[str, Any]:
    """hiyouga/geometry3k (images, problem with ``<image>``, answer value) -> a free-form record."""
    images = obj.get("images")
    if not isinstance(images, list) or not images:
        raise ValueError("row has no images")
    return {
        "id": id_,
        "question": text_field(obj.get("problem"), "problem").replace("<image>", "").strip(),
        "answer": text_field(str(obj.get("answer") or ""), "answer"),
        "format": 1,
        "images": [image_value(v, base) for v in images],
    }


def read_geometry3k(src: Path, split: str) -> Iterator[SourceRow]:
    """InterGPS release: ``{src}/{split}/{id}/data.json`` + ``img_diagram.png``; or hiyouga/geometry3k
    parquet (``data/{train,validation,test}-*.parquet``: images, problem, answer). Checked: InterGPS
    loaders reading data.json (problem_text, choices, answer letter); hiyouga/geometry3k users (EasyR1)."""
    split_dir = first_existing([src / split, src / "geometry3k" / split, src / "data" / "geometry3k" / split])
    if split_dir is not None and split_dir.is_dir():
        dirs = [d for d in split_dir.iterdir() if (d / "data.json").is_file()]
        dirs.sort(key=lambda d: (not d.name.isdigit(), int(d.name) if d.name.isdigit() else 0, d.name))
        for d in dirs:  # one problem per folder: its data.json is the file, row 1
            yield SourceRow(d / "data.json", 1, functools.partial(_geometry3k_dir, d))
        return
    aliases = (split, "validation") if split == "val" else (split,)
    files = split_parquets(src, aliases)
    if not files:
        raise layout_error(SOURCE, src, [f"{split}/<id>/data.json", f"data/{split}-*.parquet"])
    for n, (f, row, obj) in enumerate(parquet_rows(files), start=1):
        yield SourceRow(
            f, row, functools.partial(geometry3k_hub_record, obj, f.parent, f"geometry3k-{split}-{n}")
        )


def _geometry3k_dir(d: Path) -> dict[str, Any]:
    data = json.loads((d / "data.json").read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("data.json is not an object")
    return geometry3k_official_record(data, d)


SOURCE = Source(
    "geometry3k",
    read_geometry3k,
    ("train", "val", "test"),
    download_command("hiyouga/geometry3k", "SRC") + "; or the InterGPS "
    "release (github.com/lupantech/InterGPS: data/geometry3k/{train,val,test}/<id>/) as SRC",
    hub_repos=("hiyouga/geometry3k",),
)
