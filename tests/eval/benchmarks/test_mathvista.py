"""MathVista: the HF parquet and the authors' JSON; bad rows named and skipped."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from avr.eval.benchmarks import (
    BENCHMARKS,
)
from avr.grading import is_correct
from tests.eval.benchmarks.layouts import IMAGE, assert_skipped, decodes, img, write_parquet

MATHVISTA = pa.schema(
    [
        ("pid", pa.string()),
        ("question", pa.string()),
        ("image", pa.string()),
        ("decoded_image", IMAGE),
        ("choices", pa.list_(pa.string())),
        ("unit", pa.string()),
        ("precision", pa.float64()),
        ("answer", pa.string()),
        ("question_type", pa.string()),
        ("answer_type", pa.string()),
        (
            "metadata",
            pa.struct(
                [
                    ("category", pa.string()),
                    ("context", pa.string()),
                    ("grade", pa.string()),
                    ("img_height", pa.int64()),
                    ("img_width", pa.int64()),
                    ("language", pa.string()),
                    ("skills", pa.list_(pa.string())),
                    ("source", pa.string()),
                    ("split", pa.string()),
                    ("task", pa.string()),
                ]
            ),
        ),
        ("query", pa.string()),
    ]
)


def mathvista_row(pid: str, **kw: Any) -> dict[str, Any]:
    meta = {
        "category": "math-targeted-vqa",
        "context": "geometry diagram",
        "grade": "high school",
        "img_height": 4,
        "img_width": 6,
        "language": "english",
        "skills": ["geometry reasoning", "algebraic reasoning"],
        "source": "Geometry3K",
        "split": "testmini",
        "task": "geometry problem solving",
    }
    row = {
        "pid": pid,
        "question": "What is x?",
        "image": f"images/{pid}.jpg",
        "decoded_image": img(),
        "choices": None,
        "unit": None,
        "precision": None,
        "answer": "3",
        "question_type": "free_form",
        "answer_type": "integer",
        "metadata": meta,
        "query": "Hint: Please answer the question requiring an integer answer...\nQuestion: What is x?",
    }
    return {**row, **kw}


def test_mathvista(tmp_path):
    rows = [
        mathvista_row(
            "1",
            question="Find the angle.",
            choices=["30°", "145°", "60°"],
            answer="145°",
            question_type="multi_choice",
            answer_type="text",
        ),
        mathvista_row("2", answer="1.45", answer_type="float", precision=2.0, unit="cm"),
        mathvista_row("3"),
    ]
    write_parquet(tmp_path / "data" / "testmini-00000-of-00001-725687bf7a18d64b.parquet", rows, MATHVISTA)
    mc, flt, integer = BENCHMARKS["mathvista"](tmp_path)
    assert (mc.id, mc.benchmark, mc.question) == ("1", "mathvista", "Find the angle.")
    assert (
        mc.choices == ["30°", "145°", "60°"] and mc.answers == ["145°"] and mc.answer_type == "multi_choice"
    )
    assert is_correct("B", mc.answers, mc.choices) and is_correct("145°", mc.answers, mc.choices)
    assert not is_correct("A", mc.answers, mc.choices)
    assert mc.meta["question_type"] == "multi_choice" and mc.meta["skills"] == [
        "geometry reasoning",
        "algebraic reasoning",
    ]
    assert (flt.answer_type, flt.precision, flt.unit, flt.choices) == ("float", 2, "cm", None)
    assert is_correct("1.45", flt.answers) and integer.precision is None and integer.answer_type == "integer"
    assert integer.meta["query"].startswith("Hint:") and integer.meta["split"] == "testmini"
    assert all(decodes(i.images[0]) for i in (mc, flt, integer))


def test_mathvista_bad_rows(tmp_path):
    # the JSON-era layout: no decoded bytes, an image path that is not there
    f = write_parquet(
        tmp_path / "data" / "testmini-0.parquet",
        [mathvista_row("1"), mathvista_row("2", decoded_image=None, image="images/2.jpg")],
        MATHVISTA,
    )
    assert_skipped(BENCHMARKS["mathvista"](tmp_path), f, 2, "image not found")

    f = write_parquet(tmp_path / "data" / "testmini-0.parquet", [mathvista_row("1", answer="")], MATHVISTA)
    assert_skipped(BENCHMARKS["mathvista"](tmp_path), f, 1, "no gold answer")

    with pytest.raises(ValueError, match="does not publish its answers"):
        BENCHMARKS["mathvista"](tmp_path, split="test")
