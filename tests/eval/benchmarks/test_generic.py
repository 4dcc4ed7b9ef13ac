"""Generic sets: JSONL or parquet records as benchmarks."""

from __future__ import annotations

import json

import pyarrow as pa

from avr.eval.benchmarks import (
    load_benchmark,
)
from avr.grading import is_correct
from tests.eval.benchmarks.layouts import IMAGE, assert_skipped, img, png, write_parquet


def test_generic_jsonl(tmp_path):
    (tmp_path / "a.png").write_bytes(png())
    rows = [
        {
            "id": "q1",
            "question": "Pick.",
            "image": "a.png",
            "answer": "B",
            "choices": ["x", "y"],
            "topic": "t",
        },
        {
            "question": "Length?",
            "images": ["a.png", "a.png"],
            "answer": [1.5, "3/2"],
            "answer_type": "float",
            "precision": 1,
            "unit": "cm",
        },
    ]
    (tmp_path / "mine.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    mc, num = load_benchmark(f"mybench={tmp_path / 'mine.jsonl'}")
    assert (mc.benchmark, mc.id, mc.choices, mc.meta) == ("mybench", "q1", ["x", "y"], {"topic": "t"})
    assert is_correct("y", mc.answers, mc.choices)
    assert (num.id, num.answers, num.answer_type, num.precision, num.unit) == (
        "mine-2",
        ["1.5", "3/2"],
        "float",
        1,
        "cm",
    )
    assert len(num.images) == 2


def test_generic_parquet_and_bad_row(tmp_path):
    schema = pa.schema([("question", pa.string()), ("image", IMAGE), ("answer", pa.string())])
    f = write_parquet(tmp_path / "g.parquet", [{"question": "Q?", "image": img(), "answer": "4"}] * 2, schema)
    items = load_benchmark(f"generic={f}")
    assert [i.id for i in items] == ["g-1", "g-2"] and items[0].benchmark == "generic"
    f = write_parquet(
        tmp_path / "g.parquet",
        [{"question": "Q?", "image": img(), "answer": "4"}, {"question": "", "image": img(), "answer": "4"}],
        schema,
    )
    assert_skipped(load_benchmark(f"generic={f}"), f, 2, "question")


def test_duplicate_ids_are_an_error(tmp_path):
    schema = pa.schema(
        [("id", pa.string()), ("question", pa.string()), ("image", IMAGE), ("answer", pa.string())]
    )
    f = write_parquet(
        tmp_path / "g.parquet", [{"id": "same", "question": "Q?", "image": img(), "answer": "1"}] * 2, schema
    )
    assert_skipped(load_benchmark(f"g={f}"), f, 2, "duplicate id")
