"""Built-in demo data: procedurally drawn images with questions at three levels of need.

Three kinds of image, each stored in the record as ``scene`` (JSON) so a test can recompute every
answer and check every pixel that matters:

- ``shapes``: coloured circles, squares and triangles on a grid;
- ``digits``: coloured shapes, each carrying a digit;
- ``chart``: a bar chart, bars labelled A-E with their value printed on top.

Questions come at three levels, so that each format is the natural answer to some of them:

- read-off (format 1): one thing to look at: "What digit is shown?", "What is the value of bar C?";
- perception (format 2): the scene must be described first: "How many red shapes are there?";
- multi-step (format 3): the scene, then arithmetic or comparison over it: "What is the sum of the
  digits on the red shapes?", "How much taller is bar B than bar D?".

Answers are short (a number, a colour, a shape, a bar letter, or an option letter for multiple
choice) and the perception and reasoning texts are templated from the scene, so that even the
tiny demo model can learn the formats. Row ``i`` depends only on ``(seed, i)``, so a longer run
starts with the rows of a shorter one.

That is the ``mixed`` world. ``generate`` also writes the miniature experiment's worlds, drawn
elsewhere: ``digits`` (``avr.miniature.digits``: two large digits, levels 1 and 3) and ``trio``
(``avr.miniature.trio``: one to three digits, levels 1-3, with a held-out split of unseen digit
combinations and phrasings).
"""

from __future__ import annotations

import io
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from tqdm import tqdm

from avr.formats import OPTION_LETTERS
from avr.io import write_bytes, write_jsonl

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (230, 200, 30),
    "purple": (140, 60, 180),
}
SHAPES = ("circle", "square", "triangle")
KINDS = ("shapes", "digits", "chart")
SIZE = 128  # image side in pixels: small keeps generation fast and the tiny model's image short
GRID = 4  # shapes scenes: a GRID x GRID lattice, one shape a cell at most
DIGIT_GRID = 3  # digits scenes: bigger cells, so a digit fits inside a triangle
BAR_LABELS = "ABCDE"
MAX_BAR = 9
BACKGROUND = (255, 255, 255)
INK = (0, 0, 0)
MC_SHARE = 0.4  # share of questions with a pool of options that are asked as multiple choice

Scene = dict[str, Any]


# ---------------------------------------------------------------- scenes


def _plural(shape: str, n: int) -> str:
    return shape if n == 1 else shape + "s"


def _cell_box(cell: int, grid: int, size: int) -> list[int]:
    """The drawn box of a grid cell (inclusive pixel coordinates), with a margin around the shape."""
    side = size // grid
    pad = side // 6
    r, c = divmod(cell, grid)
    return [c * side + pad, r * side + pad, (c + 1) * side - pad - 1, (r + 1) * side - pad - 1]


def objects_scene(rng: random.Random, n: int, *, digits: bool = False, size: int = SIZE) -> Scene:
    """``n`` shapes in distinct cells (reading order); with ``digits`` each carries a digit 0-9."""
    grid = DIGIT_GRID if digits else GRID
    objects = []
    for cell in sorted(rng.sample(range(grid * grid), n)):
        obj: dict[str, Any] = {"shape": rng.choice(SHAPES), "color": rng.choice(list(COLORS)), "cell": cell}
        if digits:
            obj["digit"] = rng.randint(0, 9)
        obj["box"] = _cell_box(cell, grid, size)
        objects.append(obj)
    return {"kind": "digits" if digits else "shapes", "size": size, "grid": grid, "objects": objects}


def chart_scene(rng: random.Random, n: int, *, size: int = SIZE) -> Scene:
    """A bar chart of ``n`` bars with values 1-9; each bar's box is where it is drawn."""
    left, right, top, bottom = 6, 6, 18, 18
    base = size - bottom
    unit = (base - top) // MAX_BAR
    slot = (size - left - right) // n
    width = slot * 3 // 5
    bars = []
    for i in range(n):
        value = rng.randint(1, MAX_BAR)
        x0 = left + i * slot + (slot - width) // 2
        box = [x0, base - value * unit, x0 + width - 1, base - 1]
        bars.append({"label": BAR_LABELS[i], "value": value, "color": rng.choice(list(COLORS)), "box": box})
    return {"kind": "chart", "size": size, "baseline": base, "bars": bars}


