"""Benchmark loaders: each reads a tiny fixture written in the benchmark's real published layout.

The fixtures use the real file names, column names and column types (image structs, Python-list
option strings, option indices...) so that a loader that passes here reads the downloaded data.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from avr.eval.benchmarks import (
    BENCHMARKS,
    BenchmarkNotFound,
    Loaded,
    load_benchmark,
    parse_spec,
    split_options,
)
from avr.grading import is_correct

IMAGE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])


def png(color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (6, 4), color).save(buf, format="PNG")
    return buf.getvalue()


def img(color: tuple[int, int, int] = (200, 30, 30), name: str = "x.png") -> dict[str, Any]:
    return {"bytes": png(color), "path": name}


CORRUPT = {"bytes": png()[:40], "path": "broken.png"}  # a PNG header cut short: opens, fails to decode


def write_parquet(path: Path, rows: list[dict[str, Any]], schema: pa.Schema) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def decodes(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
    return True


def assert_skipped(loaded: Loaded, file: Path, row: int, words: str) -> None:
    """The bad row is skipped and listed with its file, row and reason; the other rows still load."""
    bad = [s for s in loaded.skipped if s.row == row]
    assert len(bad) == 1 and Path(bad[0].file).name == file.name, loaded.skipped
    assert words in bad[0].reason, bad[0].reason
    assert all(item.id for item in loaded)


# --- MathVista ---------------------------------------------------------------------------------------

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


# --- MathVerse ---------------------------------------------------------------------------------------

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


# --- MATH-Vision ---------------------------------------------------------------------------------------

MATHVISION = pa.schema(
    [
        ("id", pa.string()),
        ("question", pa.string()),
        ("options", pa.list_(pa.string())),
        ("image", pa.string()),
        ("decoded_image", IMAGE),
        ("answer", pa.string()),
        ("solution", pa.string()),
        ("level", pa.int64()),
        ("subject", pa.string()),
    ]
)


def mathvision_row(i: str, options: list[str], answer: str) -> dict[str, Any]:
    return {
        "id": i,
        "question": "<image1>\nWhich shape comes next?",
        "options": options,
        "image": f"images/{i}.jpg",
        "decoded_image": img(),
        "answer": answer,
        "solution": None,
        "level": 2,
        "subject": "logic",
    }


def test_mathvision_splits(tmp_path):
    write_parquet(
        tmp_path / "data" / "test-00000-of-00001.parquet",
        [mathvision_row("1", ["1", "2", "3", "4", "5"], "D"), mathvision_row("2", [], "2\\sqrt{3}")],
        MATHVISION,
    )
    write_parquet(
        tmp_path / "data" / "testmini-00000-of-00001.parquet", [mathvision_row("7", [], "12")], MATHVISION
    )
    mc, free = BENCHMARKS["mathvision"](tmp_path)
    assert (
        mc.choices == ["1", "2", "3", "4", "5"]
        and mc.answers == ["D"]
        and is_correct("(D)", mc.answers, mc.choices)
    )
    assert (
        free.choices is None
        and free.answers == ["2\\sqrt{3}"]
        and free.meta
        == {
            "split": "test",
            "subject": "logic",
            "level": 2,
        }
    )
    (mini,) = BENCHMARKS["mathvision"](tmp_path, split="testmini")
    assert mini.id == "7" and mini.meta["split"] == "testmini"


def test_mathvision_answer_outside_options(tmp_path):
    f = write_parquet(
        tmp_path / "data" / "test-0.parquet",
        [mathvision_row("1", ["1", "2"], "A"), mathvision_row("2", ["1", "2", "3"], "E")],
        MATHVISION,
    )
    assert_skipped(BENCHMARKS["mathvision"](tmp_path), f, 2, "neither an option letter")


# --- MMMU and MMMU-Pro ---------------------------------------------------------------------------------

MMMU_COLUMNS = [
    ("id", pa.string()),
    ("question", pa.string()),
    ("options", pa.string()),
    ("explanation", pa.string()),
    *[(f"image_{k}", IMAGE) for k in range(1, 8)],
    ("img_type", pa.string()),
    ("answer", pa.string()),
    ("topic_difficulty", pa.string()),
]
MMMU = pa.schema([*MMMU_COLUMNS, ("question_type", pa.string()), ("subfield", pa.string())])


def mmmu_row(i: str, question: str, options: str, answer: str, qtype: str, **images: Any) -> dict[str, Any]:
    row = {
        "id": i,
        "question": question,
        "options": options,
        "explanation": "",
        "img_type": "['Tables']",
        "answer": answer,
        "topic_difficulty": "Medium",
        "question_type": qtype,
        "subfield": "Managerial Accounting",
    }
    return {**row, **{f"image_{k}": None for k in range(1, 8)}, **images}


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


MMMU_PRO_STANDARD = pa.schema([*MMMU_COLUMNS, ("subject", pa.string())])
MMMU_PRO_VISION = pa.schema(
    [
        ("id", pa.string()),
        ("image", IMAGE),
        ("options", pa.string()),
        ("answer", pa.string()),
        ("subject", pa.string()),
    ]
)
TEN = str([f"opt{i}" for i in range(10)])


def test_mmmu_pro(tmp_path):
    standard = mmmu_row("test_History_3", "<image 1> Who painted it?", TEN, "J", "", image_1=img())
    standard = {k: v for k, v in standard.items() if k not in ("question_type", "subfield")} | {
        "subject": "History"
    }
    write_parquet(
        tmp_path / "standard (10 options)" / "test-00000-of-00002.parquet", [standard], MMMU_PRO_STANDARD
    )
    vision = {"id": "test_History_3", "image": img(), "options": TEN, "answer": "J", "subject": "History"}
    write_parquet(tmp_path / "vision" / "test-00000-of-00004.parquet", [vision], MMMU_PRO_VISION)
    (s,) = BENCHMARKS["mmmu_pro"](tmp_path)
    assert len(s.choices) == 10 and s.answers == ["J"] and is_correct("opt9", s.answers, s.choices)
    assert s.meta["subject"] == "History" and s.meta["split"] == "standard (10 options)"
    (v,) = BENCHMARKS["mmmu_pro"](tmp_path, split="vision")
    assert (
        v.choices is None
        and v.answers == ["J"]
        and is_correct("(J)", v.answers)
        and v.meta["options"][0] == "opt0"
    )
    assert v.question and decodes(v.images[0])


def test_mmmu_pro_vision_answer_out_of_range(tmp_path):
    rows = [{"id": "a", "image": img(), "options": "['x', 'y']", "answer": "C", "subject": "Art"}]
    f = write_parquet(tmp_path / "vision" / "test-00000-of-00001.parquet", rows, MMMU_PRO_VISION)
    assert_skipped(BENCHMARKS["mmmu_pro"](tmp_path, split="vision"), f, 1, "not the letter")


# --- MMStar --------------------------------------------------------------------------------------------

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


def test_split_options():
    assert split_options("Q?\nOptions: A: 1, B: 2") == ("Q?", ["1", "2"])
    assert split_options("Q?\nChoices:\n(A) x\n(B) y\n(C) z") == ("Q?", ["x", "y", "z"])
    assert split_options("Q?\nOptions: B: 1, C: 2") is None  # does not start at A
    assert split_options("Options: A: 1, B: 2") is None  # no stem left
    assert split_options("Q? A: 1") is None and split_options("Q?\nOptions: A: 1") is None


# --- ChartQA -------------------------------------------------------------------------------------------

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


# --- AI2D ----------------------------------------------------------------------------------------------

AI2D = pa.schema(
    [("question", pa.string()), ("options", pa.list_(pa.string())), ("answer", pa.string()), ("image", IMAGE)]
)


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


# --- HallusionBench ------------------------------------------------------------------------------------

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


# --- OCRBench ------------------------------------------------------------------------------------------

OCRBENCH = pa.schema(
    [
        ("dataset", pa.string()),
        ("question", pa.string()),
        ("question_type", pa.string()),
        ("answer", pa.list_(pa.string())),
        ("image", IMAGE),
    ]
)


def test_ocrbench(tmp_path):
    rows = [
        {
            "dataset": "IIIT5K",
            "question": "what is written in the image?",
            "question_type": "Regular Text Recognition",
            "answer": ["CENTRE", "centre"],
            "image": img(),
        },
        {
            "dataset": "HME100k",
            "question": "Write the expression.",
            "question_type": "HMER",
            "answer": ["x^2"],
            "image": img(),
        },
    ]
    write_parquet(tmp_path / "data" / "test-00000-of-00001.parquet", rows, OCRBENCH)
    word, formula = BENCHMARKS["ocrbench"](tmp_path)
    assert word.answers == ["CENTRE", "centre"] and is_correct("Centre", word.answers)
    assert word.meta["question_type"] == "Regular Text Recognition" and formula.meta["dataset"] == "HME100k"


def test_ocrbench_empty_answer_list(tmp_path):
    rows = [{"dataset": "IIIT5K", "question": "Q?", "question_type": "x", "answer": [], "image": img()}]
    f = write_parquet(tmp_path / "data" / "test-0.parquet", rows, OCRBENCH)
    assert_skipped(BENCHMARKS["ocrbench"](tmp_path), f, 1, "no gold answer")


# --- LogicVista ----------------------------------------------------------------------------------------


def logicvista_dir(tmp_path: Path, second_image: bool = True) -> Path:
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    (data / "images" / "v1_0.png").write_bytes(png())
    if second_image:
        (data / "images" / "v1_1.png").write_bytes(png((0, 0, 0)))
    entry = {  # the real file's field names (data/dataset.json)
        "reasoning": "...",
        "skill": ["inductive"],
        "broad_capability": ["diagram"],
        "specific_capability": ["rule based pattern"],
        "imagesource": "aptitudetests",
    }
    write_json(
        data / "dataset.json",
        {
            "v1_0": {"imagename": "v1_0.png", "question": "Which choice (A-D) fits?", "answer": "C", **entry},
            "v1_1": {
                "imagename": "v1_1.png",
                "question": "Which belong to green?",
                "answer": "A, C",
                **entry,
            },
        },
    )
    return data / "dataset.json"


def test_logicvista(tmp_path):
    logicvista_dir(tmp_path)
    one, two = BENCHMARKS["logicvista"](tmp_path)
    assert (one.id, one.answers, one.meta["skill"]) == ("v1_0", ["C"], ["inductive"])
    assert one.meta["broad_capability"] == ["diagram"] and one.meta["specific_capability"] == [
        "rule based pattern"
    ]
    assert two.answers == ["A, C"] and decodes(two.images[0])


def test_logicvista_missing_image(tmp_path):
    f = logicvista_dir(tmp_path, second_image=False)
    assert_skipped(BENCHMARKS["logicvista"](tmp_path), f, 2, "image not found")


# --- generic -------------------------------------------------------------------------------------------


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


# --- load_benchmark --------------------------------------------------------------------------------------


def test_parse_spec():
    assert parse_spec("mmmu") == ("mmmu", None, None)
    assert parse_spec(" mathvision:testmini = /d/mv ") == ("mathvision", "testmini", Path("/d/mv"))
    assert parse_spec("mmmu_pro:standard (4 options)=x") == ("mmmu_pro", "standard (4 options)", Path("x"))
    for bad in ("", "=x", "mmmu="):
        with pytest.raises(ValueError):
            parse_spec(bad)


def test_load_benchmark_specs_and_limit(tmp_path):
    rows = [{"question": f"Q{i}?", "options": ["a", "b"], "answer": "1", "image": img()} for i in range(4)]
    write_parquet(tmp_path / "ai2d" / "data" / "test-00000-of-00001.parquet", rows, AI2D)
    assert len(load_benchmark("ai2d", data_dir=tmp_path)) == 4
    assert [i.id for i in load_benchmark("AI2D", data_dir=tmp_path, limit=2)] == ["0", "1"]
    assert load_benchmark(f"ai2d:test={tmp_path / 'ai2d'}", limit=0) == []
    with pytest.raises(ValueError, match="unknown split"):
        load_benchmark("ai2d:validation", data_dir=tmp_path)
    with pytest.raises(ValueError, match=r"unknown benchmark 'nope'.*mathvista.*logicvista"):
        load_benchmark("nope", data_dir=tmp_path)
    with pytest.raises(ValueError, match="needs a file"):
        load_benchmark("generic", data_dir=tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(BenchmarkNotFound, match=r"no 'test' files in .*empty.*data/test-\*\.parquet"):
        load_benchmark(f"ocrbench={tmp_path / 'empty'}")


def test_offline_error_says_where_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BenchmarkNotFound) as e:
        load_benchmark("mathvista", data_dir=tmp_path)
    msg = str(e.value)
    assert str(tmp_path / "mathvista") in msg and "HF_HUB_OFFLINE=1" in msg
    expected = f"hf download AI4Math/MathVista --repo-type dataset --local-dir {tmp_path / 'mathvista'}"
    assert expected in msg and "--include 'data/testmini-*'" in msg
    with pytest.raises(
        BenchmarkNotFound, match=re.escape("git clone --depth 1 https://github.com/Yijia-Xiao/LogicVista")
    ):
        load_benchmark("logicvista", data_dir=tmp_path)


def test_hub_fallback_when_online(tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    calls = []

    def fake_load_dataset(repo, config=None, split=None):
        calls.append((repo, config, split))
        features = datasets.Features(
            {
                "question": datasets.Value("string"),
                "options": datasets.Sequence(datasets.Value("string")),
                "answer": datasets.Value("string"),
                "image": datasets.Image(),
            }
        )
        rows = {
            "question": ["Q?"],
            "options": [["a", "b"]],
            "answer": ["1"],
            "image": [Image.new("RGB", (3, 3))],
        }
        return datasets.Dataset.from_dict(rows, features=features)

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    (item,) = load_benchmark("ai2d", data_dir=tmp_path)
    assert calls == [("lmms-lab/ai2d", None, "test")] and item.answers == ["B"] and decodes(item.images[0])

    def no_network(*args, **kwargs):
        raise ConnectionError("offline")

    monkeypatch.setattr(datasets, "load_dataset", no_network)
    with pytest.raises(BenchmarkNotFound, match="does not exist"):  # an explicit PATH never downloads
        load_benchmark(f"ai2d={tmp_path / 'typo'}")
    with pytest.raises(
        BenchmarkNotFound, match=r"(?s)loading lmms-lab/ai2d from the hub failed.*hf download"
    ):
        load_benchmark("ai2d", data_dir=tmp_path)


# --- VLMEvalKit TSV ------------------------------------------------------------------------------------


def b64(color: tuple[int, int, int] = (200, 30, 30)) -> str:
    import base64

    return base64.b64encode(png(color)).decode()


def write_tsv(path: Path, rows: list[dict[str, Any]]) -> Path:
    """As VLMEvalKit writes its files: pandas, tab-separated, no index column."""
    import pandas as pd

    pd.DataFrame(rows).to_csv(path, sep="\t", index=False)
    return path


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
