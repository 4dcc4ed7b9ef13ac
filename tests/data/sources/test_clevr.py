"""CLEVR: a scene graph gives the perception text."""

from __future__ import annotations

import pytest

from avr.data.sources import (
    convert,
    describe_clevr_scene,
)
from avr.records import read_records
from tests.data.sources.builders import _by_id, _convert, build_clevr


def test_clevr_scene_gives_perception(tmp_path):
    _, stats, records, _ = _convert("clevr", tmp_path, on_error="skip")
    r = _by_id(records)["clevr-val-0"]
    assert (r.question, r.answer, r.format) == ("How many cubes are there?", "1", 2)
    assert r.perception == (
        "The scene has 2 objects. From left to right: a small gray metal sphere, a large red rubber cube."
    )
    assert stats["by_format"] == {"perception": 2}


def test_clevr_without_scenes_is_direct_answer(tmp_path):
    fx = build_clevr(tmp_path / "src")
    (fx.src / "scenes" / "CLEVR_val_scenes.json").unlink()
    stats = convert("clevr", fx.src, tmp_path / "out", split="val", on_error="skip")
    records, _ = read_records([stats["path"]])
    assert {r.format for r in records} == {1} and all(r.perception is None for r in records)


def test_describe_clevr_scene():
    objs = [
        {"size": "large", "color": "red", "material": "rubber", "shape": "cube", "pixel_coords": [50, 0, 0]},
    ]
    assert (
        describe_clevr_scene(objs) == "The scene has 1 object. From left to right: a large red rubber cube."
    )
    with pytest.raises(ValueError, match="no objects"):
        describe_clevr_scene([])
