"""Converters from the published data sets: each fixture is built in the real layout, converted, and
read back through ``read_records``; every converter names a malformed row's file and row."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from avr.data import sources
from avr.data.records import RecordError, read_records
from avr.data.sources import (
    SOURCES,
    chartqa,
    clean_sr1_question,
    convert,
    describe_clevr_scene,
    extract_boxed,
    letter_answer,
    rank_answers,
    split_options,
    split_see_think,
)
from avr.data.sources.converter import mend_lost_characters


def _img(color=(200, 30, 30), fmt="PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 6), color).save(buf, format=fmt)
    return buf.getvalue()


def _write(path: Path, data: bytes | str | object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def _parquet(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def _hf_image(data: bytes, name: str = "x.png") -> dict:
    return {"bytes": data, "path": name}


@dataclass
class Fixture:
    src: Path
    split: str | None
    bad_file: Path  # the source file of the malformed row
    bad_row: int
    bad_reason: str  # a fragment of the error message


# ---------------------------------------------------------------------------------------------------
# Fixture builders, one per published layout. Each writes good rows and exactly one malformed row.

SR1_PREAMBLE = (
    "You are tasked with analyzing an image/video to generate a detailed description to help you answer "
    "the question. First analyze the image/video and produce a self-contained description. Wrap the entire "
    "description in <description> </description> tags.\n Next, engage in an internal dialogue ... enclose "
    "this part within <think> </think> tags.\n Finally, provide a single word or phrase answer to the "
    "question in \\boxed{}.\nThe output format should be: <description> image/video description here "
    "</description> <think> reasoning process here </think> \\boxed{FINAL ANSWER here}."
)


def build_vision_sr1_cold(root: Path) -> Fixture:
    def row(user, assistant, image):
        return {
            "messages": [{"content": user, "role": "user"}, {"content": assistant, "role": "assistant"}],
            "images": [f"cold_start/{image}"],
        }

    data = [
        row(
            "Question: Why are the bikes stopped? Options:\nA. resting\nB. red light\n-\n"
            + SR1_PREAMBLE
            + "<image>",
            "<description>Motorcycles wait at an intersection; the light is red.</description>\n"
            "<think>A red light means stop, so B.</think>\n\\boxed{B}",
            "7.jpg",
        ),
        row(
            "Question: What is half of the length x?\n" + SR1_PREAMBLE + "<image>",
            "<description>A segment of length x = 3.</description> <think>Half of 3 is \\boxed{1}? "
            "No: 3/2.</think> $\\boxed{\\frac{3}{2}}$",
            "15.jpg",
        ),
        row(
            "Question: Colour?\n" + SR1_PREAMBLE + "<image>",
            "<description>red</description> \\boxed{red}",
            "17.jpg",
        ),
    ]
    for name in ("7.jpg", "15.jpg", "17.jpg"):
        _write(root / "cold_start" / name, _img(fmt="JPEG"))
    path = _write(root / "A-vision_see_think.json", data)
    return Fixture(root, None, path, 3, "<think>")


def build_okvqa(root: Path) -> Fixture:
    qs = {
        "questions": [
            {"image_id": 1, "question": "What animal is this?", "question_id": 10},
            {"image_id": 2, "question": "What sport can you use this for?", "question_id": 20},
            {"image_id": 1, "question": "Where is it sitting?", "question_id": 30},
        ]
    }

    def ans(*xs):
        return [
            {"answer": x, "raw_answer": x, "answer_confidence": "yes", "answer_id": i}
            for i, x in enumerate(xs)
        ]

    anns = {
        "annotations": [
            {"question_id": 10, "image_id": 1, "answers": ans(*["dog"] * 2, *["cat"] * 6, *["kitten"] * 2)},
            {"question_id": 20, "image_id": 2, "answers": ans(*["race"] * 10)},
        ]
    }
    _write(root / "OpenEnded_mscoco_val2014_questions.json", qs)
    _write(root / "mscoco_val2014_annotations.json", anns)
    _write(root / "val2014" / "COCO_val2014_000000000001.jpg", _img(fmt="JPEG"))
    _write(root / "val2014" / "COCO_val2014_000000000002.jpg", _img((0, 0, 200), fmt="JPEG"))
    return Fixture(
        root, "val", root / "OpenEnded_mscoco_val2014_questions.json", 3, "no entry in the annotations"
    )


def build_okvqa_parquet(root: Path) -> Fixture:
    rows = [
        {
            "question_id": 10,
            "question": "What animal is this?",
            "answers": ["cat"] * 6 + ["dog"] * 2 + ["kitten"] * 2,
            "image": _hf_image(_img()),
        },
        {
            "question_id": 20,
            "question": "What sport?",
            "answers": ["race"] * 10,
            "image": _hf_image(_img((0, 0, 200))),
        },
        {"question_id": 30, "question": "Where?", "answers": [""] * 10, "image": _hf_image(_img())},
    ]
    path = _parquet(root / "data" / "val2014-00000-of-00001.parquet", rows)
    return Fixture(root, "val", path, 3, "no annotator answers")


def build_gqa(root: Path) -> Fixture:
    qs = {
        "201307251": {
            "imageId": "n100",
            "question": "Is the bowl to the left of the cup?",
            "answer": "yes",
            "fullAnswer": "Yes, the bowl is to the left of the cup.",
            "types": {"structural": "verify"},
        },
        "201640614": {
            "imageId": "n200",
            "question": "What color is the car?",
            "answer": "red",
            "fullAnswer": "The car is red.",
        },
        "202228195": {"imageId": "n100", "question": "What is on the table?", "fullAnswer": "The bowl."},
    }
    path = _write(root / "questions1.2" / "val_balanced_questions.json", qs)
    _write(root / "images" / "n100.jpg", _img(fmt="JPEG"))
    _write(root / "images" / "n200.jpg", _img((0, 200, 0), fmt="JPEG"))
    return Fixture(root, "val_balanced", path, 3, "'answer'")


def build_geometry3k(root: Path) -> Fixture:
    problems = {
        "0": {
            "id": 0,
            "problem_text": "Find x.",
            "choices": ["3", "4", "5", "6"],
            "answer": "B",
            "precise_value": [3, 4, 5, 6],
        },
        "1": {"id": 1, "problem_text": "Find the area.", "choices": ["10", "12", "14", "16"], "answer": "D"},
        "2": {"id": 2, "problem_text": "Find y.", "choices": ["1", "2", "3", "4"], "answer": "E"},
    }
    for pid, data in problems.items():
        _write(root / "train" / pid / "data.json", data)
        _write(root / "train" / pid / "img_diagram.png", _img((int(pid) * 50, 0, 0)))
    return Fixture(root, "train", root / "train" / "2" / "data.json", 1, "not an option letter")


def build_geometry3k_parquet(root: Path) -> Fixture:
    rows = [
        {
            "images": [_hf_image(_img())],
            "problem": "<image>Find x. Round to the nearest tenth.",
            "answer": "3.5",
        },
        {"images": [_hf_image(_img((0, 90, 0)))], "problem": "<image>Find m \\angle 2.", "answer": "34"},
        {"images": [], "problem": "<image>Find y.", "answer": "2"},
    ]
    path = _parquet(root / "data" / "validation-00000-of-00001.parquet", rows)
    return Fixture(root, "val", path, 3, "no images")


def _sqa(question, choices, answer, image, **kw):
    base = {
        "question": question,
        "choices": choices,
        "answer": answer,
        "hint": "",
        "image": image,
        "task": "closed choice",
        "grade": "grade4",
        "subject": "natural science",
        "topic": "geography",
        "category": "Geography",
        "skill": "Read a map",
        "lecture": "",
        "solution": "",
    }
    return {**base, **kw}


def build_scienceqa(root: Path) -> Fixture:
    rows = [
        _sqa(
            "Which state is highlighted?",
            ["Texas", "Ohio", "Utah"],
            1,
            _hf_image(_img()),
            lecture="States are areas of a country.",
            solution="This state is Ohio.",
        ),
        _sqa("Which word would you find on a dictionary page?", ["apple", "zebra"], 0, None),
        _sqa(
            "Which is a solid?", ["milk", "rock"], 1, _hf_image(_img((0, 0, 99))), hint="Look at the picture."
        ),
        _sqa("Which ocean is shown?", ["Pacific", "Atlantic"], 5, _hf_image(_img())),
    ]
    path = _parquet(root / "data" / "train-00000-of-00001-1028f23e353fbe3e.parquet", rows)
    return Fixture(root, "train", path, 4, "answer index 5")


def build_scienceqa_official(root: Path) -> Fixture:
    problems = {
        "5": _sqa(
            "Which state is highlighted?", ["Texas", "Ohio"], 1, "image.png", split="val", solution="Ohio."
        ),
        "6": _sqa("Which is a solid?", ["milk", "rock"], 1, None, split="val"),
        "7": _sqa("Which is in the train split?", ["a", "b"], 0, "image.png", split="train"),
        "8": {**_sqa("", ["a", "b"], 0, "image.png", split="val")},
    }
    base = root / "data" / "scienceqa"
    path = _write(base / "problems.json", problems)
    _write(base / "images" / "val" / "5" / "image.png", _img())
    _write(base / "images" / "val" / "8" / "image.png", _img())
    return Fixture(root, "val", path, 4, "'question'")


def build_chartqa(root: Path) -> Fixture:
    d = root / "ChartQA Dataset" / "train"
    _write(d / "png" / "41699051005347.png", _img())
    _write(d / "png" / "8127.png", _img((0, 0, 180)))
    _write(
        d / "train_human.json",
        [
            {
                "imgname": "41699051005347.png",
                "query": "How many food item is shown in the bar graph?",
                "label": "14",
            },
            {"imgname": "8127.png", "query": "What's the value of the lowest bar?", "label": "23"},
        ],
    )
    path = _write(
        d / "train_augmented.json",
        [
            {"imgname": "8127.png", "query": "Is the value of Lamb more than Corn?", "label": "Yes"},
            {"imgname": "missing.png", "query": "What is shown?", "label": "x"},
        ],
    )
    return Fixture(root / "ChartQA Dataset", "train", path, 2, "image not found")


def build_chartqa_parquet(root: Path) -> Fixture:
    rows = [
        {
            "image": _hf_image(_img()),
            "query": "What's the value of the lowest bar?",
            "label": ["23"],
            "human_or_machine": 0,
        },
        {
            "image": _hf_image(_img((9, 9, 9))),
            "query": "Which year peaked?",
            "label": ["2014", "2014.0"],
            "human_or_machine": 1,
        },
        {"image": _hf_image(_img()), "query": "   ", "label": ["1"], "human_or_machine": 0},
    ]
    path = _parquet(root / "data" / "test-00000-of-00001.parquet", rows)
    return Fixture(root, "test", path, 3, "'query'")


def build_clevr(root: Path) -> Fixture:
    root = root / "CLEVR_v1.0"

    def obj(color, size, mat, shape, x):
        return {"color": color, "size": size, "material": mat, "shape": shape, "pixel_coords": [x, 100, 10.0]}

    scenes = {
        "scenes": [
            {
                "image_index": 0,
                "image_filename": "CLEVR_val_000000.png",
                "objects": [
                    obj("red", "large", "rubber", "cube", 300),
                    obj("gray", "small", "metal", "sphere", 80),
                ],
            },
            {
                "image_index": 1,
                "image_filename": "CLEVR_val_000001.png",
                "objects": [obj("blue", "small", "rubber", "cylinder", 10)],
            },
        ]
    }
    questions = {
        "info": {"split": "val"},
        "questions": [
            {
                "image_index": 0,
                "split": "val",
                "image_filename": "CLEVR_val_000000.png",
                "question_index": 0,
                "question": "How many cubes are there?",
                "answer": "1",
                "question_family_index": 40,
                "program": [],
            },
            {
                "image_index": 1,
                "split": "val",
                "image_filename": "CLEVR_val_000001.png",
                "question_index": 1,
                "question": "Is the cylinder blue?",
                "answer": "yes",
                "program": [],
            },
            {
                "image_index": 1,
                "split": "val",
                "image_filename": "CLEVR_val_000001.png",
                "question_index": 2,
                "question": "What shape is it?",
                "program": [],
            },
        ],
    }
    _write(root / "scenes" / "CLEVR_val_scenes.json", scenes)
    path = _write(root / "questions" / "CLEVR_val_questions.json", questions)
    _write(root / "images" / "val" / "CLEVR_val_000000.png", _img())
    _write(root / "images" / "val" / "CLEVR_val_000001.png", _img((0, 0, 255)))
    return Fixture(root, "val", path, 3, "'answer'")


def _tqa_q(gid, text, choices, correct, image):
    return {
        "globalID": gid,
        "beingAsked": {"processedText": text, "rawText": text},
        "answerChoices": {
            k: {"idStructural": f"{k}.", "processedText": v, "rawText": v} for k, v in choices.items()
        },
        "correctAnswer": {"processedText": correct, "rawText": correct},
        "imagePath": f"question_images/{image}",
        "imageName": image,
        "questionType": "Diagram Multiple Choice",
    }


def build_tqa(root: Path) -> Fixture:
    root = root / "tqa_train_val_test"
    lessons = [
        {
            "globalID": "L_0001",
            "lessonName": "earth layers",
            "questions": {
                "diagramQuestions": {
                    "DQ_000001": _tqa_q(
                        "DQ_000001",
                        "which layer is the crust?",
                        {"a": "b", "b": "e", "c": "a", "d": "d"},
                        "c",
                        "layers_1.png",
                    ),
                    "DQ_000002": _tqa_q(
                        "DQ_000002",
                        "what does label d show?",
                        {"a": "mantle", "b": "core"},
                        "b",
                        "layers_2.png",
                    ),
                },
                "nonDiagramQuestions": {"NDQ_000001": {"beingAsked": {"processedText": "a text question"}}},
            },
        },
        {
            "globalID": "L_0002",
            "questions": {
                "diagramQuestions": {
                    "DQ_000003": _tqa_q(
                        "DQ_000003", "which is the moon?", {"a": "x", "b": "y"}, "e", "moon.png"
                    ),
                }
            },
        },
    ]
    path = _write(root / "train" / "tqa_v1_train.json", lessons)
    _write(root / "train" / "question_images" / "layers_1.png", _img())
    _write(root / "train" / "question_images" / "layers_2.png", _img((1, 2, 3)))
    _write(root / "train" / "question_images" / "moon.png", _img())
    return Fixture(root, "train", path, 3, "not one of the choices")


BUILDERS = {
    "vision_sr1_cold": build_vision_sr1_cold,
    "okvqa": build_okvqa,
    "okvqa-parquet": build_okvqa_parquet,
    "gqa": build_gqa,
    "geometry3k": build_geometry3k,
    "geometry3k-parquet": build_geometry3k_parquet,
    "scienceqa": build_scienceqa,
    "scienceqa-official": build_scienceqa_official,
    "chartqa": build_chartqa,
    "chartqa-parquet": build_chartqa_parquet,
    "clevr": build_clevr,
    "tqa": build_tqa,
}


def _convert(case: str, tmp_path: Path, **kw):
    fx = BUILDERS[case](tmp_path / "src")
    out = tmp_path / "out"
    stats = convert(case.split("-")[0], fx.src, out, split=fx.split, **kw)
    records, _ = read_records([stats["path"]])
    return fx, stats, records, out


def _by_id(records):
    return {r.id: r for r in records}


# ---------------------------------------------------------------------------------------------------
# Every converter: a malformed row raises naming the file and row, or is skipped into the report.


def test_every_source_has_a_fixture():
    assert {c.split("-")[0] for c in BUILDERS} == set(SOURCES)


@pytest.mark.parametrize("case", sorted(BUILDERS))
def test_malformed_row_raises_with_file_and_row(case, tmp_path):
    fx = BUILDERS[case](tmp_path / "src")
    with pytest.raises(RecordError) as err:
        convert(case.split("-")[0], fx.src, tmp_path / "out", split=fx.split)
    assert Path(err.value.file) == fx.bad_file
    assert err.value.row == fx.bad_row
    assert fx.bad_reason in str(err.value)
    assert not list((tmp_path / "out").glob("*.jsonl"))  # nothing half-written


@pytest.mark.parametrize("case", sorted(BUILDERS))
def test_skip_writes_report_and_valid_rows(case, tmp_path):
    fx, stats, records, out = _convert(case, tmp_path, on_error="skip")
    name = case.split("-")[0]
    split = fx.split or SOURCES[name].default_split
    assert stats["path"] == str(out / f"{name}-{split}.jsonl")
    assert stats["skipped_path"] == str(out / f"{name}-{split}.skipped.jsonl")
    report = [json.loads(x) for x in Path(stats["skipped_path"]).read_text().splitlines()]
    assert [(Path(r["file"]), r["row"]) for r in report] == [(fx.bad_file, fx.bad_row)]
    assert fx.bad_reason in report[0]["error"]
    assert stats["skipped"] == 1 and stats["rows"] == len(records) > 0
    assert all(r.source == name for r in records)
    assert len({r.id for r in records}) == len(records)
    for r in records:  # images were copied under out/images, content-addressed
        assert all(im.path is not None and im.path.parent == out / "images" for im in r.images)


# ---------------------------------------------------------------------------------------------------
# What each converter maps to.


def test_vision_sr1_cold(tmp_path):
    _, stats, records, _ = _convert("vision_sr1_cold", tmp_path, on_error="skip")
    mc, free = records
    assert mc.question == "Why are the bikes stopped?"
    assert mc.choices == ["resting", "red light"] and mc.answer == "B"
    assert mc.perception == "Motorcycles wait at an intersection; the light is red."
    assert mc.reasoning == "A red light means stop, so B." and mc.format == 3
    assert free.question == "What is half of the length x?" and free.choices is None
    assert free.answer == "\\frac{3}{2}"  # the box after </think>, nested braces kept
    assert stats["by_format"] == {"full": 2}


def test_okvqa_answers_most_common_first(tmp_path):
    _, _, records, out = _convert("okvqa", tmp_path, on_error="skip")
    recs = _by_id(records)
    assert recs["okvqa-10"].answers == ["cat", "dog", "kitten"]  # 6, 2, 2: ties keep first appearance
    assert recs["okvqa-10"].question == "What animal is this?" and recs["okvqa-10"].format == 1
    assert recs["okvqa-20"].answers == ["race"]
    assert len(list((out / "images").iterdir())) == 2


def test_okvqa_parquet(tmp_path):
    _, _, records, _ = _convert("okvqa-parquet", tmp_path, on_error="skip")
    assert [r.answers for r in records] == [["cat", "dog", "kitten"], ["race"]]
    assert [r.id for r in records] == ["okvqa-10", "okvqa-20"]


def test_gqa_short_answer_and_full_answer_kept_aside(tmp_path):
    _, _, records, _ = _convert("gqa", tmp_path, on_error="skip")
    r = _by_id(records)["gqa-201640614"]
    assert (r.question, r.answers, r.format, r.perception) == ("What color is the car?", ["red"], 1, None)
    assert r.extra["full_answer"] == "The car is red."
    assert records[0].images[0].data != records[1].images[0].data


def test_geometry3k_official(tmp_path):
    _, _, records, _ = _convert("geometry3k", tmp_path, on_error="skip")
    r = _by_id(records)["geometry3k-0"]
    assert (r.question, r.choices, r.answer, r.format) == ("Find x.", ["3", "4", "5", "6"], "B", 1)
    assert _by_id(records)["geometry3k-1"].answer == "D"


def test_geometry3k_parquet(tmp_path):
    _, _, records, _ = _convert("geometry3k-parquet", tmp_path, on_error="skip")
    assert [(r.question, r.answer, r.choices) for r in records] == [
        ("Find x. Round to the nearest tenth.", "3.5", None),
        ("Find m \\angle 2.", "34", None),
    ]


def test_scienceqa_image_questions_only(tmp_path):
    _, stats, records, _ = _convert("scienceqa", tmp_path, on_error="skip")
    assert stats["filtered"] == 1  # the text-only question
    a, b = records
    assert (a.question, a.choices, a.answer, a.format) == (
        "Which state is highlighted?",
        ["Texas", "Ohio", "Utah"],
        "B",
        1,
    )
    assert a.reasoning == "This state is Ohio." and a.perception is None
    assert a.extra["lecture"] == "States are areas of a country." and a.extra["subject"] == "natural science"
    assert b.question == "Which is a solid?\nContext: Look at the picture." and b.answer == "B"


def test_scienceqa_official_split_field(tmp_path):
    _, stats, records, _ = _convert("scienceqa-official", tmp_path, on_error="skip")
    assert [r.id for r in records] == ["scienceqa-5"] and stats["filtered"] == 1
    assert records[0].answer == "B" and records[0].reasoning == "Ohio."


def test_chartqa_official_and_parquet(tmp_path):
    _, _, records, out = _convert("chartqa", tmp_path, on_error="skip")
    assert [(r.question, r.answer, r.extra["origin"]) for r in records] == [
        ("How many food item is shown in the bar graph?", "14", "human"),
        ("What's the value of the lowest bar?", "23", "human"),
        ("Is the value of Lamb more than Corn?", "Yes", "augmented"),
    ]
    assert len(list((out / "images").iterdir())) == 2  # two charts shared by three questions
    _, _, records, _ = _convert("chartqa-parquet", tmp_path / "p", on_error="skip")
    assert [(r.answers, r.extra["origin"]) for r in records] == [
        (["23"], "human"),
        (["2014", "2014.0"], "augmented"),
    ]


def test_clevr_scene_gives_perception(tmp_path):
    _, stats, records, _ = _convert("clevr", tmp_path, on_error="skip")
    r = _by_id(records)["clevr-val-0"]
    assert (r.question, r.answer, r.format) == ("How many cubes are there?", "1", 2)
    assert r.perception == (
        "The scene has 2 objects. From left to right: a small gray metal sphere, a large red rubber cube."
    )
    assert stats["by_format"] == {"perception+answer": 2}


def test_clevr_without_scenes_is_direct_answer(tmp_path):
    fx = build_clevr(tmp_path / "src")
    (fx.src / "scenes" / "CLEVR_val_scenes.json").unlink()
    stats = convert("clevr", fx.src, tmp_path / "out", split="val", on_error="skip")
    records, _ = read_records([stats["path"]])
    assert {r.format for r in records} == {1} and all(r.perception is None for r in records)


def test_tqa_diagram_questions(tmp_path):
    _, _, records, _ = _convert("tqa", tmp_path, on_error="skip")
    r = _by_id(records)["tqa-DQ_000001"]
    assert (r.question, r.choices, r.answer) == ("which layer is the crust?", ["b", "e", "a", "d"], "C")
    assert _by_id(records)["tqa-DQ_000002"].answer == "B"
    assert len(records) == 2  # the non-diagram question is not an image question


# ---------------------------------------------------------------------------------------------------
# convert(): limit, reruns, errors.


def test_limit_and_rerun_overwrite(tmp_path):
    fx = build_chartqa(tmp_path / "src")
    out = tmp_path / "out"
    stats = convert("chartqa", fx.src, out, split="train", on_error="skip")
    assert stats["rows"] == 3 and (out / "chartqa-train.skipped.jsonl").exists()
    first = (out / "chartqa-train.jsonl").read_text()
    assert convert("chartqa", fx.src, out, split="train", on_error="skip")["rows"] == 3
    assert (out / "chartqa-train.jsonl").read_text() == first  # stable ids and image names
    stats = convert("chartqa", fx.src, out, split="train", limit=2)
    assert stats["rows"] == 2 and stats["skipped"] == 0
    assert not (out / "chartqa-train.skipped.jsonl").exists()  # a stale report is removed
    assert len((out / "chartqa-train.jsonl").read_text().splitlines()) == 2


def test_unknown_name_lists_known(tmp_path):
    with pytest.raises(ValueError, match="known: chartqa, clevr, geometry3k, gqa, okvqa, scienceqa, tqa"):
        convert("vqav2", tmp_path, tmp_path / "out")


def test_unknown_split(tmp_path):
    with pytest.raises(ValueError, match="unknown split 'dev'; known: train, val"):
        convert("clevr", tmp_path, tmp_path / "out", split="dev")


def test_missing_src_says_where_and_how(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError) as err:
        convert("vision_sr1_cold", missing, tmp_path / "out")
    assert str(missing) in str(err.value)
    assert "huggingface-cli download LMMs-Lab-Turtle/Vision-SR1-Cold-9K --repo-type dataset" in str(err.value)


def test_wrong_layout_names_what_it_looked_for(tmp_path):
    with pytest.raises(RecordError, match=r"questions/CLEVR_train_questions\.json"):
        convert("clevr", tmp_path, tmp_path / "out")


def test_hub_id_offline_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="HF_HUB_OFFLINE=1"):
        convert("chartqa", "hf://HuggingFaceM4/ChartQA", tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="no hub layout"):
        convert("gqa", "hf://lmms-lab/GQA", tmp_path / "out")


def test_hub_id_online_reads_the_snapshot(tmp_path, monkeypatch):
    fx = build_chartqa_parquet(tmp_path / "snapshot")
    calls = []

    def fake_snapshot_download(**kw):
        calls.append(kw)
        return str(fx.src)

    import huggingface_hub

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    stats = convert("chartqa", "HuggingFaceM4/ChartQA", tmp_path / "out", split="test", on_error="skip")
    assert stats["rows"] == 2
    assert calls[0]["repo_id"] == "HuggingFaceM4/ChartQA" and calls[0]["repo_type"] == "dataset"


def test_bad_options(tmp_path):
    with pytest.raises(ValueError, match="on_error"):
        convert("tqa", tmp_path, tmp_path / "out", on_error="ignore")
    with pytest.raises(ValueError, match="limit"):
        convert("tqa", tmp_path, tmp_path / "out", limit=-1)


def test_sources_are_callable_readers(tmp_path):
    fx = build_gqa(tmp_path / "src")
    rows = list(SOURCES["gqa"](fx.src, "val_balanced"))
    assert [r.row for r in rows] == [1, 2, 3] and rows[0].build()["answer"] == "yes"


# ---------------------------------------------------------------------------------------------------
# The pure helpers.


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("<description>P</description><think>R</think>\\boxed{A}", ("P", "R", "A")),
        (
            "<description>\n a cat \n</description>\n\n<think> so </think>\n$\\boxed{ 12 }$.",
            ("a cat", "so", "12"),
        ),
        (
            "<description>P</description><think>R</think>\\boxed{\\frac{1}{\\sqrt{2}}}",
            ("P", "R", "\\frac{1}{\\sqrt{2}}"),
        ),
        (
            "<description>P</description><think>draft \\boxed{1}</think> \\boxed{2}",
            ("P", "draft \\boxed{1}", "2"),
        ),
        ("< description >P< /description ><think>R</think>\\\\boxed{B}", ("P", "R", "B")),
    ],
)
def test_split_see_think(response, expected):
    assert split_see_think(response) == expected


@pytest.mark.parametrize(
    ("response", "error"),
    [
        ("<think>R</think>\\boxed{A}", "<description>"),
        ("<description>P</description>\\boxed{A}", "<think>"),
        ("<description>P</description><think>R</think> A", "no \\\\boxed"),
        ("<description>P</description><think>R \\boxed{A}</think>", "no \\\\boxed"),
        ("<description>P</description><think>R</think>\\boxed{}", "empty"),
        ("<description> </description><think>R</think>\\boxed{A}", "empty <description>"),
        ("<description>P</description><think>R</think>\\boxed{\\frac{1}{2}", "unbalanced"),
        (
            "<description>P</description><description>Q</description><think>R</think>\\boxed{A}",
            "2 <description>",
        ),
    ],
)
def test_split_see_think_rejects(response, error):
    with pytest.raises(ValueError, match=error):
        split_see_think(response)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("x \\boxed{a} y \\boxed{b}", "b"), ("\\boxed{{a}{b}}", "{a}{b}"), ("none", None), ("\\boxed {7}", "7")],
)
def test_extract_boxed(text, expected):
    assert extract_boxed(text) == expected


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("Question: What is it?\n-\n" + SR1_PREAMBLE + "<image>", "What is it?"),
        ("What is it?\n\n" + SR1_PREAMBLE, "What is it?"),
        ("<image>Question: Count the cubes.", "Count the cubes."),
        (
            "Question: Which? Options:\nA. x\nB. y\nYou FIRST think about the reasoning process as an internal "
            "monologue. The final answer MUST BE put in \\boxed{}.<image>",
            "Which? Options:\nA. x\nB. y",
        ),
    ],
)
def test_clean_sr1_question(prompt, expected):
    assert clean_sr1_question(prompt) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Which? Options:\nA. x\nB. y", ("Which?", ["x", "y"])),
        ("Which?\nOptions:\n(A) x\n(B) y\n(C) z", ("Which?", ["x", "y", "z"])),
        ("Which? Options:\nA) x\nB) y", ("Which?", ["x", "y"])),
        ("Which? Options:\nA. x\nC. y", ("Which? Options:\nA. x\nC. y", None)),  # letters skip
        ("Which? Options:\nA. x\nB. y\n## Figure 2", ("Which? Options:\nA. x\nB. y\n## Figure 2", None)),
        ("No options here", ("No options here", None)),
    ],
)
def test_split_options(text, expected):
    assert split_options(text) == expected


@pytest.mark.parametrize(
    ("answer", "n", "expected"),
    [("C", 4, "C"), ("(b)", 4, "B"), ("D.", 3, "D."), ("cat", 2, "cat"), (" A ", 2, "A")],
)
def test_letter_answer(answer, n, expected):
    assert letter_answer(answer, n) == expected


def test_rank_answers():
    assert rank_answers(["b", "a", "a", " b", "c", "", None, "a"]) == ["a", "b", "c"]
    assert rank_answers([]) == []


def test_describe_clevr_scene():
    objs = [
        {"size": "large", "color": "red", "material": "rubber", "shape": "cube", "pixel_coords": [50, 0, 0]},
    ]
    assert (
        describe_clevr_scene(objs) == "The scene has 1 object. From left to right: a large red rubber cube."
    )
    with pytest.raises(ValueError, match="no objects"):
        describe_clevr_scene([])


def test_module_exports():
    assert callable(sources.convert) and all(callable(s) for s in SOURCES.values())


def test_converted_rows_feed_the_sft_builder(tmp_path):
    """Every converter's output is a valid SFT input: the explicit format wins over partial texts."""
    from avr.data.sft import build_sft_dataset
    from avr.formats import parse

    paths = []
    for case in sorted(BUILDERS):
        fx = BUILDERS[case](tmp_path / case / "src")
        paths.append(
            convert(case.split("-")[0], fx.src, tmp_path / case / "out", split=fx.split, on_error="skip")[
                "path"
            ]
        )
    stats = build_sft_dataset(paths, tmp_path / "sft")
    examples = json.loads((tmp_path / "sft" / "avr_sft.json").read_text())
    assert stats["rows"] == len(examples) > 20 and stats["skipped"] == 0
    by_source = {}
    for ex in examples:
        by_source.setdefault(ex["source"], set()).add(parse(ex["messages"][1]["content"]).format)
    assert by_source["vision_sr1_cold"] == {3} and by_source["clevr"] == {2} and by_source["scienceqa"] == {1}


