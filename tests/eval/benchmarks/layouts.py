"""Benchmark fixtures written by hand in each published layout: images, parquet, JSON, VLMEvalKit TSVs
(written as pandas writes them), and the check that a bad row was skipped and named."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from avr.eval.benchmarks import (
    Loaded,
)

IMAGE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])


def png(color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (6, 4), color).save(buf, format="PNG")
    return buf.getvalue()


def img(color: tuple[int, int, int] = (200, 30, 30), name: str = "x.png") -> dict[str, Any]:
    return {"bytes": png(color), "path": name}


CORRUPT = {"bytes": png()[:40], "path": "broken.png"}  # a PNG header cut short: opens, fails to decode


def write_parquet(path: Path, rows: list[dict[str, Any]], schema: pa.Schema) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def decodes(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
    return True


def assert_skipped(loaded: Loaded, file: Path, row: int, words: str) -> None:
    """The bad row is skipped and listed with its file, row and reason; the other rows still load."""
    bad = [s for s in loaded.skipped if s.row == row]
    assert len(bad) == 1 and Path(bad[0].file).name == file.name, loaded.skipped
    assert words in bad[0].reason, bad[0].reason
    assert all(item.id for item in loaded)


def b64(color: tuple[int, int, int] = (200, 30, 30)) -> str:
    import base64

    return base64.b64encode(png(color)).decode()


def write_tsv(path: Path, rows: list[dict[str, Any]]) -> Path:
    """As VLMEvalKit writes its files: pandas, tab-separated, no index column."""
    import pandas as pd

    pd.DataFrame(rows).to_csv(path, sep="\t", index=False)
    return path


MMMU_COLUMNS = [
    ("id", pa.string()),
    ("question", pa.string()),
    ("options", pa.string()),
    ("explanation", pa.string()),
    *[(f"image_{k}", IMAGE) for k in range(1, 8)],
    ("img_type", pa.string()),
    ("answer", pa.string()),
    ("topic_difficulty", pa.string()),
]


def mmmu_row(i: str, question: str, options: str, answer: str, qtype: str, **images: Any) -> dict[str, Any]:
    row = {
        "id": i,
        "question": question,
        "options": options,
        "explanation": "",
        "img_type": "['Tables']",
        "answer": answer,
        "topic_difficulty": "Medium",
        "question_type": qtype,
        "subfield": "Managerial Accounting",
    }
    return {**row, **{f"image_{k}": None for k in range(1, 8)}, **images}


AI2D = pa.schema(
    [("question", pa.string()), ("options", pa.list_(pa.string())), ("answer", pa.string()), ("image", IMAGE)]
)
