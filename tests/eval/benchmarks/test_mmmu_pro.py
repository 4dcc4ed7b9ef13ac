"""MMMU-Pro: standard (10 options) and vision."""

from __future__ import annotations

import pyarrow as pa

from avr.eval.benchmarks import (
    BENCHMARKS,
)
from avr.grading import is_correct
from tests.eval.benchmarks.layouts import (
    IMAGE,
    MMMU_COLUMNS,
    assert_skipped,
    decodes,
    img,
    mmmu_row,
    write_parquet,
)

MMMU_PRO_STANDARD = pa.schema([*MMMU_COLUMNS, ("subject", pa.string())])


MMMU_PRO_VISION = pa.schema(
    [
        ("id", pa.string()),
        ("image", IMAGE),
        ("options", pa.string()),
        ("answer", pa.string()),
        ("subject", pa.string()),
    ]
)


TEN = str([f"opt{i}" for i in range(10)])


def test_mmmu_pro(tmp_path):
    standard = mmmu_row("test_History_3", "<image 1> Who painted it?", TEN, "J", "", image_1=img())
    standard = {k: v for k, v in standard.items() if k not in ("question_type", "subfield")} | {
        "subject": "History"
    }
    write_parquet(
        tmp_path / "standard (10 options)" / "test-00000-of-00002.parquet", [standard], MMMU_PRO_STANDARD
    )
    vision = {"id": "test_History_3", "image": img(), "options": TEN, "answer": "J", "subject": "History"}
    write_parquet(tmp_path / "vision" / "test-00000-of-00004.parquet", [vision], MMMU_PRO_VISION)
    (s,) = BENCHMARKS["mmmu_pro"](tmp_path)
    assert len(s.choices) == 10 and s.answers == ["J"] and is_correct("opt9", s.answers, s.choices)
    assert s.meta["subject"] == "History" and s.meta["split"] == "standard (10 options)"
    (v,) = BENCHMARKS["mmmu_pro"](tmp_path, split="vision")
    assert (
        v.choices is None
        and v.answers == ["J"]
        and is_correct("(J)", v.answers)
        and v.meta["options"][0] == "opt0"
    )
    assert v.question and decodes(v.images[0])


def test_mmmu_pro_vision_answer_out_of_range(tmp_path):
    rows = [{"id": "a", "image": img(), "options": "['x', 'y']", "answer": "C", "subject": "Art"}]
    f = write_parquet(tmp_path / "vision" / "test-00000-of-00001.parquet", rows, MMMU_PRO_VISION)
    assert_skipped(BENCHMARKS["mmmu_pro"](tmp_path, split="vision"), f, 1, "not the letter")
