"""VLMEvalKit's TSV of each benchmark (base64 images, option columns, answer, category)."""

from __future__ import annotations

from typing import Any

from avr.eval.benchmarks import (
    Loaded,
    load_benchmark,
)
from tests.eval.benchmarks.layouts import assert_skipped, b64, decodes, write_tsv


def test_vlmevalkit_tsv_multiple_choice(tmp_path):
    rows = [
        {"index": 0, "question": "What colour?", "hint": "Look closely.", "A": "red", "B": "blue", "C": "green",
         "D": None, "answer": "A", "category": "coarse perception", "l2-category": "color", "image": b64()},
        {"index": 1, "question": "Which shape?", "hint": None, "A": "circle", "B": "square", "C": None, "D": None,
         "answer": "B", "category": "fine-grained perception", "l2-category": "shape", "image": "0"},  # index 0's image
        {"index": 2, "question": "Broken?", "hint": None, "A": "x", "B": "y", "C": None, "D": None, "answer": "A",
         "category": "c", "l2-category": "d", "image": "!" * 80},  # not base64
        {"index": 3, "question": "Out of range?", "hint": None, "A": "x", "B": "y", "C": None, "D": None,
         "answer": "D", "category": "c", "l2-category": "d", "image": b64()},
    ]  # fmt: skip
    f = write_tsv(tmp_path / "MMStar.tsv", rows)
    items = load_benchmark(f"mmstar={f}")
    assert [i.id for i in items] == ["0", "1", "3"]  # a gold letter that is no option stays: a miss
    first, second, _ = items
    assert first.question == "Hint: Look closely.\nWhat colour?" and first.choices == ["red", "blue", "green"]
    assert first.answers == ["A"] and first.meta["category"] == "coarse perception"
    assert (
        first.meta["l2_category"] == "color" and second.images == first.images and decodes(second.images[0])
    )
    assert_skipped(items, f, 4, "image")  # TSV rows are numbered from 1 with the header as row 1


def test_vlmevalkit_tsv_per_benchmark_columns(tmp_path):
    two_images = str([b64(), b64((0, 0, 255))])
    hb = write_tsv(tmp_path / "HallusionBench.tsv", [
        {"index": "VD_illusion_x_0_1_2", "question": "Is it?", "answer": "Yes", "category": "VD",
         "l2-category": "illusion", "image": b64()},
    ])  # fmt: skip
    (item,) = load_benchmark(f"hallusionbench={hb}")
    assert item.answers == ["yes"] and (item.meta["set_id"], item.meta["figure_id"], item.meta["question_id"]) == (
        "0", "1", "2",
    )  # fmt: skip
    ocr = write_tsv(tmp_path / "OCRBench.tsv", [
        {"index": 0, "question": "What is written?", "answer": "['CENTRE', 'centre']",
         "category": "Regular Text Recognition", "image": two_images},
    ])  # fmt: skip
    (item,) = load_benchmark(f"ocrbench={ocr}")
    assert item.answers == ["CENTRE", "centre"] and len(item.images) == 2
    assert item.meta["question_type"] == "Regular Text Recognition"
    mv = write_tsv(tmp_path / "MathVista_MINI.tsv", [
        {"index": 1, "question": "Find the angle.", "answer": "145°", "choices": "['30°', '145°', '60°']",
         "answer_option": "B", "question_type": "multi_choice", "answer_type": "text", "precision": None,
         "task": "geometry problem solving", "skills": "['geometry reasoning']", "image": b64()},
        {"index": 2, "question": "How long?", "answer": "1.45", "choices": "[]", "question_type": "free_form",
         "answer_type": "float", "precision": 2.0, "task": "figure QA", "skills": "['arithmetic reasoning']",
         "image": b64()},
    ])  # fmt: skip
    mc, flt = load_benchmark(f"mathvista={mv}")
    assert mc.choices == ["30°", "145°", "60°"] and mc.meta["skills"] == ["geometry reasoning"]
    assert (flt.choices, flt.answer_type, flt.precision) == (None, "float", 2)


