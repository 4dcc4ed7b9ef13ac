"""HallusionBench."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from avr.eval.benchmarks import (
    BENCHMARKS,
)
from avr.grading import is_correct
from tests.eval.benchmarks.layouts import IMAGE, assert_skipped, decodes, img, png, write_json, write_parquet

HB_KEYS = ["category", "subcategory", "visual_input", "set_id", "figure_id", "sample_note", "question_id"]


HALLUSION = pa.schema(
    [
        *[(k, pa.string()) for k in HB_KEYS],
        ("question", pa.string()),
        ("gt_answer_details", pa.string()),
        ("gt_answer", pa.string()),
        ("filename", pa.string()),
        ("image", IMAGE),
    ]
)


def hb_row(question_id: str, gt: str, visual_input: str = "1", image: Any = None) -> dict[str, Any]:
    return {
        "category": "VD",
        "subcategory": "illusion",
        "visual_input": visual_input,
        "set_id": "0",
        "figure_id": "0",
        "sample_note": "circle",
        "question_id": question_id,
        "question": "Is the right orange circle the same size as the left orange circle?",
        "gt_answer_details": "The right orange circle is the same size as the left orange circle.",
        "gt_answer": gt,
        "filename": "./hallusion_bench/VD/illusion/0_0.png",
        "image": image,
    }


def test_hallusionbench(tmp_path):
    rows = [hb_row("0", "1", image=img()), hb_row("1", "0", image=img())]
    write_parquet(tmp_path / "data" / "image-00000-of-00001.parquet", rows, HALLUSION)
    write_parquet(tmp_path / "data" / "non_image-00000-of-00001.parquet", [hb_row("2", "0", "0")], HALLUSION)
    yes, no = BENCHMARKS["hallusionbench"](tmp_path)
    assert yes.answers == ["yes"] and no.answers == ["no"] and yes.answer_type == "yes_no"
    assert yes.id == "VD_illusion_0_0_0" and yes.meta["subcategory"] == "illusion"
    assert is_correct("Yes", yes.answers) and not is_correct("Yes", no.answers)


def test_hallusionbench_authors_json(tmp_path):
    (tmp_path / "hallusion_bench" / "VD" / "illusion").mkdir(parents=True)
    (tmp_path / "hallusion_bench" / "VD" / "illusion" / "0_0.png").write_bytes(png())
    no_figure = {**hb_row("2", "0", "0"), "filename": None}
    rows = [{k: v for k, v in r.items() if k != "image"} for r in (hb_row("0", "1"), no_figure)]
    write_json(tmp_path / "HallusionBench.json", rows)
    (item,) = BENCHMARKS["hallusionbench"](tmp_path)  # the visual_input "0" row is the non_image split
    assert item.answers == ["yes"] and decodes(item.images[0])


def test_hallusionbench_bad_gt(tmp_path):
    f = write_parquet(tmp_path / "data" / "image-0.parquet", [hb_row("0", "2", image=img())], HALLUSION)
    assert_skipped(BENCHMARKS["hallusionbench"](tmp_path), f, 1, "gt_answer")