def test_cli_convert_then_build(tmp_path, capsys):
    """`avr data convert` then `avr data sft`: the command line a user runs, bad row and all."""
    from avr.cli import main

    fx = build_okvqa(tmp_path / "src")
    out = tmp_path / "okvqa"
    argv = ["data", "convert", "okvqa", "--src", str(fx.src), "--out", str(out), "--split", "val"]
    assert main(argv) == 2  # the malformed row stops it, named
    assert f"{fx.bad_file}: row {fx.bad_row}" in capsys.readouterr().err
    assert main([*argv, "--on-error", "skip"]) == 0
    printed = capsys.readouterr().out
    assert "okvqa: 2 records written" in printed and "okvqa-val.skipped.jsonl" in printed
    assert main(["data", "sft", "--input", str(out / "okvqa-val.jsonl"), "--out", str(tmp_path / "sft")]) == 0
    assert (tmp_path / "sft" / "avr_sft.json").is_file()


def test_a_relative_src_finds_the_images(tmp_path, monkeypatch):
    """Readers name images relative to the file listing them; a relative --src once doubled the root."""
    build_okvqa(tmp_path / "raw" / "okvqa")
    monkeypatch.chdir(tmp_path)
    stats = convert("okvqa", "raw/okvqa", "out", split="val", on_error="skip")
    assert stats["rows"] == 2
    records, _ = read_records([stats["path"]])
    assert all(r.images for r in records)


