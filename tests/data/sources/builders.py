"""Each data set's fixture, built by hand in its published layout (a malformed row included), and
the helper that converts one and reads it back through ``read_records``."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from avr.data.sources import (
    convert,
)
from avr.records import read_records


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


def _truncate(path: Path, after_rows: int, marker: str) -> None:
    """Cut a JSON file inside the row after ``after_rows`` rows, as an interrupted download does."""
    text = path.read_text()
    at = [i for i in range(len(text)) if text.startswith(marker, i)][after_rows]
    path.write_text(text[: at + len(marker) + 3])
