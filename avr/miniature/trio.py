"""A second experiment world: three cells that hold one to three digits, questions at three levels.

The digits world (``avr.miniature.digits``) separates two cases, a glance and a sum. This world adds
the middle case and makes the image, not only the question, decide how much thinking is needed:

- level 1, a glance (format 1): "What is the middle digit?" on three digits, or "What is the sum of
  the digits?" when the image holds a single digit (the sum is the digit: nothing to add).
- level 2, perception (format 2): "Which digit comes right after the 7?", "How many digits are
  odd?", "What is the largest digit?" on two or three digits. Once the digits are written out
  ("4, 7 and 2") the answer is a look-up in that text, with no arithmetic chain; a 7 that is absent
  or last gives "none".
- level 3, reasoning (format 3): "What is the sum of the digits?" on two or three digits, one
  addition per step ("4 + 9 = 13, 13 + 2 = 15.").

The sum question reads the same at levels 1 and 3; only the number of digits drawn tells which, so a
model that chooses its format from the question alone cannot be right at both.

Held-out items test generalisation on two axes at once. Each question type (``task``) holds out a
fixed quarter of the digit combinations (the sorted digits shown, per number of digits), chosen by a
hash, and each task has a phrasing that only held-out items use. Training splits (``sft``, ``rl``,
``val``) draw only the other combinations and phrasings, so no held-out (combination, task) pair or
phrasing is ever trained on. ``val`` uses the training pool too but only scenes whose hash falls in
its own bucket, which ``sft`` and ``rl`` never draw, so its images are new while its questions are
not: tuning on it says nothing about the held-out axes.

The drawing is the digits world's (same font, glyph size, stroke and jitter; ``draw_digits`` draws
any scene width), on 192x64 pixels: three 64x64 cells, 12 vision tokens. Every record stores its
``scene`` (each digit, its cell and centre), so a test can recompute every answer from it and the
question.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from functools import cache
from itertools import combinations_with_replacement
from typing import Any

from avr.miniature.digits import CELL, HEIGHT, JITTER

CELLS = ("left", "middle", "right")
WIDTH = len(CELLS) * CELL  # 192: three 64x64 cells

Scene = dict[str, Any]

# level -> tasks. "sum" is at two levels: one digit drawn makes it a glance, two or three a sum.
TASKS: dict[int, tuple[str, ...]] = {1: ("read", "sum"), 2: ("after", "odd-count", "largest"), 3: ("sum",)}

# How many digits a task's scene holds, per level. A read-off asks a named cell, so all three are
# filled (no blank makes "left" ambiguous); level-2 questions need at least two digits to look up.
DIGIT_COUNTS: dict[tuple[int, str], tuple[int, ...]] = {
    (1, "read"): (3,),
    (1, "sum"): (1,),
    (2, "after"): (2, 3),
    (2, "odd-count"): (2, 3),
    (2, "largest"): (2, 3),
    (3, "sum"): (2, 3),
}

# Every task's phrasings; the last one of each is asked only in the held-out split.
PHRASINGS: dict[str, tuple[str, ...]] = {
    "read": (
        "What is the {pos} digit?",
        "Which digit is in the {pos} cell?",
        "Read the {pos} digit.",
        "What digit sits in the {pos} cell?",
    ),
    "sum": (
        "What is the sum of the digits?",
        "What do the digits add up to?",
        "What is the total of the digits?",
        "How much do the digits make together?",
    ),
    "after": (
        "Which digit comes right after the {d}?",
        "What digit follows the {d}?",
        "What is the next digit after the {d}?",
        "Reading left to right, which digit comes after the {d}?",
    ),
    "odd-count": (
        "How many digits are odd?",
        "How many of the digits are odd?",
        "Count the odd digits.",
        "What is the number of odd digits?",
    ),
    "largest": (
        "What is the largest digit?",
        "Which digit is the biggest?",
        "What is the highest digit shown?",
        "Which is the greatest of the digits?",
    ),
}

SPLITS = ("sft", "rl", "val", "heldout")
HELDOUT_SHARE = 0.25  # of each (task, number of digits)'s combinations
VAL_BUCKETS = 8  # val draws the scenes of one bucket in 8, sft and rl the other seven
NONE = "none"  # the answer to "after the 7" when there is no 7, or nothing after it


# ---------------------------------------------------------------- the split


def _rank(*key: Any) -> str:
    """A stable hash (Python's ``hash`` of a str changes per process)."""
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()


@cache
def heldout_combos(task: str, n: int) -> frozenset[tuple[int, ...]]:
    """The combinations of ``n`` digits that ``task`` asks about only in the held-out split.

    A fixed share of each (task, n), at least one, so every held-out pool is non-empty and most
    combinations stay in training; the hash spreads them over digits.
    """
    combos = list(combinations_with_replacement(range(10), n))
    k = max(1, math.ceil(HELDOUT_SHARE * len(combos)))
    return frozenset(sorted(combos, key=lambda c: _rank(task, c))[:k])


def is_heldout(task: str, digits: list[int] | tuple[int, ...]) -> bool:
    """Whether the (combination, task) pair of a scene's digits belongs to the held-out split."""
    return tuple(sorted(digits)) in heldout_combos(task, len(digits))


@cache
def combo_pool(task: str, n: int, heldout: bool) -> tuple[tuple[int, ...], ...]:
    """The combinations a split draws from, in a fixed order (so the seeded choice is reproducible)."""
    held = heldout_combos(task, n)
    return tuple(c for c in combinations_with_replacement(range(10), n) if (c in held) == heldout)


def phrasings(task: str, heldout: bool) -> tuple[str, ...]:
    """The templates a split asks ``task`` in: the last for held-out items, the others for training."""
    every = PHRASINGS[task]
    return every[-1:] if heldout else every[:-1]


def in_val_bucket(scene: Scene) -> bool:
    """Whether a scene belongs to ``val``; sft and rl draw only scenes outside it (new images for val)."""
    key = [(d["cell"], d["digit"], *d["center"]) for d in scene["digits"]]
    return int(_rank("val", key), 16) % VAL_BUCKETS == 0


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"the trio world's splits are {', '.join(SPLITS)}, not {split!r}")