# ---------------------------------------------------------------------------------------------------
# What real published rows showed (issue 12): each case below has the shape of a real row (ChartQA's
# test_human.json holds labels "[2013, 2016]" and "[2003,2009]" and queries where U+FFFD replaced an
# apostrophe or a space); tests/test_data_sources_real.py runs the converters on the real files.


def test_two_splits_into_one_out_keep_both(tmp_path):
    fx = build_geometry3k(tmp_path / "src")
    val = fx.src / "val" / "7"
    _write(val / "data.json", {"id": 7, "problem_text": "Find z.", "choices": ["1", "2"], "answer": "A"})
    _write(val / "img_diagram.png", _img((9, 9, 9)))
    out = tmp_path / "out"
    train = convert("geometry3k", fx.src, out, split="train", on_error="skip")
    valid = convert("geometry3k", fx.src, out, split="val", on_error="skip")
    assert (
        Path(train["path"]).name == "geometry3k-train.jsonl"
        and Path(valid["path"]).name == "geometry3k-val.jsonl"
    )
    assert len(read_records([train["path"]])[0]) == 2 and [
        r.id for r in read_records([valid["path"]])[0]
    ] == ["geometry3k-7"]


@pytest.mark.parametrize(
    ("label", "values"),
    [
        ("[2013, 2016]", ["2013", "2016"]),
        ("[2003,2009]", ["2003", "2009"]),  # no space after the comma in the real file
        ("[Poll workers in your community, Officials who run elections]", ["Poll workers in your community", "Officials who run elections"]),
        ("[1,000, 2,000]", ["1,000", "2,000"]),  # thousands separators survive
        ("[2014]", ["2014"]),
        ("2014", None),
        ("[1, ]", None),
        ("Over 30 mins", None),
    ],
)  # fmt: skip
def test_chartqa_label_values(label, values):
    assert chartqa.label_values(label) == values


