"""Breakdowns as VLMEvalKit reports them.

- MathVerse: ``MathVerse_acc`` (utils/mathverse.py) reads the ``metadata`` column (a dict written
  with single quotes) and reports each ``subject`` and ``subfield``.
- MMMU: ``report_acc`` (utils/multiple_choice.py) reports ``category`` and ``l2-category``.
- HallusionBench: ``Hallusion_rating`` (utils/yorn.py).
- A level pandas wrote as a float ("2.0", once a NaN made the column float) is level 2.
"""

from __future__ import annotations

import pytest

from avr.eval.benchmarks import aggregate, breakdown_fields, load_benchmark
from avr.eval.metrics import breakdown
from tests.eval.vlmevalkit_layout import b64, write_tsv


def test_mathverse_tsv_metadata_gives_subject_and_subfield(tmp_path):
    header = ["index", "question", "answer", "question_type", "problem_version", "metadata", "image"]
    meta = "{'split': 'testmini', 'source': 'GeoQA', 'subject': 'Plane Geometry', 'subfield': 'Angle'}"
    f = write_tsv(tmp_path / "MathVerse_MINI.tsv", header, [
        # a cell holding a line break is quoted, as pandas (csv.QUOTE_MINIMAL) writes it
        ["1", '"Find angle 2.\nChoices:\nA:50°\nB:65°"', "B", "multi-choice", "Text Lite", meta, b64()],
    ])  # fmt: skip
    (item,) = load_benchmark(f"mathverse={f}")
    assert (item.meta["subject"], item.meta["subfield"], item.meta["source"]) == (
        "Plane Geometry",
        "Angle",
        "GeoQA",
    )
    assert {"problem_version", "subject", "subfield"} <= set(breakdown_fields("mathverse"))
    rows = [{"meta": item.meta, "format": 1, "correct": True, "tokens": 5}]
    tables = breakdown(rows, breakdown_fields("mathverse"))
    assert tables["subfield"]["Angle"]["n"] == 1 and tables["subject"]["Plane Geometry"]["n"] == 1


def test_mmmu_breaks_down_by_l2_category(tmp_path):
    header = ["index", "question", "A", "B", "answer", "category", "l2-category", "split", "image"]
    f = write_tsv(tmp_path / "MMMU_DEV_VAL.tsv", header, [
        ["31", "<image 1> Which?", "x", "y", "A", "Art", "Art & Design", "validation", b64()],
    ])  # fmt: skip
    (item,) = load_benchmark(f"mmmu={f}")
    assert "l2_category" in breakdown_fields("mmmu") and item.meta["l2_category"] == "Art & Design"


def test_mmmu_parquet_gets_its_discipline_from_the_subject():
    """The HF parquet has no l2-category column; MMMU's own DOMAIN_CAT2SUB_CAT (mmmu/utils/data_utils.py)
    names each subject's discipline."""
    from avr.eval.benchmarks.mmmu import discipline

    assert discipline("Art_Theory") == "Art and Design" and discipline("Manage") == "Business"
    assert discipline("Unknown") is None


def _row(cat, l2, set_id, fig, q, correct, scoring="vlmevalkit"):
    meta = {"category": cat, "subcategory": l2, "set_id": set_id, "figure_id": fig, "question_id": q}
    return {"meta": meta, "correct": correct, "scoring": scoring}


HB_ROWS = [
    _row("VD", "ocr", "0", "0", "0", True), _row("VD", "ocr", "0", "0", "1", True),
    _row("VS", "ocr", "0", "0", "0", False),  # Hallusion_rating keys omit the category: VD's ocr_0_0 too
    _row("VS", "chart", "1", "0", "0", True),  # a VS figure "0": a figure group there all the same
    _row("VS", "chart", "1", "1", "0", True), _row("VS", "chart", "1", "1", "1", False),
]  # fmt: skip


def test_hallusionbench_follows_hallusion_rating():
    """fAcc groups by f"{l2-category}_{set_id}_{figure_id}", qAcc by f"{l2-category}_{set_id}_{question_id}",
    over all rows, then again within each category and each l2-category."""
    ref = aggregate("hallusionbench", HB_ROWS)
    # figures: ocr_0_0 [T, T, F] -> F; chart_1_0 [T] -> T; chart_1_1 [T, F] -> F
    # questions: ocr_0_0 [T, F] -> F; ocr_0_1 [T] -> T; chart_1_0 [T, T] -> T; chart_1_1 [F] -> F
    assert ref["aAcc"] == pytest.approx(4 / 6)
    assert ref["fAcc"] == pytest.approx(1 / 3)
    assert ref["qAcc"] == pytest.approx(2 / 4)
    by = ref["breakdown"]
    assert by["category"]["VD"] == pytest.approx({"aAcc": 1.0, "fAcc": 1.0, "qAcc": 1.0})
    # VS alone: ocr_0_0 [F]; chart_1_0 [T]; chart_1_1 [T, F] -> fAcc 1/3; questions ocr_0_0 [F], chart_1_0 [T, T], chart_1_1 [F]
    assert by["category"]["VS"] == pytest.approx({"aAcc": 2 / 4, "fAcc": 1 / 3, "qAcc": 1 / 3})
    assert by["l2-category"]["ocr"] == pytest.approx({"aAcc": 2 / 3, "fAcc": 0.0, "qAcc": 1 / 2})


def test_hallusionbench_official_keeps_the_authors_grouping():
    """tianyi-lab/HallusionBench utils.py get_eval_fig: keys carry the category, and a VS figure "0"
    (no figure) is no figure group."""
    ref = aggregate("hallusionbench", [{**r, "scoring": "official"} for r in HB_ROWS])
    # figures: VD_ocr_0_0 [T, T] -> T; VS_ocr_0_0 and VS_chart_1_0 skipped; VS_chart_1_1 [T, F] -> F
    assert ref["fAcc"] == pytest.approx(1 / 2)


@pytest.mark.parametrize("values", [[2, "2", 2.0, "2.0"], ["3", " 3.0 ", 3.0]])
def test_levels_written_as_floats_are_one_bucket(values):
    rows = [{"meta": {"level": v}, "format": 1, "correct": True, "tokens": 1} for v in values]
    (bucket,) = breakdown(rows, ["level"])["level"].items()
    assert bucket[1]["n"] == len(values)


def test_mathvision_tsv_level_after_a_nan(tmp_path):
    header = ["index", "question", "choices", "answer", "category", "level", "image"]
    f = write_tsv(tmp_path / "MathVision.tsv", header, [
        ["4", "Area?", "[]", "12", "metric geometry - area", "2.0", b64()],
        ["5", "Angle?", "[]", "30", "metric geometry - angle", "", b64()],
        ["6", "Length?", "[]", "3", "metric geometry - length", "2", b64()],
    ])  # fmt: skip
    items = load_benchmark(f"mathvision={f}")
    rows = [{"meta": i.meta, "format": 1, "correct": True, "tokens": 1} for i in items]
    assert list(breakdown(rows, ["level"])["level"]) == ["2"]