# ---------------------------------------------------------------- scenes


def place(rng: random.Random, digits: list[int]) -> Scene:
    """``digits`` in reading order in randomly chosen cells (the rest blank), each centre jittered."""
    cells = sorted(rng.sample(range(len(CELLS)), len(digits)))
    drawn = [
        {
            "digit": d,
            "cell": c,
            "center": [
                c * CELL + CELL // 2 + rng.randint(-JITTER, JITTER),
                HEIGHT // 2 + rng.randint(-JITTER, JITTER),
            ],
        }
        for d, c in zip(digits, cells, strict=True)
    ]
    return {"kind": "digit-trio", "width": WIDTH, "height": HEIGHT, "digits": drawn}


def trio_scene(rng: random.Random, combo: tuple[int, ...], split: str) -> Scene:
    """The combination shuffled into cells, redrawn until the scene is in its split's val bucket or out.

    Combinations are drawn uniformly from a split's pool (so 7-7-7 is as likely as 1-4-9), then
    ordered at random. One scene in ``VAL_BUCKETS`` is in the bucket, so a few draws suffice; the
    bound only turns an impossible request into an error instead of a hang.
    """
    digits = list(combo)
    rng.shuffle(digits)
    for _ in range(10_000):
        scene = place(rng, digits)
        if split == "heldout" or in_val_bucket(scene) == (split == "val"):
            return scene
    raise RuntimeError(f"no {split} scene for {combo} in 10,000 draws")


def shown(scene: Scene) -> list[int]:
    """The digits in reading order (blank cells skipped)."""
    return [d["digit"] for d in sorted(scene["digits"], key=lambda d: d["cell"])]


def _join(values: list[int]) -> str:
    words = [str(v) for v in values]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def perception_text(scene: Scene) -> str:
    """What is seen, in reading order: ``"4, 9 and 2"``, ``"4 and 2"`` or ``"5"``."""
    return _join(shown(scene))


# ---------------------------------------------------------------- tasks