def test_chartqa_labels_with_several_values(tmp_path):
    d = tmp_path / "src" / "test"
    _write(d / "png" / "1.png", _img())
    _write(
        d / "test_human.json",
        [
            {"imgname": "1.png", "query": "Which year(s) recorded the maximum?", "label": "[2013, 2016]"},
            {"imgname": "1.png", "query": "Which three countries are compared?", "label": "[A, B, C]"},
            {"imgname": "1.png", "query": "How many bars?", "label": "[3]"},
            {"imgname": "1.png", "query": "What is the value?", "label": "14"},
        ],
    )
    stats = convert("chartqa", tmp_path / "src", tmp_path / "out", split="test")
    years, countries, bars, plain = read_records([stats["path"]])[0]
    assert years.answers == ["2013, 2016", "2016, 2013"] and years.extra["answer_values"] == ["2013", "2016"]
    assert years.target() == "<answer>\n2013, 2016\n</answer>"
    assert len(countries.answers) == 6 and countries.answer == "A, B, C"  # every order of three values
    assert (bars.answers, plain.answers) == (["3"], ["14"]) and "answer_values" not in plain.extra
    from avr.grading import is_correct

    assert is_correct("2016, 2013", years.answers) and not is_correct("2013", years.answers)


def test_lost_characters_are_mended_in_texts_and_refused_in_answers(tmp_path):
    d = tmp_path / "src" / "test"
    _write(d / "png" / "1.png", _img())
    _write(
        d / "test_human.json",
        [
            {"imgname": "1.png", "query": "What is the chancellor\ufffds approval share?", "label": "52"},
            {"imgname": "1.png", "query": "Which country got the most\ufffd aid?", "label": "Tonga"},
            {"imgname": "1.png", "query": "Which country?", "label": "C\ufffdte d'Ivoire"},
        ],
    )  # fmt: skip
    stats = convert("chartqa", tmp_path / "src", tmp_path / "out", split="test", on_error="skip")
    merkel, aid = read_records([stats["path"]])[0]
    assert merkel.question == "What is the chancellor s approval share?"
    assert aid.question == "Which country got the most aid?"
    assert merkel.extra["repaired"] == ["question"] and stats["repaired"] == 2
    report = [json.loads(x) for x in Path(stats["skipped_path"]).read_text().splitlines()]
    assert [(r["row"], "U+FFFD" in r["error"]) for r in report] == [(3, True)]
    assert not any("\ufffd" in line for line in Path(stats["path"]).read_text().splitlines())


