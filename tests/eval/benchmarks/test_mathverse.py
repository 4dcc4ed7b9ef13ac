"""MathVerse."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from avr.eval.benchmarks import (
    BENCHMARKS,
)
from avr.grading import is_correct
from tests.eval.benchmarks.layouts import CORRUPT, IMAGE, assert_skipped, decodes, img, write_parquet

MATHVERSE = pa.schema(
    [
        ("sample_index", pa.string()),
        ("problem_index", pa.string()),
        ("problem_version", pa.string()),
        ("question", pa.string()),
        ("image", IMAGE),
        ("answer", pa.string()),
        ("question_type", pa.string()),
        (
            "metadata",
            pa.struct(
                [
                    ("split", pa.string()),
                    ("source", pa.string()),
                    ("subject", pa.string()),
                    ("subfield", pa.string()),
                ]
            ),
        ),
        ("query_wo", pa.string()),
        ("query_cot", pa.string()),
        ("question_for_eval", pa.string()),
    ]
)


def mathverse_row(
    index: str, version: str, question: str, answer: str, qtype: str, **kw: Any
) -> dict[str, Any]:
    meta = {"split": "testmini", "source": "GeoQA", "subject": "Plane Geometry", "subfield": "Angle"}
    return {
        "sample_index": index,
        "problem_index": "2",
        "problem_version": version,
        "question": question,
        "image": img(),
        "answer": answer,
        "question_type": qtype,
        "metadata": meta,
        "query_wo": "Please directly answer the question...",
        "query_cot": "Please first conduct reasoning...",
        "question_for_eval": question,
        **kw,
    }


def test_mathverse(tmp_path):
    mc_q = "As shown in the figure, AB parallel CD, then angle 2 is equal to ()\nChoices:\nA:50°\nB:60°\nC:65°\nD:90°"
    rows = [
        mathverse_row("9", "Vision Dominant", mc_q, "C", "multi-choice"),
        mathverse_row("3421", "Text Dominant", "The radius is 3 cm. Find L.", "14", "free-form"),
        mathverse_row("3425", "Vision Only", "", "14", "free-form"),
    ]
    write_parquet(tmp_path / "testmini.parquet", rows, MATHVERSE)
    mc, free, vision = BENCHMARKS["mathverse"](tmp_path)
    assert mc.question == "As shown in the figure, AB parallel CD, then angle 2 is equal to ()"
    assert (
        mc.choices == ["50°", "60°", "65°", "90°"]
        and mc.answers == ["C"]
        and mc.answer_type == "multi_choice"
    )
    assert is_correct("C", mc.answers, mc.choices) and is_correct("65°", mc.answers, mc.choices)
    assert (free.choices, free.answers, free.answer_type) == (None, ["14"], None)
    assert vision.question and vision.meta["problem_version"] == "Vision Only"
    assert mc.meta["subject"] == "Plane Geometry" and decodes(vision.images[0])


def test_mathverse_several_correct_letters_load(tmp_path):
    q = "Which are right?\nChoices:\nA:1\nB:2\nC:3\nD:4"
    rows = [
        mathverse_row("1", "Text Lite", q, "A, B", "multi-choice"),
        mathverse_row("2", "Text Lite", q, "BD", "multi-choice"),
        mathverse_row("3", "Text Lite", q, "F", "multi-choice"),  # no option F: skipped, the rest loads
    ]
    f = write_parquet(tmp_path / "testmini.parquet", rows, MATHVERSE)
    items = BENCHMARKS["mathverse"](tmp_path)
    assert [i.answers for i in items] == [["A, B"], ["BD"]] and items[0].choices == ["1", "2", "3", "4"]
    assert_skipped(items, f, 3, "neither an option letter")


def test_mathverse_corrupt_image(tmp_path):
    rows = [mathverse_row("1", "Text Lite", "Find x.", "2", "free-form", image=CORRUPT)]
    f = write_parquet(tmp_path / "testmini.parquet", rows, MATHVERSE)
    assert_skipped(BENCHMARKS["mathverse"](tmp_path), f, 1, "does not decode")