def _as_scene(scene: Scene | list[dict[str, Any]], size: int | None = None) -> Scene:
    """Accept the old form, a bare list of {shape, color, cell} on the 4x4 grid, for callers that build one."""
    if isinstance(scene, dict):
        return scene
    size = size or SIZE
    objects = [{**o, "box": o.get("box") or _cell_box(o["cell"], GRID, size)} for o in scene]
    return {"kind": "shapes", "size": size, "grid": GRID, "objects": objects}


# ---------------------------------------------------------------- drawing


@lru_cache(maxsize=8)
def _font(size: int) -> Any:
    """Pillow's built-in font, scalable where FreeType is present (Pillow >= 10.1); no files needed."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except Exception:  # older Pillow (no size argument) or no FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _text_centered(draw: Any, x: int, y: int, text: str, font: Any, fill: tuple[int, int, int]) -> None:
    """Draw ``text`` centred on (x, y) at whole-pixel offsets, so equal glyphs render identically anywhere."""
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
    draw.text((x - (x0 + x1) // 2, y - (y0 + y1) // 2), text, fill=fill, font=font)


def _ink_for(color: str) -> tuple[int, int, int]:
    """Black on light fills, white on dark ones: a digit must stand out from its shape."""
    r, g, b = COLORS[color]
    return INK if 0.299 * r + 0.587 * g + 0.114 * b > 150 else BACKGROUND


def digit_anchor(obj: dict[str, Any]) -> tuple[int, int]:
    """Where a shape's digit is centred: the box centre, lower in a triangle where it is wider."""
    x0, y0, x1, y1 = obj["box"]
    cy = y0 + 2 * (y1 - y0) // 3 if obj["shape"] == "triangle" else (y0 + y1) // 2
    return (x0 + x1) // 2, cy


