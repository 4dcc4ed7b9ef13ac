"""The experiment's world: a row of large digits, questions that read one or combine them.

The miniature experiment (``avr experiment``) needs a world where a small model trained from scratch
can *see* (so perception is learnable in minutes on a CPU) and where format matters:

- level 1, read-off: "What is the left digit?" A glance answers it; writing the digits out and
  reasoning adds tokens and nothing else.
- level 3, combine: "What is the sum of the two digits?" A small model cannot add two digits it
  has only seen as pixels in one step, but it can write them down (perception) and then add the
  written digits (reasoning).

An earlier world of many small shapes, charts and templated sentences (``avr.miniature.synthetic``'s
``mixed`` world) taught a 3.9M-parameter model the formats but no content: its perception texts
dominated the loss, and it never learned to read the vision tokens. So here the images are few,
large, high-contrast glyphs (two digits on 128x64 pixels: 8 vision tokens for Qwen3-VL's 32-pixel
merged patches) and every target is short.

Every record stores its ``scene`` (the digits and where they are drawn), so a test can recompute each
answer and check the pixels.
"""

from __future__ import annotations

import io
import random
from functools import lru_cache
from typing import Any

WIDTH, HEIGHT = 128, 64  # two 64x64 cells
CELL = 64
GLYPH = 56  # font size in pixels: a digit fills most of its cell
STROKE = 3  # bold strokes: a random vision tower's features then vary twice as much with the digit
JITTER = 5  # the glyph centre moves up to this many pixels in x and y, so position is not a shortcut

Scene = dict[str, Any]

# level -> tasks. Level 2 is absent on purpose: this world separates "a glance suffices" from "the
# written steps are needed", the two cases the experiment's precondition is about.
TASKS: dict[int, tuple[str, ...]] = {1: ("read-left", "read-right"), 3: ("sum", "difference")}


@lru_cache(maxsize=4)
def _font(size: int) -> Any:
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def digits_scene(rng: random.Random) -> Scene:
    """Two digits 0-9, each centred in its cell with a small random offset."""
    digits = []
    for i in range(2):
        cx = i * CELL + CELL // 2 + rng.randint(-JITTER, JITTER)
        cy = HEIGHT // 2 + rng.randint(-JITTER, JITTER)
        digits.append({"digit": rng.randint(0, 9), "center": [cx, cy]})
    return {"kind": "digit-row", "width": WIDTH, "height": HEIGHT, "digits": digits}


def draw_digits(scene: Scene) -> bytes:
    """Black digits on white, PNG bytes; equal scenes give equal bytes."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (scene["width"], scene["height"]), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    font = _font(GLYPH)
    for d in scene["digits"]:
        text = str(d["digit"])
        x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font, stroke_width=STROKE)
        cx, cy = d["center"]
        draw.text(
            (cx - (x0 + x1) // 2, cy - (y0 + y1) // 2),
            text,
            fill=(0, 0, 0),
            font=font,
            stroke_width=STROKE,
            stroke_fill=(0, 0, 0),
        )
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def perception_text(scene: Scene) -> str:
    """What is seen, in reading order: ``"2 and 9"``."""
    a, b = (d["digit"] for d in scene["digits"])
    return f"{a} and {b}"


def solve(task: str, scene: Scene) -> tuple[str, str, str]:
    """``(question, answer, reasoning)`` for ``task`` on ``scene``; the reasoning uses the perception."""
    a, b = (d["digit"] for d in scene["digits"])
    if task in ("read-left", "read-right"):
        pos = task.removeprefix("read-")
        value = a if pos == "left" else b
        return f"What is the {pos} digit?", str(value), f"The {pos} one is {value}."
    if task == "sum":
        return "What is the sum of the two digits?", str(a + b), f"{a} + {b} = {a + b}."
    if task == "difference":
        hi, lo = max(a, b), min(a, b)
        return (
            "What is the larger digit minus the smaller one?",
            str(hi - lo),
            f"{hi} - {lo} = {hi - lo}.",
        )
    raise ValueError(f"unknown digits task {task!r}; known: {[t for ts in TASKS.values() for t in ts]}")


def make_digits_example(rng: random.Random, level: int) -> dict[str, Any]:
    """One record (without its image path) at ``level`` (1 or 3)."""
    if level not in TASKS:
        raise ValueError(f"the digits world has levels {sorted(TASKS)}, not {level}")
    scene = digits_scene(rng)
    task = rng.choice(TASKS[level])
    question, answer, reasoning = solve(task, scene)
    return {
        "question": question,
        "answer": answer,
        "perception": perception_text(scene),
        "reasoning": reasoning,
        "format": level,
        "level": level,
        "task": task,
        "scene": scene,
    }