def test_mend_lost_characters_in_every_text_field():
    raw = {"question": "a\ufffd\ufffd b", "choices": ["x\ufffdy", "z"], "reasoning": "r", "answer": ["ok"]}
    assert mend_lost_characters(raw) == ["question", "choices"]
    assert raw["question"] == "a b" and raw["choices"] == ["x y", "z"] and raw["reasoning"] == "r"
    with pytest.raises(ValueError, match="U\\+FFFD"):
        mend_lost_characters({"question": "q", "answer": ["fine", "b\ufffdd"]})


@pytest.mark.parametrize(
    "case", ["vision_sr1_cold", "okvqa", "gqa", "scienceqa-official", "chartqa", "clevr", "tqa"]
)
def test_json_sources_are_streamed_not_read_whole(case, tmp_path, monkeypatch):
    """GQA's and CLEVR's train files run to gigabytes: no reader may load a JSON file whole."""

    def whole(*args, **kwargs):
        raise AssertionError("a JSON file was read whole")

    fx = BUILDERS[case](tmp_path / "src")
    monkeypatch.setattr(json, "load", whole)
    monkeypatch.setattr(json, "loads", whole)
    monkeypatch.setattr(Path, "read_text", whole)
    stats = convert(case.split("-")[0], fx.src, tmp_path / "out", split=fx.split, on_error="skip")
    assert stats["rows"] > 0 and stats["skipped"] == 1