def _draw_object(draw: Any, obj: dict[str, Any]) -> None:
    x0, y0, x1, y1 = obj["box"]
    fill = COLORS[obj["color"]]
    if obj["shape"] == "circle":
        draw.ellipse((x0, y0, x1, y1), fill=fill)
    elif obj["shape"] == "square":
        draw.rectangle((x0, y0, x1, y1), fill=fill)
    else:
        draw.polygon([((x0 + x1) // 2, y0), (x0, y1), (x1, y1)], fill=fill)
    if "digit" in obj:
        _text_centered(
            draw, *digit_anchor(obj), str(obj["digit"]), _font((y1 - y0) // 2), _ink_for(obj["color"])
        )


def _draw_chart(draw: Any, scene: Scene) -> None:
    base, font = scene["baseline"], _font(11)
    draw.line((2, base, scene["size"] - 3, base), fill=INK)
    for bar in scene["bars"]:
        x0, y0, x1, y1 = bar["box"]
        draw.rectangle((x0, y0, x1, y1), fill=COLORS[bar["color"]])
        cx = (x0 + x1) // 2
        _text_centered(draw, cx, y0 - 8, str(bar["value"]), font, INK)
        _text_centered(draw, cx, base + 9, bar["label"], font, INK)


def draw_scene(scene: Scene | list[dict[str, Any]], size: int | None = None) -> bytes:
    """Render a scene to PNG bytes; ``size`` only applies to the old list form (a scene dict fixes its own)."""
    from PIL import Image, ImageDraw

    scene = _as_scene(scene, size)
    img = Image.new("RGB", (scene["size"], scene["size"]), BACKGROUND)
    draw = ImageDraw.Draw(img)
    if scene["kind"] == "chart":
        _draw_chart(draw, scene)
    else:
        for obj in scene["objects"]:
            _draw_object(draw, obj)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


# ---------------------------------------------------------------- texts


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def describe(scene: Scene | list[dict[str, Any]]) -> str:
    """The perception text: every object or bar of the scene, in a fixed templated order."""
    scene = _as_scene(scene)
    if scene["kind"] == "chart":
        bars = [f"{b['label']} is {b['value']} ({b['color']})" for b in scene["bars"]]
        return f"The chart has {len(bars)} bars: {_join(bars)}."
    if scene["kind"] == "digits":
        return (
            "The image shows "
            + _join([f"a {o['color']} {o['shape']} with {o['digit']}" for o in scene["objects"]])
            + "."
        )
    counts = Counter((o["color"], o["shape"]) for o in scene["objects"])
    return (
        "The image shows " + _join([f"{n} {c} {_plural(s, n)}" for (c, s), n in sorted(counts.items())]) + "."
    )


def _sum_text(values: list[int]) -> str:
    return f"{' + '.join(map(str, values))} = {sum(values)}."


# ---------------------------------------------------------------- tasks


@dataclass
class Item:
    """One question about one scene; ``pool`` holds plausible wrong options when it may be multiple choice."""

    task: str
    scene: Scene
    question: str
    answer: str
    reasoning: str | None = None
    pool: list[str] | None = None


def _numbers_near(answer: int, rng: random.Random, spread: int = 4) -> list[str]:
    """Wrong numeric options near the answer, never negative."""
    near = [v for v in range(answer - spread, answer + spread + 1) if v >= 0 and v != answer]
    return [str(v) for v in rng.sample(near, min(len(near), 6))]


def _until(make: Callable[[], Scene], ok: Callable[[Scene], bool]) -> Scene:
    """Draw scenes until one suits the question (the checks are loose, so this ends fast)."""
    while True:
        scene = make()
        if ok(scene):
            return scene


def _objects(scene: Scene) -> list[dict[str, Any]]:
    return scene["objects"]


def _unique_max(counts: Counter) -> bool:
    top = counts.most_common(2)
    return len(top) == 1 or top[0][1] > top[1][1]


# level 1: read-off


def shape_colour(rng: random.Random) -> Item:
    scene = objects_scene(rng, 1)
    color = _objects(scene)[0]["color"]
    return Item("shape-colour", scene, "What colour is the shape?", color, pool=list(COLORS))


def shape_name(rng: random.Random) -> Item:
    scene = objects_scene(rng, 1)
    shape = _objects(scene)[0]["shape"]
    return Item("shape-name", scene, "What shape is shown?", shape, pool=[*SHAPES, "star", "diamond"])


def digit_read(rng: random.Random) -> Item:
    scene = objects_scene(rng, 1, digits=True)
    d = _objects(scene)[0]["digit"]
    return Item("digit-read", scene, "What digit is shown?", str(d), pool=_numbers_near(d, rng))


def bar_value(rng: random.Random) -> Item:
    scene = chart_scene(rng, rng.randint(3, 5))
    bar = rng.choice(scene["bars"])
    q = f"What is the value of bar {bar['label']}?"
    return Item("bar-value", scene, q, str(bar["value"]), pool=_numbers_near(bar["value"], rng))


def bar_colour(rng: random.Random) -> Item:
    scene = chart_scene(rng, rng.randint(3, 5))
    bar = rng.choice(scene["bars"])
    return Item("bar-colour", scene, f"What colour is bar {bar['label']}?", bar["color"], pool=list(COLORS))


# level 2: perception, then a direct answer


def count_colour(rng: random.Random) -> Item:
    scene = objects_scene(rng, rng.randint(3, 7))
    color = rng.choice(sorted({o["color"] for o in _objects(scene)}))
    n = sum(o["color"] == color for o in _objects(scene))
    return Item(
        "count-colour", scene, f"How many {color} shapes are there?", str(n), pool=_numbers_near(n, rng)
    )


def count_shape(rng: random.Random) -> Item:
    scene = objects_scene(rng, rng.randint(3, 7))
    shape = rng.choice(sorted({o["shape"] for o in _objects(scene)}))
    n = sum(o["shape"] == shape for o in _objects(scene))
    return Item("count-shape", scene, f"How many {shape}s are there?", str(n), pool=_numbers_near(n, rng))


def digit_on(rng: random.Random) -> Item:
    """Find the one shape of a colour and kind, then read its digit."""
    scene = _until(
        lambda: objects_scene(rng, rng.randint(3, 6), digits=True),
        lambda s: 1 in Counter((o["color"], o["shape"]) for o in _objects(s)).values(),
    )
    pairs = Counter((o["color"], o["shape"]) for o in _objects(scene))
    color, shape = rng.choice(sorted(p for p, n in pairs.items() if n == 1))
    obj = next(o for o in _objects(scene) if (o["color"], o["shape"]) == (color, shape))
    q = f"What digit is on the {color} {shape}?"
    return Item("digit-on", scene, q, str(obj["digit"]), pool=_numbers_near(obj["digit"], rng))


def colour_of_digit(rng: random.Random) -> Item:
    scene = _until(
        lambda: objects_scene(rng, rng.randint(3, 6), digits=True),
        lambda s: any(n == 1 for n in Counter(o["digit"] for o in _objects(s)).values()),
    )
    digits = Counter(o["digit"] for o in _objects(scene))
    d = rng.choice(sorted(k for k, n in digits.items() if n == 1))
    obj = next(o for o in _objects(scene) if o["digit"] == d)
    q = f"What colour is the shape with the digit {d}?"
    return Item("colour-of-digit", scene, q, obj["color"], pool=list(COLORS))


def bar_extreme(rng: random.Random) -> Item:
    tallest = rng.random() < 0.5
    scene = _until(
        lambda: chart_scene(rng, rng.randint(3, 5)),
        lambda s: (
            Counter(b["value"] for b in s["bars"])[(max if tallest else min)(b["value"] for b in s["bars"])]
            == 1
        ),
    )
    pick = (max if tallest else min)(scene["bars"], key=lambda b: b["value"])
    word = "tallest" if tallest else "shortest"
    return Item(f"bar-{word}", scene, f"Which bar is the {word}?", pick["label"])


# level 3: perception and several steps of reasoning


def more_shapes(rng: random.Random) -> Item:
    scene = objects_scene(rng, rng.randint(4, 9))
    a, b = rng.sample(SHAPES, 2)
    na, nb = (sum(o["shape"] == s for o in _objects(scene)) for s in (a, b))
    if na < nb:
        (a, na), (b, nb) = (b, nb), (a, na)
    q = f"How many more {a}s than {b}s are there?"
    reasoning = f"Count the {a}s: {na}. Count the {b}s: {nb}. {na} - {nb} = {na - nb}."
    return Item("more-shapes", scene, q, str(na - nb), reasoning, _numbers_near(na - nb, rng))


def most_colour(rng: random.Random) -> Item:
    scene = _until(
        lambda: objects_scene(rng, rng.randint(4, 9)),
        lambda s: _unique_max(Counter(o["color"] for o in _objects(s))),
    )
    counts = Counter(o["color"] for o in _objects(scene))
    best, n = counts.most_common(1)[0]
    listed = ", ".join(f"{c} {counts[c]}" for c in COLORS if c in counts)
    reasoning = f"Count by colour: {listed}. The most is {best} with {n}."
    return Item("most-colour", scene, "Which colour has the most shapes?", best, reasoning, list(COLORS))


def _digit_sum(rng: random.Random, field: str, task: str, noun: Callable[[str], str]) -> Item:
    """Sum of the digits on the shapes sharing one colour (or one shape): find them, read, add."""
    scene = _until(
        lambda: objects_scene(rng, rng.randint(4, 7), digits=True),
        lambda s: max(Counter(o[field] for o in _objects(s)).values()) >= 2,
    )
    counts = Counter(o[field] for o in _objects(scene))
    key = rng.choice(sorted(k for k, n in counts.items() if n >= 2))
    values = [o["digit"] for o in _objects(scene) if o[field] == key]
    what = noun(key)
    reasoning = f"The {what} show {_join([str(v) for v in values])}. {_sum_text(values)}"
    q = f"What is the sum of the digits on the {what}?"
    return Item(task, scene, q, str(sum(values)), reasoning, _numbers_near(sum(values), rng))


def digit_sum_colour(rng: random.Random) -> Item:
    return _digit_sum(rng, "color", "digit-sum-colour", lambda c: f"{c} shapes")


def digit_sum_shape(rng: random.Random) -> Item:
    return _digit_sum(rng, "shape", "digit-sum-shape", lambda s: f"{s}s")


def bar_difference(rng: random.Random) -> Item:
    scene = _until(
        lambda: chart_scene(rng, rng.randint(3, 5)), lambda s: len({b["value"] for b in s["bars"]}) > 1
    )
    while True:
        hi, lo = rng.sample(scene["bars"], 2)
        if hi["value"] != lo["value"]:
            break
    if hi["value"] < lo["value"]:
        hi, lo = lo, hi
    diff = hi["value"] - lo["value"]
    q = f"How much taller is bar {hi['label']} than bar {lo['label']}?"
    reasoning = f"Bar {hi['label']} is {hi['value']} and bar {lo['label']} is {lo['value']}. {hi['value']} - {lo['value']} = {diff}."
    return Item("bar-difference", scene, q, str(diff), reasoning, _numbers_near(diff, rng))


def bar_total(rng: random.Random) -> Item:
    scene = chart_scene(rng, rng.randint(3, 5))
    values = [b["value"] for b in scene["bars"]]
    reasoning = f"The bars are {_join([str(v) for v in values])}. {_sum_text(values)}"
    q = "What is the total of all the bars?"
    return Item("bar-total", scene, q, str(sum(values)), reasoning, _numbers_near(sum(values), rng))


TASKS: dict[int, dict[str, tuple[Callable[[random.Random], Item], ...]]] = {
    1: {"shapes": (shape_colour, shape_name), "digits": (digit_read,), "chart": (bar_value, bar_colour)},
    2: {
        "shapes": (count_colour, count_shape),
        "digits": (digit_on, colour_of_digit),
        "chart": (bar_extreme,),
    },
    3: {
        "shapes": (more_shapes, most_colour),
        "digits": (digit_sum_colour, digit_sum_shape),
        "chart": (bar_difference, bar_total),
    },
}


# ---------------------------------------------------------------- records


def _mc(rng: random.Random, answer: str, pool: list[str]) -> tuple[list[str], str]:
    """Four options including the answer; returns (choices, letter)."""
    distractors = rng.sample([p for p in pool if p != answer], 3)
    choices = [*distractors, answer]
    rng.shuffle(choices)
    return choices, OPTION_LETTERS[choices.index(answer)]


def make_example(rng: random.Random, level: int, kind: str | None = None) -> dict[str, Any]:
    """One record (without its image path) at ``level``: 1 read-off, 2 perception, 3 multi-step."""
    kind = kind or rng.choice(KINDS)
    item = rng.choice(TASKS[level][kind])(rng)
    rec: dict[str, Any] = {"question": item.question, "answer": item.answer}
    if item.pool and len(set(item.pool) - {item.answer}) >= 3 and rng.random() < MC_SHARE:
        rec["choices"], rec["answer"] = _mc(rng, item.answer, item.pool)
    rec["perception"] = describe(item.scene)
    if item.reasoning:
        rec["reasoning"] = item.reasoning
    rec.update(format=level, task=item.task, scene=item.scene)
    return rec


WORLDS = ("mixed", "digits", "trio")


def world_levels(world: str) -> tuple[int, ...]:
    """The levels a world has questions at (a recipe's format policy is checked against them)."""
    if world == "mixed":
        return tuple(TASKS)
    if world == "digits":
        from avr.miniature.digits import TASKS as DIGIT_TASKS

        return tuple(DIGIT_TASKS)
    if world == "trio":
        from avr.miniature.trio import TASKS as TRIO_TASKS

        return tuple(TRIO_TASKS)
    raise ValueError(f"unknown synthetic world {world!r}; known: {', '.join(WORLDS)}")


def world_splits(world: str) -> tuple[str, ...]:
    """The splits a world draws from disjoint pools (empty: every set is drawn alike, seeds apart)."""
    if world == "trio":
        from avr.miniature.trio import SPLITS

        return SPLITS
    world_levels(world)  # an unknown world is an error here too
    return ()


def _example(rng: random.Random, world: str, level: int, split: str | None) -> tuple[dict[str, Any], bytes]:
    """One record (without id, image path and source) and its PNG."""
    if world == "digits":
        from avr.miniature.digits import draw_digits, make_digits_example

        rec = make_digits_example(rng, level)
        return rec, draw_digits(rec["scene"])
    if world == "trio":
        from avr.miniature.digits import draw_digits
        from avr.miniature.trio import make_trio_example

        rec = make_trio_example(rng, level, split or "")
        return rec, draw_digits(rec["scene"])
    rec = make_example(rng, level)
    rec["level"] = level
    return rec, draw_scene(rec["scene"])


def _split_for(world: str, split: str | None, name: str) -> str | None:
    """The split to draw from: ``split``, else ``name`` when it is one of the world's splits."""
    splits = world_splits(world)
    if not splits:
        if split is not None:
            raise ValueError(f"the {world} world has no splits (got split={split!r}); only trio has")
        return None
    split = split if split is not None else (name if name in splits else None)
    if split not in splits:
        raise ValueError(f"the {world} world needs split= one of {', '.join(splits)} (or such a name)")
    return split


FormatPolicy = list[int] | dict[int, dict[int, float]] | None


def format_shares(formats: FormatPolicy, levels: list[int]) -> dict[int, dict[int, float]] | None:
    """``formats`` as ``{level: {format: share of that level's items written in it}}`` (None: by level)."""
    if formats is None:
        return None
    if isinstance(formats, dict):
        shares = {int(lv): {int(f): float(x) for f, x in fm.items()} for lv, fm in formats.items()}
    else:
        shares = {lv: dict.fromkeys((int(f) for f in formats), 1.0) for lv in levels}
    for lv in levels:
        fm = shares.get(lv)
        if not fm or set(fm) - {1, 2, 3} or not all(0 <= x <= 1 for x in fm.values()) or max(fm.values()) < 1:
            raise ValueError(
                f"formats must be a non-empty list of 1, 2, 3, or per level {{format: share in [0, 1]}} with "
                f"one format at share 1 (every item needs a target), got {formats!r} for level {lv}"
            )
    return shares


def generate(
    out_dir: str | Path,
    n: int = 300,
    *,
    seed: int = 0,
    name: str = "synthetic",
    world: str = "mixed",
    levels: list[int] | None = None,
    formats: FormatPolicy = None,
    split: str | None = None,
) -> Path:
    """Write ``n`` items and their PNGs; returns the records JSONL path.

    ``world``: ``mixed`` (shapes, digits and bar charts at levels 1-3, the demo's original data),
    ``digits`` (``avr.miniature.digits``: two large digits, levels 1 and 3, the experiment's world) or
    ``trio`` (``avr.miniature.trio``: one to three digits, levels 1-3, a held-out split).
    ``levels``: the levels item ``i`` cycles through (default: all the world has), in equal shares;
    a level listed twice gets twice the items (``[1, 2, 3, 3]``: half the items at level 3).
    ``formats``: how SFT targets are assigned.
      - ``None``: each record in the format of its level (the paper's assignment, by difficulty);
      - a list such as ``[1, 3]``: every item once per listed format, so that SFT links no question
        to a format and the choice is left to RL;
      - ``{level: {format: share}}``: each item of a level is written in each format for that share
        of the level's items (chosen by a seeded draw per item), e.g. ``{1: {3: 1.0, 1: 0.75}}``.
    ``split``: which pool a world with splits (trio) draws from: ``sft``, ``rl`` or ``val`` (training
    combinations and phrasings), or ``heldout`` (the others); default ``name`` when it is one of
    them. Other worlds take none.
    """
    levels = list(levels) if levels else list(world_levels(world))
    unknown = sorted(set(levels) - set(world_levels(world)))
    if unknown:
        raise ValueError(f"the {world} world has levels {list(world_levels(world))}, not {unknown}")
    split = _split_for(world, split, name)
    shares = format_shares(formats, levels)
    out = Path(out_dir)
    rows = []
    for i in tqdm(range(n), desc="synthetic scenes", unit="row", disable=n < 2000):
        level = levels[i % len(levels)]
        # a split seeds its own stream, so the same seed draws unrelated items in each split
        rng = random.Random(f"{seed}:{i}" if split is None else f"{seed}:{split}:{i}")
        rec, png = _example(rng, world, level, split)
        rel = f"images/{name}-{i:06d}.png"
        write_bytes(out / rel, png)
        kind = rec["scene"]["kind"]
        base = {"id": f"{name}-{i:06d}", "image": rel, "source": f"synthetic-{kind}", **rec}
        if shares is None:
            rows.append(base)
            continue
        pick = random.Random(f"{seed}:{i}:formats")
        for f, share in sorted(shares[level].items()):
            if share >= 1 or pick.random() < share:
                rows.append({**base, "id": f"{base['id']}-f{f}", "format": f})
    path = out / f"{name}.jsonl"
    write_jsonl(path, rows)
    return path
