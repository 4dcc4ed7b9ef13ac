"""MMMU."""

from __future__ import annotations

import pyarrow as pa
import pytest

from avr.eval.benchmarks import (
    BENCHMARKS,
)
from avr.grading import is_correct
from tests.eval.benchmarks.layouts import MMMU_COLUMNS, assert_skipped, img, mmmu_row, write_parquet

MMMU = pa.schema([*MMMU_COLUMNS, ("question_type", pa.string()), ("subfield", pa.string())])


def test_mmmu(tmp_path):
    write_parquet(
        tmp_path / "Accounting" / "validation-00000-of-00001.parquet",
        [
            mmmu_row(
                "validation_Accounting_1",
                "<image 1> Baxter Company... what are the per unit overhead costs?",
                "['$6', '$7', '$8', '$9']",
                "B",
                "multiple-choice",
                image_1=img(),
            ),
            mmmu_row(
                "validation_Accounting_2",
                "Compare <image 2> with <image 1>. What is the ratio?",
                "[]",
                "['1.5', '3/2']",
                "open",
                image_1=img(),
                image_2=img((0, 0, 255)),
                image_3=img((0, 255, 0)),  # not referenced: not sent
            ),
        ],
        MMMU,
    )
    write_parquet(
        tmp_path / "Art" / "validation-00000-of-00001.parquet",
        [
            mmmu_row(
                "validation_Art_1",
                "Which style?",
                "['<image 1>', 'Baroque']",
                "A",
                "multiple-choice",
                image_1=img(),
            ),
            mmmu_row("validation_Art_2", "<image 1> Which range?", "[]", "[1, 2]", "open", image_1=img()),
        ],
        MMMU,
    )
    write_parquet(tmp_path / "Art" / "dev-00000-of-00001.parquet", [], MMMU)  # other splits are ignored
    mc, open_, art, interval = BENCHMARKS["mmmu"](tmp_path)
    assert mc.question.startswith("<image 1> Baxter") and mc.choices == ["$6", "$7", "$8", "$9"]
    assert (
        mc.answers == ["B"] and is_correct("$7", mc.answers, mc.choices) and mc.answer_type == "multi_choice"
    )
    assert mc.meta["subject"] == "Accounting" and mc.meta["question_type"] == "multiple-choice"
    assert open_.choices is None and open_.answers == ["1.5", "3/2"] and len(open_.images) == 2
    assert open_.images[1] == img((0, 0, 255))["bytes"] and is_correct("1.5", open_.answers)
    assert art.choices == ["<image 1>", "Baroque"] and art.meta["subject"] == "Art"
    assert interval.answers == ["[1, 2]"]  # a list of numbers is an interval, not a list of accepted forms
    with pytest.raises(ValueError, match="does not publish"):
        BENCHMARKS["mmmu"](tmp_path, split="test")


def test_mmmu_bad_rows(tmp_path):
    f = write_parquet(
        tmp_path / "Math" / "validation-00000-of-00001.parquet",
        [
            mmmu_row(
                "validation_Math_1", "x? <image 1>", "['1', '2']", "A", "multiple-choice", image_1=img()
            ),
            mmmu_row(
                "validation_Math_2", "x? <image 2>", "['1', '2']", "A", "multiple-choice", image_1=img()
            ),
        ],
        MMMU,
    )
    assert_skipped(BENCHMARKS["mmmu"](tmp_path), f, 2, "missing image_2")
    f = write_parquet(
        tmp_path / "Math" / "validation-00000-of-00001.parquet",
        [
            mmmu_row(
                "validation_Math_1", "x? <image 1>", "__import__('os')", "A", "multiple-choice", image_1=img()
            )
        ],
        MMMU,
    )
    assert_skipped(BENCHMARKS["mmmu"](tmp_path), f, 1, "not a list literal")
