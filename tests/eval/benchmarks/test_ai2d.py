"""AI2D."""

from __future__ import annotations

from avr.eval.benchmarks import (
    BENCHMARKS,
)
from avr.grading import is_correct
from tests.eval.benchmarks.layouts import AI2D, assert_skipped, img, write_parquet


def test_ai2d(tmp_path):
    rows = [
        {
            "question": "Which stage is the egg?",
            "options": ["A", "B", "C", "D"],
            "answer": "2",
            "image": img(),
        },
        {"question": "What eats grass?", "options": ["deer", "hawk"], "answer": "0", "image": img()},
    ]
    write_parquet(tmp_path / "data" / "test-00000-of-00001.parquet", rows, AI2D)
    lettered, named = BENCHMARKS["ai2d"](tmp_path)
    assert lettered.answers == ["C"] and lettered.choices == ["A", "B", "C", "D"]
    assert is_correct("C", lettered.answers, lettered.choices) and not is_correct(
        "A", lettered.answers, lettered.choices
    )
    assert named.answers == ["A"] and is_correct("deer", named.answers, named.choices) and named.id == "1"


def test_ai2d_index_out_of_range(tmp_path):
    rows = [{"question": "Q?", "options": ["x", "y"], "answer": "2", "image": img()}]
    f = write_parquet(tmp_path / "data" / "test-0.parquet", rows, AI2D)
    assert_skipped(BENCHMARKS["ai2d"](tmp_path), f, 1, "0-based index")
