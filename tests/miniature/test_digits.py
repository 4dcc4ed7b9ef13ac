"""The experiment's digits world: answers recomputed from the scene, pixels checked, formats per item."""

from __future__ import annotations

import io
import json
import random

import pytest
from PIL import Image

from avr.miniature import digits
from avr.miniature.synthetic import generate


def _solve(question: str, a: int, b: int) -> str:
    """An independent reading of each template."""
    if "left" in question:
        return str(a)
    if "right" in question:
        return str(b)
    if "sum" in question:
        return str(a + b)
    if "minus" in question:
        return str(abs(a - b))
    raise AssertionError(question)


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    root = tmp_path_factory.mktemp("digits")
    path = generate(root, 60, seed=3, name="d", world="digits")
    return root, [json.loads(x) for x in path.read_text().splitlines()]


def test_answers_follow_from_the_scene(rows):
    _, recs = rows
    for r in recs:
        a, b = (d["digit"] for d in r["scene"]["digits"])
        assert r["answer"] == _solve(r["question"], a, b)
        assert r["perception"] == f"{a} and {b}"
        assert r["answer"] in r["reasoning"]
        assert r["level"] == r["format"] == (1 if r["task"].startswith("read") else 3)
    assert [r["level"] for r in recs[:4]] == [1, 3, 1, 3]  # levels in equal shares, alternating
    assert {r["task"] for r in recs} == {"read-left", "read-right", "sum", "difference"}


def test_each_digit_is_drawn_in_its_own_half_near_its_centre(rows):
    root, recs = rows
    for r in recs[:20]:
        img = Image.open(root / r["image"]).convert("L")
        assert img.size == (digits.WIDTH, digits.HEIGHT)
        px = img.load()
        for i, d in enumerate(r["scene"]["digits"]):
            ink = [(x, y) for x in range(i * digits.CELL, (i + 1) * digits.CELL) for y in range(digits.HEIGHT)
                   if px[x, y] < 128]  # fmt: skip
            assert len(ink) > 150, "a bold digit covers many pixels"
            cx = sum(x for x, _ in ink) / len(ink)
            cy = sum(y for _, y in ink) / len(ink)
            assert abs(cx - d["center"][0]) < 8 and abs(cy - d["center"][1]) < 8


def test_the_same_digits_draw_the_same_pixels_and_others_do_not():
    scene = digits.digits_scene(random.Random(0))
    assert digits.draw_digits(scene) == digits.draw_digits(json.loads(json.dumps(scene)))
    other = {**scene, "digits": [{**scene["digits"][0], "digit": (scene["digits"][0]["digit"] + 1) % 10},
                                 scene["digits"][1]]}  # fmt: skip
    assert (
        Image.open(io.BytesIO(digits.draw_digits(other))).tobytes()
        != Image.open(io.BytesIO(digits.draw_digits(scene))).tobytes()
    )


def test_formats_list_writes_every_item_once_per_format(tmp_path):
    path = generate(tmp_path, 6, seed=0, name="s", world="digits", formats=[1, 3])
    recs = [json.loads(x) for x in path.read_text().splitlines()]
    assert len(recs) == 12 and len({r["id"] for r in recs}) == 12
    for one, three in zip(recs[::2], recs[1::2], strict=True):
        assert (one["format"], three["format"]) == (1, 3)
        assert one["image"] == three["image"] and one["question"] == three["question"]
    # the same seed gives the same items, whatever the format policy
    plain = [
        json.loads(x)
        for x in generate(tmp_path / "p", 6, seed=0, name="s", world="digits").read_text().splitlines()
    ]
    assert [r["question"] for r in plain] == [r["question"] for r in recs[::2]]


def test_bad_options_are_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown synthetic world 'dots'"):
        generate(tmp_path, 2, world="dots")
    with pytest.raises(ValueError, match=r"the digits world has levels \[1, 3\], not \[2\]"):
        generate(tmp_path, 2, world="digits", levels=[2])
    with pytest.raises(ValueError, match="formats must be"):
        generate(tmp_path, 2, world="digits", formats=[4])
