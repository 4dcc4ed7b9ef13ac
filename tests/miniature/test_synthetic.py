"""The built-in demo data: every answer is right, every image shows its scene, runs are reproducible.

The solver here is written from the questions' wording and the stored scene alone; it shares no
code with the generator, so a bug in either shows up as a disagreement.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from avr.miniature.synthetic import COLORS, describe, draw_scene, generate
from avr.records import read_records

SEEDS = (0, 1, 2)
N = 150  # 3 seeds x 150 = 450 rows: every task many times


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> dict[int, Path]:
    root = tmp_path_factory.mktemp("synthetic")
    return {seed: generate(root / f"s{seed}", n=N, seed=seed, name=f"s{seed}") for seed in SEEDS}


@pytest.fixture(scope="module")
def rows(datasets) -> list[dict[str, Any]]:
    return [r for path in datasets.values() for r in _rows(path)]


# ------------------------------------------------------------- an independent solver


def _objects(scene: dict[str, Any], **match: Any) -> list[dict[str, Any]]:
    return [o for o in scene["objects"] if all(o[k] == v for k, v in match.items())]


def _bar(scene: dict[str, Any], label: str) -> dict[str, Any]:
    (bar,) = [b for b in scene["bars"] if b["label"] == label]
    return bar


def _only(items: list[Any]) -> Any:
    assert len(items) == 1, f"the question must pick out exactly one thing, got {items}"
    return items[0]


def _argmax_unique(counts: dict[Any, int]) -> Any:
    best = max(counts.values())
    return _only([k for k, v in counts.items() if v == best])


def solve(question: str, scene: dict[str, Any]) -> str:
    """The answer, from the question's words and the scene; raises on a question it does not know."""
    q = question
    if q == "What colour is the shape?":
        return _only(scene["objects"])["color"]
    if q == "What shape is shown?":
        return _only(scene["objects"])["shape"]
    if q == "What digit is shown?":
        return str(_only(scene["objects"])["digit"])
    if m := re.fullmatch(r"What is the value of bar ([A-E])\?", q):
        return str(_bar(scene, m[1])["value"])
    if m := re.fullmatch(r"What colour is bar ([A-E])\?", q):
        return _bar(scene, m[1])["color"]
    if m := re.fullmatch(r"How many (\w+) shapes are there\?", q):
        return str(len(_objects(scene, color=m[1])))
    if m := re.fullmatch(r"How many (circle|square|triangle)s are there\?", q):
        return str(len(_objects(scene, shape=m[1])))
    if m := re.fullmatch(r"What digit is on the (\w+) (circle|square|triangle)\?", q):
        return str(_only(_objects(scene, color=m[1], shape=m[2]))["digit"])
    if m := re.fullmatch(r"What colour is the shape with the digit (\d)\?", q):
        return _only(_objects(scene, digit=int(m[1])))["color"]
    if m := re.fullmatch(r"Which bar is the (tallest|shortest)\?", q):
        sign = 1 if m[1] == "tallest" else -1
        return _argmax_unique({b["label"]: sign * b["value"] for b in scene["bars"]})
    if m := re.fullmatch(r"How many more (\w+)s than (\w+)s are there\?", q):
        return str(len(_objects(scene, shape=m[1])) - len(_objects(scene, shape=m[2])))
    if q == "Which colour has the most shapes?":
        return _argmax_unique(Counter(o["color"] for o in scene["objects"]))
    if m := re.fullmatch(r"What is the sum of the digits on the (\w+) shapes\?", q):
        return str(sum(o["digit"] for o in _objects(scene, color=m[1])))
    if m := re.fullmatch(r"What is the sum of the digits on the (circle|square|triangle)s\?", q):
        return str(sum(o["digit"] for o in _objects(scene, shape=m[1])))
    if m := re.fullmatch(r"How much taller is bar ([A-E]) than bar ([A-E])\?", q):
        return str(_bar(scene, m[1])["value"] - _bar(scene, m[2])["value"])
    if q == "What is the total of all the bars?":
        return str(sum(b["value"] for b in scene["bars"]))
    raise AssertionError(f"unknown question: {q!r}")


def _target(row: dict[str, Any]) -> str:
    """The answer as text: an MC letter is turned into the option it names."""
    if row.get("choices"):
        assert re.fullmatch(r"[A-D]", row["answer"]) and len(row["choices"]) == 4
        assert len(set(row["choices"])) == 4, "options must be distinct"
        return row["choices"]["ABCD".index(row["answer"])]
    return row["answer"]


def test_every_answer_matches_an_independent_solver(rows):
    assert len(rows) == N * len(SEEDS)
    for row in rows:
        assert _target(row) == solve(row["question"], row["scene"]), row["id"]