def _truncate(path: Path, after_rows: int, marker: str) -> None:
    """Cut a JSON file inside the row after ``after_rows`` rows, as an interrupted download does."""
    text = path.read_text()
    at = [i for i in range(len(text)) if text.startswith(marker, i)][after_rows]
    path.write_text(text[: at + len(marker) + 3])


def test_truncated_file_keeps_the_rows_before_it(tmp_path):
    fx = build_clevr(tmp_path / "src")
    _truncate(fx.bad_file, 2, '"question_index"')
    out = tmp_path / "out"
    with pytest.raises(RecordError) as err:
        convert("clevr", fx.src, out, split="val")
    assert Path(err.value.file) == fx.bad_file and err.value.row == 3
    assert "not valid JSON after row 2" in str(err.value) and not list(out.glob("*.jsonl"))
    stats = convert("clevr", fx.src, out, split="val", on_error="skip")
    assert stats["rows"] == 2 and stats["skipped"] == 1
    report = json.loads(Path(stats["skipped_path"]).read_text())
    assert (Path(report["file"]), report["row"]) == (fx.bad_file, 3)


def test_unreadable_from_the_start_is_an_error_even_when_skipping(tmp_path):
    fx = build_gqa(tmp_path / "src")
    fx.bad_file.write_text('["a list, where GQA has an object of questions"]')
    with pytest.raises(RecordError, match="expected a JSON object at the top level, found '\\['"):
        convert("gqa", fx.src, tmp_path / "out", split="val_balanced", on_error="skip")
    fx.bad_file.write_text("")
    with pytest.raises(RecordError, match="expected a JSON object at the top level, found an empty file"):
        convert("gqa", fx.src, tmp_path / "out", split="val_balanced", on_error="skip")
    fx.bad_file.write_text('{"1": {"question": ')
    with pytest.raises(RecordError, match="row 1: not valid JSON after row 0"):
        convert("gqa", fx.src, tmp_path / "out", split="val_balanced", on_error="skip")


def test_a_byte_order_mark_is_read_past(tmp_path):
    fx = build_chartqa(tmp_path / "src")
    human = fx.src / "train" / "train_human.json"
    human.write_bytes(b"\xef\xbb\xbf" + human.read_bytes())
    stats = convert("chartqa", fx.src, tmp_path / "out", split="train", on_error="skip")
    assert stats["rows"] == 3 and stats["skipped"] == 1