def level_of(task: str, n: int) -> int:
    """The cheapest sufficient format for ``task`` on ``n`` digits, from the image as much as the words."""
    if task == "read" or (task == "sum" and n == 1):
        return 1
    return 3 if task == "sum" else 2


def digit_after(digits: list[int], d: int) -> str:
    """The digit right after ``d`` in reading order, or ``"none"`` when ``d`` is absent or last."""
    if d not in digits:
        return NONE
    i = digits.index(d)
    return str(digits[i + 1]) if i + 1 < len(digits) else NONE


def pick_after_target(rng: random.Random, digits: list[int]) -> int:
    """The digit to ask "after the d" about: two times in three one shown once (so unambiguous), else
    one not shown (the answer is then "none" after looking, not before)."""
    once = [d for d in digits if digits.count(d) == 1]
    if once and rng.random() < 2 / 3:
        return rng.choice(once)
    return rng.choice([d for d in range(10) if d not in digits])


def solve(task: str, scene: Scene, ask: str = "") -> tuple[str, str]:
    """``(answer, reasoning)`` for ``task`` on ``scene``; ``ask`` names the cell (read) or the digit (after).

    The reasoning is written for every item, so that any item can be an SFT row in format 3.
    """
    digits = shown(scene)
    if task == "read":
        value = next(d["digit"] for d in scene["digits"] if CELLS[d["cell"]] == ask)
        return str(value), f"The {ask} one is {value}."
    if task == "sum":
        if len(digits) == 1:
            return str(digits[0]), f"The only digit is {digits[0]}."
        # One addition per step ("4 + 9 = 13, 13 + 2 = 15."): a 3M-parameter LM that fails a
        # three-digit sum written as one step (28-30% in the first trial) can learn two-operand facts.
        steps, total = [], digits[0]
        for d in digits[1:]:
            steps.append(f"{total} + {d} = {total + d}")
            total += d
        return str(total), ", ".join(steps) + "."
    if task == "after":
        answer = digit_after(digits, int(ask))
        if int(ask) not in digits:
            return answer, f"There is no {ask}, so none."
        if answer == NONE:
            return answer, f"The {ask} is last, so none."
        return answer, f"After the {ask} comes {answer}."
    if task == "odd-count":
        # Each digit's parity, then the count ("4 even, 7 odd, 2 even: 1."): one look-up per digit.
        odd = sum(d % 2 for d in digits)
        return str(odd), ", ".join(f"{d} {'odd' if d % 2 else 'even'}" for d in digits) + f": {odd}."
    if task == "largest":
        return str(max(digits)), f"The largest is {max(digits)}."
    raise ValueError(f"unknown trio task {task!r}; known: {sorted(PHRASINGS)}")


def _ask(rng: random.Random, task: str, digits: list[int]) -> str:
    """What the question names, if anything: a cell for a read-off, a digit for "after"."""
    if task == "read":
        return rng.choice(CELLS)
    if task == "after":
        return str(pick_after_target(rng, digits))
    return ""


def make_trio_example(rng: random.Random, level: int, split: str) -> dict[str, Any]:
    """One record (without its image path) at ``level`` (1, 2 or 3), drawn from ``split``'s pool."""
    if level not in TASKS:
        raise ValueError(f"the trio world has levels {sorted(TASKS)}, not {level}")
    _check_split(split)
    heldout = split == "heldout"
    task = rng.choice(TASKS[level])
    n = rng.choice(DIGIT_COUNTS[(level, task)])
    assert level_of(task, n) == level, (task, n)  # the table and the rule agree: the image sets the level
    scene = trio_scene(rng, rng.choice(combo_pool(task, n, heldout)), split)
    ask = _ask(rng, task, shown(scene))
    template = rng.choice(phrasings(task, heldout))
    answer, reasoning = solve(task, scene, ask)
    return {
        "question": template.format(pos=ask, d=ask),
        "answer": answer,
        "perception": perception_text(scene),
        "reasoning": reasoning,
        "format": level,
        "level": level,
        "task": task,
        "split": split,
        "phrasing": PHRASINGS[task].index(template),
        "scene": scene,
    }
