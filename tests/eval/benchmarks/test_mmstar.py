"""MMStar."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from avr.eval.benchmarks import (
    BENCHMARKS,
)
from avr.grading import is_correct
from tests.eval.benchmarks.layouts import IMAGE, assert_skipped, img, write_parquet

MMSTAR = pa.schema(
    [
        ("index", pa.int64()),
        ("question", pa.string()),
        ("image", IMAGE),
        ("answer", pa.string()),
        ("category", pa.string()),
        ("l2_category", pa.string()),
        (
            "meta_info",
            pa.struct([("source", pa.string()), ("split", pa.string()), ("image_path", pa.string())]),
        ),
    ]
)


def mmstar_row(index: int, question: str, answer: str, image: Any) -> dict[str, Any]:
    return {
        "index": index,
        "question": question,
        "image": image,
        "answer": answer,
        "category": "instance reasoning",
        "l2_category": "cross-instance relation reasoning",
        "meta_info": {"source": "MMBench", "split": "val", "image_path": f"images/{index}.jpg"},
    }


def test_mmstar(tmp_path):
    q = (
        "Which option describe the object relationship in the image correctly?\nOptions: A: The suitcase is on "
        "the book., B: The suitcase is beneath the cat., C: 3, 4, and 5, D: The suitcase is beneath the book."
    )
    rows = [mmstar_row(0, q, "A", img()), mmstar_row(1, "How many? Answer with a number.", "B", img())]
    write_parquet(tmp_path / "mmstar.parquet", rows, MMSTAR)
    parsed, kept = BENCHMARKS["mmstar"](tmp_path)
    assert parsed.question == "Which option describe the object relationship in the image correctly?"
    assert parsed.choices[0] == "The suitcase is on the book." and parsed.choices[2] == "3, 4, and 5"
    assert len(parsed.choices) == 4 and is_correct(
        "The suitcase is on the book", parsed.answers, parsed.choices
    )
    assert (parsed.id, parsed.meta["category"], parsed.meta["source"]) == (
        "0",
        "instance reasoning",
        "MMBench",
    )
    assert (
        kept.question == "How many? Answer with a number." and kept.choices is None and kept.answers == ["B"]
    )


def test_mmstar_missing_image(tmp_path):
    f = write_parquet(
        tmp_path / "mmstar.parquet", [mmstar_row(0, "Q?", "A", img()), mmstar_row(1, "Q?", "A", None)], MMSTAR
    )
    assert_skipped(BENCHMARKS["mmstar"](tmp_path), f, 2, "missing image")
