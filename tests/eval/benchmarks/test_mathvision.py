"""MATH-V (MathVision)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from avr.eval.benchmarks import (
    BENCHMARKS,
)
from avr.grading import is_correct
from tests.eval.benchmarks.layouts import IMAGE, assert_skipped, img, write_parquet

MATHVISION = pa.schema(
    [
        ("id", pa.string()),
        ("question", pa.string()),
        ("options", pa.list_(pa.string())),
        ("image", pa.string()),
        ("decoded_image", IMAGE),
        ("answer", pa.string()),
        ("solution", pa.string()),
        ("level", pa.int64()),
        ("subject", pa.string()),
    ]
)


def mathvision_row(i: str, options: list[str], answer: str) -> dict[str, Any]:
    return {
        "id": i,
        "question": "<image1>\nWhich shape comes next?",
        "options": options,
        "image": f"images/{i}.jpg",
        "decoded_image": img(),
        "answer": answer,
        "solution": None,
        "level": 2,
        "subject": "logic",
    }


def test_mathvision_splits(tmp_path):
    write_parquet(
        tmp_path / "data" / "test-00000-of-00001.parquet",
        [mathvision_row("1", ["1", "2", "3", "4", "5"], "D"), mathvision_row("2", [], "2\\sqrt{3}")],
        MATHVISION,
    )
    write_parquet(
        tmp_path / "data" / "testmini-00000-of-00001.parquet", [mathvision_row("7", [], "12")], MATHVISION
    )
    mc, free = BENCHMARKS["mathvision"](tmp_path)
    assert (
        mc.choices == ["1", "2", "3", "4", "5"]
        and mc.answers == ["D"]
        and is_correct("(D)", mc.answers, mc.choices)
    )
    assert (
        free.choices is None
        and free.answers == ["2\\sqrt{3}"]
        and free.meta
        == {
            "split": "test",
            "subject": "logic",
            "level": 2,
        }
    )
    (mini,) = BENCHMARKS["mathvision"](tmp_path, split="testmini")
    assert mini.id == "7" and mini.meta["split"] == "testmini"


def test_mathvision_answer_outside_options(tmp_path):
    f = write_parquet(
        tmp_path / "data" / "test-0.parquet",
        [mathvision_row("1", ["1", "2"], "A"), mathvision_row("2", ["1", "2", "3"], "E")],
        MATHVISION,
    )
    assert_skipped(BENCHMARKS["mathvision"](tmp_path), f, 2, "neither an option letter")