def test_answers_are_sane_for_their_question(rows):
    for row in rows:
        ans = solve(row["question"], row["scene"])
        if "How much taller" in row["question"] or "How many more" in row["question"]:
            assert int(ans) >= 0, row["id"]  # the question names the larger first
        if "sum of the digits" in row["question"]:
            assert "+" in row["reasoning"], "a sum over one digit is not a multi-step question"


def test_covers_every_kind_level_and_both_answer_styles(rows):
    pairs = {(r["format"], r["scene"]["kind"]) for r in rows}
    assert pairs == {(f, k) for f in (1, 2, 3) for k in ("shapes", "digits", "chart")}
    assert all(r["source"] == f"synthetic-{r['scene']['kind']}" for r in rows)
    mc = [r for r in rows if r.get("choices")]
    assert 0.15 < len(mc) / len(rows) < 0.5
    assert {r["format"] for r in mc} == {1, 2, 3}
    numeric = [r for r in rows if re.fullmatch(r"\d+", _target(r))]
    assert {r["format"] for r in numeric} == {1, 2, 3}
    assert len({r["question"] for r in rows}) > 50
    assert len({r["task"] for r in rows}) == 17  # every question template, each checked by solve()


def test_format_thirds(datasets):
    for path in datasets.values():
        assert Counter(r["format"] for r in _rows(path)) == {1: N // 3, 2: N // 3, 3: N // 3}


def test_texts_match_the_format(rows):
    for row in rows:
        assert row["perception"]
        assert ("reasoning" in row) == (row["format"] == 3), row["id"]
        if row["format"] == 3:
            assert _target(row) in row["reasoning"], "the reasoning ends at the answer"


def test_perception_names_every_object_and_bar(rows):
    for row in rows:
        scene, text = row["scene"], row["perception"]
        if scene["kind"] == "chart":
            for bar in scene["bars"]:
                assert f"{bar['label']} is {bar['value']} ({bar['color']})" in text
            assert f"{len(scene['bars'])} bars" in text
        elif scene["kind"] == "digits":
            for o in scene["objects"]:
                assert f"{o['color']} {o['shape']} with {o['digit']}" in text
        else:
            counts = Counter((o["color"], o["shape"]) for o in scene["objects"])
            for (color, shape), n in counts.items():
                assert f"{n} {color} {shape}{'' if n == 1 else 's'}" in text
            assert sum(int(x) for x in re.findall(r"\d+", text)) == len(scene["objects"])


def test_every_row_reads_as_a_record(datasets):
    for seed, path in datasets.items():
        records, skipped = read_records([path])
        assert len(records) == N and not skipped
        assert {r.format for r in records} == {1, 2, 3}
        assert all(r.target() for r in records)
        assert all(r.extra["scene"]["kind"] in ("shapes", "digits", "chart") for r in records), seed


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    a = generate(tmp_path / "a", n=24, seed=7)
    b = generate(tmp_path / "b", n=24, seed=7)
    c = generate(tmp_path / "c", n=24, seed=8)
    assert a.read_bytes() == b.read_bytes()
    images = sorted(p.name for p in (tmp_path / "a" / "images").iterdir())
    assert len(images) == 24
    for name in images:
        assert (tmp_path / "a" / "images" / name).read_bytes() == (
            tmp_path / "b" / "images" / name
        ).read_bytes()
    assert [r["scene"] for r in _rows(a)] != [r["scene"] for r in _rows(c)]
    # a shorter run is a prefix of a longer one
    d = generate(tmp_path / "d", n=12, seed=7)
    assert _rows(d) == _rows(a)[:12]


# ------------------------------------------------------------- the image shows the scene


def _image(path: Path, row: dict[str, Any]) -> Image.Image:
    im = Image.open(path.parent / row["image"]).convert("RGB")
    assert im.size == (row["scene"]["size"],) * 2
    return im


def _dominant(im: Image.Image, box: list[int]) -> tuple[int, int, int]:
    """The most common non-white colour inside a box."""
    crop = im.crop((box[0], box[1], box[2] + 1, box[3] + 1))
    counts = Counter(p for p in crop.getdata() if p != (255, 255, 255))
    return counts.most_common(1)[0][0]


def _check_objects(im: Image.Image, scene: dict[str, Any], crops: dict) -> None:
    boxes = [o["box"] for o in scene["objects"]]
    for o in scene["objects"]:
        x0, y0, x1, y1 = o["box"]
        assert _dominant(im, o["box"]) == COLORS[o["color"]]
        if "digit" not in o:
            assert im.getpixel(((x0 + x1) // 2, (y0 + y1) // 2)) == COLORS[o["color"]]
        else:
            crop = im.crop((x0, y0, x1 + 1, y1 + 1))
            blank = {**scene, "kind": "shapes", "objects": [{k: v for k, v in o.items() if k != "digit"}]}
            plain = Image.open(io.BytesIO(draw_scene(blank))).convert("RGB").crop((x0, y0, x1 + 1, y1 + 1))
            changed = sum(a != b for a, b in zip(crop.getdata(), plain.getdata(), strict=True))
            assert changed >= 10, "the digit is drawn: the tile differs from a blank one"
            crops.setdefault((o["shape"], o["color"], o["digit"]), set()).add(crop.tobytes())
        # nothing is drawn outside the boxes: the corner of each cell is background
        assert im.getpixel((x0 - 1, y0 - 1)) == (255, 255, 255)
    assert len({tuple(b) for b in boxes}) == len(boxes)


def _check_bars(im: Image.Image, scene: dict[str, Any]) -> None:
    units = set()
    for bar in scene["bars"]:
        x0, y0, x1, y1 = bar["box"]
        color = COLORS[bar["color"]]
        assert im.getpixel(((x0 + x1) // 2, y0)) == color  # the top row of the bar
        assert im.getpixel((x0, y1)) == color and im.getpixel((x1, y1)) == color
        assert im.getpixel((x0, y0 - 1)) == (255, 255, 255)  # and nothing of it above
        assert y1 + 1 == scene["baseline"]
        units.add((y1 - y0 + 1) / bar["value"])
    assert len(units) == 1, "bar heights are proportional to the values"


def test_images_show_their_scene(datasets):
    crops: dict[tuple, set[bytes]] = {}
    for path in datasets.values():
        for row in _rows(path):
            im = _image(path, row)
            if row["scene"]["kind"] == "chart":
                _check_bars(im, row["scene"])
            else:
                _check_objects(im, row["scene"], crops)
    # the pixels encode the digit: one look per (shape, colour, digit), a different one per digit
    assert all(len(v) == 1 for v in crops.values())
    looks = Counter((shape, color, next(iter(v))) for (shape, color, _), v in crops.items())
    assert max(looks.values()) == 1
    assert len({d for (_, _, d) in crops}) == 10


def test_old_list_scenes_still_draw_and_describe():
    """tests/sft/test_runner_e2e.py builds a bare list of shapes; that form stays supported."""
    scene = [{"shape": "square", "color": "blue", "cell": 5}]
    im = Image.open(io.BytesIO(draw_scene(scene))).convert("RGB")
    assert im.getpixel((48, 48)) == COLORS["blue"]
    assert describe(scene) == "The image shows 1 blue square."


# --- the SFT format policy, by its statistics ------------------------------------------------------


@pytest.mark.parametrize(
    ("world", "n", "policy"),
    [
        ("digits", 400, {1: {1: 1.0, 3: 0.25}, 3: {3: 1.0, 1: 0.1}}),
        ("mixed", 300, {1: {1: 1.0, 2: 0.7}, 2: {2: 1.0}, 3: {3: 1.0, 2: 0.4, 1: 0.15}}),
    ],
)
def test_format_shares_per_level_follow_the_policy(tmp_path, world, n, policy):
    """Each item of a level is written in format f with probability ``share`` (always at share 1).

    Over the m items of a level the count is Binomial(m, share): its share lies within 4 standard
    deviations, sqrt(share (1 - share) / m), of ``share`` (a 1-in-16,000 miss for a fair draw). An
    inverted draw (kept when ``random() >= share``) lands at 1 - share, 0.2 to 0.8 away: many
    deviations outside. The shares are chosen away from 0.5, where an inverted draw would look right.
    """
    path = generate(tmp_path, n=n, seed=5, world=world, formats=policy)
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    items: dict[int, set[str]] = {}
    counts: Counter = Counter()
    for r in rows:
        base, _, fmt = r["id"].rpartition("-f")
        assert int(fmt) == r["format"]
        items.setdefault(r["level"], set()).add(base)
        counts[(r["level"], r["format"])] += 1
    assert {lv: len(ids) for lv, ids in items.items()} == {lv: n // len(policy) for lv in policy}
    assert {f for lv, f in counts} <= {1, 2, 3}
    for level, shares in policy.items():
        m = len(items[level])
        assert {f for lv, f in counts if lv == level} == set(shares)
        for fmt, share in shares.items():
            got = counts[(level, fmt)] / m
            if share == 1:
                assert got == 1, (level, fmt)
            else:
                assert abs(got - share) <= 4 * (share * (1 - share) / m) ** 0.5, (level, fmt, got)


def test_a_share_of_zero_writes_no_item_in_that_format(tmp_path):
    path = generate(tmp_path, n=40, seed=1, world="digits", formats={1: {1: 1.0, 3: 0.0}, 3: {3: 1.0}})
    assert {json.loads(x)["format"] for x in path.read_text().splitlines()} == {1, 3}
    assert all(
        json.loads(x)["format"] == json.loads(x)["level"] for x in path.read_text().splitlines()
    )  # level 1 only in format 1, level 3 only in 3
