"""OCRBench."""

from __future__ import annotations

import pyarrow as pa

from avr.eval.benchmarks import (
    BENCHMARKS,
)
from avr.grading import is_correct
from tests.eval.benchmarks.layouts import IMAGE, assert_skipped, img, write_parquet

OCRBENCH = pa.schema(
    [
        ("dataset", pa.string()),
        ("question", pa.string()),
        ("question_type", pa.string()),
        ("answer", pa.list_(pa.string())),
        ("image", IMAGE),
    ]
)


def test_ocrbench(tmp_path):
    rows = [
        {
            "dataset": "IIIT5K",
            "question": "what is written in the image?",
            "question_type": "Regular Text Recognition",
            "answer": ["CENTRE", "centre"],
            "image": img(),
        },
        {
            "dataset": "HME100k",
            "question": "Write the expression.",
            "question_type": "HMER",
            "answer": ["x^2"],
            "image": img(),
        },
    ]
    write_parquet(tmp_path / "data" / "test-00000-of-00001.parquet", rows, OCRBENCH)
    word, formula = BENCHMARKS["ocrbench"](tmp_path)
    assert word.answers == ["CENTRE", "centre"] and is_correct("Centre", word.answers)
    assert word.meta["question_type"] == "Regular Text Recognition" and formula.meta["dataset"] == "HME100k"


def test_ocrbench_empty_answer_list(tmp_path):
    rows = [{"dataset": "IIIT5K", "question": "Q?", "question_type": "x", "answer": [], "image": img()}]
    f = write_parquet(tmp_path / "data" / "test-0.parquet", rows, OCRBENCH)
    assert_skipped(BENCHMARKS["ocrbench"](tmp_path), f, 1, "no gold answer")
