"""Built-in demo data: procedurally drawn scenes with questions at three levels of need.

Each scene is a few coloured shapes on a grid. Questions come in three kinds, so that each format
is the natural answer to some of them:

- read-off (format 1): one shape, "what colour/shape is it?";
- perception (format 2): "how many <colour> shapes?" needs the scene described first;
- multi-step (format 3): "how many more <shape A> than <shape B>?" needs the scene and arithmetic.

The perception and reasoning texts are written from the scene, and the scene itself is stored in
each record (``scene``), so a test can recompute every answer. Deterministic from the seed.
"""

from __future__ import annotations

import io
import random
from collections import Counter
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
GRID = 4  # a GRID x GRID lattice of cells, one shape a cell at most


def _plural(shape: str, n: int) -> str:
    return shape if n == 1 else shape + "s"


def draw_scene(scene: list[dict[str, Any]], size: int = 128) -> bytes:
    """Render a scene (list of {shape, color, cell}) to PNG bytes."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (size, size), (255, 255, 255))
    d = ImageDraw.Draw(img)
    cell = size // GRID
    pad = cell // 6
    for obj in scene:
        r, c = divmod(obj["cell"], GRID)
        x0, y0, x1, y1 = c * cell + pad, r * cell + pad, (c + 1) * cell - pad, (r + 1) * cell - pad
        fill = COLORS[obj["color"]]
        if obj["shape"] == "circle":
            d.ellipse((x0, y0, x1, y1), fill=fill)
        elif obj["shape"] == "square":
            d.rectangle((x0, y0, x1, y1), fill=fill)
        else:
            d.polygon([((x0 + x1) // 2, y0), (x0, y1), (x1, y1)], fill=fill)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def describe(scene: list[dict[str, Any]]) -> str:
    """The perception text: every (colour, shape) group with its count, in a fixed order."""
    counts = Counter((o["color"], o["shape"]) for o in scene)
    parts = [f"{n} {color} {_plural(shape, n)}" for (color, shape), n in sorted(counts.items())]
    return (
        "The image shows "
        + (", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0])
        + "."
    )


def _random_scene(rng: random.Random, n: int) -> list[dict[str, Any]]:
    cells = rng.sample(range(GRID * GRID), n)
    return [
        {"shape": rng.choice(SHAPES), "color": rng.choice(list(COLORS)), "cell": c} for c in sorted(cells)
    ]


def _mc(rng: random.Random, answer: str, pool: list[str]) -> tuple[list[str], str]:
    """Four options including the answer; returns (choices, letter)."""
    distractors = rng.sample([p for p in pool if p != answer], 3)
    choices = [*distractors, answer]
    rng.shuffle(choices)
    return choices, OPTION_LETTERS[choices.index(answer)]


def make_example(rng: random.Random, level: int) -> dict[str, Any]:
    """One record (without its image path) at the given level: 1 read-off, 2 perception, 3 multi-step."""
    if level == 1:
        scene = _random_scene(rng, 1)
        obj = scene[0]
        if rng.random() < 0.5:
            q, a, pool = "What colour is the shape?", obj["color"], list(COLORS)
        else:
            q, a, pool = "What shape is shown?", obj["shape"], [*SHAPES, "star"]
        rec: dict[str, Any] = {"question": q, "answer": a, "format": 1, "kind": "read-off"}
        if rng.random() < 0.5:
            choices, letter = _mc(rng, a, pool)
            rec.update(choices=choices, answer=letter)
        rec["perception"] = describe(scene)
    elif level == 2:
        scene = _random_scene(rng, rng.randint(3, 7))
        color = rng.choice(sorted({o["color"] for o in scene}))
        n = sum(o["color"] == color for o in scene)
        rec = {
            "question": f"How many {color} shapes are there?",
            "answer": str(n),
            "perception": describe(scene),
            "format": 2,
            "kind": "count",
        }
    else:
        scene = _random_scene(rng, rng.randint(4, 9))
        a_shape, b_shape = rng.sample(SHAPES, 2)
        na = sum(o["shape"] == a_shape for o in scene)
        nb = sum(o["shape"] == b_shape for o in scene)
        diff = na - nb
        rec = {
            "question": f"How many more {a_shape}s than {b_shape}s are there? Answer with a number, negative if fewer.",
            "answer": str(diff),
            "perception": describe(scene),
            "reasoning": (
                f"Count the {a_shape}s: {na}. Count the {b_shape}s: {nb}. "
                f"The difference is {na} - {nb} = {diff}."
            ),
            "format": 3,
            "kind": "compare",
        }
    rec["scene"] = scene
    return rec


def generate(out_dir: str | Path, n: int = 300, *, seed: int = 0, name: str = "synthetic") -> Path:
    """Write ``n`` records (levels in equal thirds) and their PNGs; returns the records JSONL path."""
    out = Path(out_dir)
    rng = random.Random(seed)
    rows = []
    for i in tqdm(range(n), desc="synthetic scenes", unit="row", disable=n < 500):
        level = 1 + i % 3
        rec = make_example(rng, level)
        rel = f"images/{name}-{i:06d}.png"
        write_bytes(out / rel, draw_scene(rec["scene"]))
        rows.append({"id": f"{name}-{i:06d}", "image": rel, "source": f"synthetic-{rec.pop('kind')}", **rec})
    path = out / f"{name}.jsonl"
    write_jsonl(path, rows)
    return path
