"""LogicVista."""

from __future__ import annotations

from pathlib import Path

from avr.eval.benchmarks import (
    BENCHMARKS,
)
from tests.eval.benchmarks.layouts import assert_skipped, decodes, png, write_json


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