def test_vlmevalkit_tsv_of_the_other_benchmarks(tmp_path):
    """ChartQA, AI2D, MMMU, MMMU-Pro, MathVerse, MATH-V and LogicVista from their VLMEvalKit TSVs."""
    from avr.eval.modes import Mode
    from avr.eval.runner import _prediction
    from avr.eval.scoring import score_prediction

    def one(name: str, rows: list[dict[str, Any]]) -> Loaded:
        items = load_benchmark(f"{name}={write_tsv(tmp_path / f'{name}.tsv', rows)}")
        assert not items.skipped and len(items) == len(rows)
        return items

    (chart,) = one("chartqa", [
        {"index": 0, "question": "What is the peak?", "answer": "45", "split": "human", "image": b64()},
    ])  # fmt: skip
    assert chart.answers == ["45"] and chart.meta["type"] == "human" and decodes(chart.images[0])
    (ai2d,) = one("ai2d", [
        {"index": 3, "question": "Which stage comes first?", "A": "egg", "B": "larva", "C": "adult", "D": "pupa",
         "answer": "A", "category": "life cycles", "image": b64()},
    ])  # fmt: skip
    assert (ai2d.choices, ai2d.answers, ai2d.meta["category"]) == (
        ["egg", "larva", "adult", "pupa"],
        ["A"],
        "life cycles",
    )
    mc, open_q = one("mmmu", [
        {"index": "validation_Art_1", "question": "<image 1> Which style?", "A": "Baroque", "B": "Gothic",
         "answer": "B", "category": "Art", "image": b64()},
        {"index": "validation_Math_2", "question": "<image 1> Find x.", "A": None, "B": None, "answer": "3.5",
         "category": "Math", "image": b64()},
    ])  # fmt: skip
    assert mc.choices == ["Baroque", "Gothic"] and mc.meta["question_type"] == "multiple-choice"
    assert (
        open_q.choices is None and open_q.meta["question_type"] == "open" and open_q.meta["subject"] == "Math"
    )
    (pro,) = one("mmmu_pro", [
        {"index": 7, "question": "Pick one", **{L: f"o{i}" for i, L in enumerate("ABCDEFGHIJ")}, "answer": "J",
         "category": "Art", "image": b64()},
    ])  # fmt: skip
    assert len(pro.choices) == 10 and pro.answers == ["J"]
    verse_mc, verse_vision = one("mathverse", [
        {"index": 1, "question": "Find angle 2.\nChoices:\nA:50°\nB:60°\nC:65°\nD:90°", "answer": "C",
         "problem_version": "Text Lite", "image": b64()},
        {"index": 2, "question": "", "answer": "14", "problem_version": "Vision Only", "image": b64()},
    ])  # fmt: skip
    assert (verse_mc.question, verse_mc.choices) == ("Find angle 2.", ["50°", "60°", "65°", "90°"])
    assert verse_vision.question and verse_vision.meta["problem_version"] == "Vision Only"
    mathv_mc, mathv_free = one("mathvision", [
        {"index": 4, "question": "Which is bigger?", "choices": "['1', '2', '3', '4', '5']", "answer": "D",
         "category": "arithmetic", "image": b64()},
        {"index": 5, "question": "Find the area.", "choices": "[]", "answer": "12",
         "category": "metric geometry - area", "image": b64()},
    ])  # fmt: skip
    assert mathv_mc.choices == ["1", "2", "3", "4", "5"] and mathv_mc.meta["subject"] == "arithmetic"
    assert mathv_free.choices is None and mathv_free.answer_type is None
    letters, digit = one("logicvista", [
        {"index": 0, "question": "Which two fit?", "answer": "A, C", "skill": "inductive", "image": b64()},
        {"index": 1, "question": "How many?", "answer": "3", "skill": "numerical", "image": b64()},
    ])  # fmt: skip
    assert (letters.answer_type, digit.answer_type, letters.meta["skill"]) == ("letters", None, "inductive")
    # graded as from the authors' JSON, in every profile
    pred = _prediction(
        letters, {"response": "<answer>C, A</answer>", "tokens": 3, "levels": 1}, Mode("adaptive")
    )
    assert all(score_prediction(pred, profile=p)["correct"] for p in ("vlmevalkit", "official", "strict"))


def test_vlmevalkit_tsv_of_an_unregistered_benchmark(tmp_path):
    f = write_tsv(tmp_path / "Other.tsv", [
        {"index": 7, "question": "Q?", "A": "yes", "B": "no", "answer": "B", "image": b64()},
        {"index": 8, "question": "How many?", "A": None, "B": None, "answer": "3", "image": b64()},
    ])  # fmt: skip
    mc, free = load_benchmark(f"other={f}")
    assert (mc.benchmark, mc.id, mc.choices, mc.answers) == ("other", "7", ["yes", "no"], ["B"])
    assert free.choices is None and free.answers == ["3"]
