"""ChartQA."""

from __future__ import annotations

import pyarrow as pa

from avr.eval.benchmarks import (
    BENCHMARKS,
)
from avr.grading import is_correct
from tests.eval.benchmarks.layouts import IMAGE, assert_skipped, decodes, img, png, write_json, write_parquet

CHARTQA = pa.schema(
    [("type", pa.string()), ("question", pa.string()), ("answer", pa.string()), ("image", IMAGE)]
)


def test_chartqa_lmms_lab(tmp_path):
    rows = [
        {"type": "human_test", "question": "How many bars exceed 20?", "answer": "3", "image": img()},
        {"type": "augmented_test", "question": "What is the max value?", "answer": "45.5", "image": img()},
    ]
    write_parquet(tmp_path / "data" / "test-00000-of-00001.parquet", rows, CHARTQA)
    human, augmented = BENCHMARKS["chartqa"](tmp_path)
    assert (human.id, human.answers, human.meta["type"]) == ("0", ["3"], "human")
    assert augmented.meta["type"] == "augmented" and is_correct("45.5", augmented.answers)


def test_chartqa_other_layouts(tmp_path):
    m4 = pa.schema(
        [
            ("image", IMAGE),
            ("query", pa.string()),
            ("label", pa.list_(pa.string())),
            ("human_or_machine", pa.int64()),
        ]
    )
    write_parquet(
        tmp_path / "m4" / "data" / "test-0.parquet",
        [{"image": img(), "query": "Q?", "label": ["7"], "human_or_machine": 1}],
        m4,
    )
    (item,) = BENCHMARKS["chartqa"](tmp_path / "m4")
    assert (item.question, item.answers, item.meta["type"]) == ("Q?", ["7"], "augmented")

    root = tmp_path / "authors" / "ChartQA Dataset" / "test"
    (root / "png").mkdir(parents=True)
    (root / "png" / "41699051005347.png").write_bytes(png())
    write_json(root / "test_human.json", [{"imgname": "41699051005347.png", "query": "Q1?", "label": "Yes"}])
    write_json(
        root / "test_augmented.json", [{"imgname": "41699051005347.png", "query": "Q2?", "label": "12"}]
    )
    human, augmented = BENCHMARKS["chartqa"](tmp_path / "authors")
    assert (human.id, human.meta["type"], augmented.id) == ("test_human-1", "human", "test_augmented-1")
    assert decodes(human.images[0])


def test_chartqa_empty_answer(tmp_path):
    rows = [{"type": "human_test", "question": "Q?", "answer": "  ", "image": img()}]
    f = write_parquet(tmp_path / "data" / "test-0.parquet", rows, CHARTQA)
    assert_skipped(BENCHMARKS["chartqa"](tmp_path), f, 1, "no gold answer")
