"""A second experiment world: three cells that hold one to three digits, questions at three levels.

The digits world (``avr.miniature.digits``) separates two cases, a glance and a sum. This world adds
the middle case and makes the image, not only the question, decide how much thinking is needed:

- level 1, a glance (format 1): "What is the middle digit?" on three digits, or "What is the sum of
  the odd digits?" when the image holds a single digit (the digit itself, or 0: nothing to add).
- level 2, perception (format 2): "How many digits are odd?", "How many digits are greater than 4?"
  on three digits. Once the digits are written out ("4, 7 and 2") each is one look-up and the answer
  a count of at most three; answered directly, the three cells must be read and judged in one pass.
- level 3, reasoning (format 3), on three digits: "What is the sum of the odd digits?" (each digit's
  parity, then one addition per step: "3 odd, 8 even, 9 odd: 3 + 9 = 12.") and "Count the odd
  digits; which digit is at that position?" (two dependent look-ups: "4 even, 7 odd, 9 odd: 2. The
  2nd is 7.", or "none" when no digit is odd).

The sum-odd question reads the same at levels 1 and 3; only the number of digits drawn tells which,
so a model that chooses its format from the question alone cannot be right at both.

Why these tasks (``docs/miniature.md``, "A second world"): a first version asked the digit after a
named one, the largest digit and the sum of all digits. The 3M-parameter LM answered the largest as
well directly as after writing the digits (90-95%), never learned to copy the digit after a named
one even from its own text, and added two digits in one pass from the written digits (74%), so
none of them separated the levels. Counting and filtering per digit separate them better, though
the LM still does more in one pass than the targets' bounds allow (the trial table there).

Held-out items test generalisation on two axes at once. Each question type (``task``) holds out a
fixed quarter of the digit combinations (the sorted digits shown, per number of digits), chosen by a
hash, and each task has a phrasing that only held-out items use. Training splits (``sft``, ``rl``,
``val``) draw only the other combinations and phrasings, so no held-out (combination, task) pair or
phrasing is ever trained on. ``heldout-combos`` asks the held-out combinations in the training
phrasings: one axis alone, so a report can tell a new combination from a new sentence (a 3M LM
trained from scratch has never seen a held-out phrasing's new words, such as "number" or "make"). ``val`` uses the training pool too but only scenes whose hash falls in
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

# level -> tasks. "sum-odd" is at two levels: one digit drawn makes it a glance, three a sum.
TASKS: dict[int, tuple[str, ...]] = {
    1: ("read", "sum-odd"),
    2: ("odd-count", "big-count"),
    3: ("sum-odd", "pick"),
}

# How many digits a task's scene holds, per level. A read-off asks a named cell, so all three are
# filled (no blank makes "left" ambiguous). The counts take three digits: with two, a direct answer
# is right half the time by guessing "1" (the first trial's direct odd-count on two digits: 75%).
DIGIT_COUNTS: dict[tuple[int, str], tuple[int, ...]] = {
    (1, "read"): (3,),
    (1, "sum-odd"): (1,),
    (2, "odd-count"): (3,),
    (2, "big-count"): (3,),
    (3, "sum-odd"): (3,),
    (3, "pick"): (3,),
}

# Every task's phrasings; the last one of each is asked only in the held-out split.
PHRASINGS: dict[str, tuple[str, ...]] = {
    "read": (
        "What is the {pos} digit?",
        "Which digit is in the {pos} cell?",
        "Read the {pos} digit.",
        "What digit sits in the {pos} cell?",
    ),
    "sum-odd": (
        "What is the sum of the odd digits?",
        "What do the odd digits add up to?",
        "What is the total of the odd digits?",
        "How much do the odd digits make together?",
    ),
    "odd-count": (
        "How many digits are odd?",
        "How many of the digits are odd?",
        "Count the odd digits.",
        "What is the number of odd digits?",
    ),
    "big-count": (
        "How many digits are greater than 4?",
        "How many of the digits are above 4?",
        "Count the digits greater than 4.",
        "What is the number of digits larger than 4?",
    ),
    "pick": (
        "Count the odd digits; which digit is at that position?",
        "Which digit is at the position given by the number of odd digits?",
        "If n is the number of odd digits, what is the n-th digit?",
        "What digit stands at the place given by how many digits are odd?",
    ),
}

NONE = "none"  # the n-th digit when no digit is odd
ORDINALS = {1: "1st", 2: "2nd", 3: "3rd"}
SPLITS = ("sft", "rl", "val", "heldout", "heldout-combos")
HELDOUT_SPLITS = ("heldout", "heldout-combos")  # held-out combinations; the first also its phrasings
HELDOUT_SHARE = 0.25  # of each (task, number of digits)'s combinations
VAL_BUCKETS = 8  # val draws the scenes of one bucket in 8, sft and rl the other seven


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
        if split in HELDOUT_SPLITS or in_val_bucket(scene) == (split == "val"):
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
    if task == "read" or (task == "sum-odd" and n == 1):
        return 1
    return 3 if task in ("sum-odd", "pick") else 2


def _marks(digits: list[int], label: Any) -> str:
    """One look-up per digit, in reading order: ``"4 even, 7 odd, 2 even"``."""
    return ", ".join(f"{d} {label(d)}" for d in digits)


def _parity(d: int) -> str:
    return "odd" if d % 2 else "even"


def solve(task: str, scene: Scene, ask: str = "") -> tuple[str, str]:
    """``(answer, reasoning)`` for ``task`` on ``scene``; ``ask`` names the cell of a read-off.

    The reasoning is written for every item, so that any item can be an SFT row in format 3. Its
    steps are ones a 3M-parameter LM learns (the SFT trials' per-task findings, docs/miniature.md):
    one label per digit, then a count, additions of two operands, or a look-up by position.
    """
    digits = shown(scene)
    if task == "read":
        value = next(d["digit"] for d in scene["digits"] if CELLS[d["cell"]] == ask)
        return str(value), f"The {ask} one is {value}."
    if task == "big-count":
        big = sum(d > 4 for d in digits)
        return str(big), f"{_marks(digits, lambda d: 'yes' if d > 4 else 'no')}: {big}."
    odd, parities = [d for d in digits if d % 2], _marks(digits, _parity)
    if task == "odd-count":
        return str(len(odd)), f"{parities}: {len(odd)}."
    if task == "sum-odd":
        steps, total = [], odd[0] if odd else 0
        for d in odd[1:]:
            steps.append(f"{total} + {d} = {total + d}")
            total += d
        return str(total), f"{parities}: {', '.join(steps) or total}."
    if task == "pick":
        # meant as two dependent look-ups (a count, then the digit at that position); one pass still
        # gets 69-71% of them on val (docs/miniature.md), format 3 all
        if not odd:
            return NONE, f"{parities}: 0, so none."
        picked = digits[len(odd) - 1]
        return str(picked), f"{parities}: {len(odd)}. The {ORDINALS[len(odd)]} is {picked}."
    raise ValueError(f"unknown trio task {task!r}; known: {sorted(PHRASINGS)}")


def _ask(rng: random.Random, task: str) -> str:
    """What the question names, if anything: a cell for a read-off."""
    return rng.choice(CELLS) if task == "read" else ""


def make_trio_example(rng: random.Random, level: int, split: str) -> dict[str, Any]:
    """One record (without its image path) at ``level`` (1, 2 or 3), drawn from ``split``'s pool."""
    if level not in TASKS:
        raise ValueError(f"the trio world has levels {sorted(TASKS)}, not {level}")
    _check_split(split)
    held_combos = split in HELDOUT_SPLITS
    task = rng.choice(TASKS[level])
    n = rng.choice(DIGIT_COUNTS[(level, task)])
    assert level_of(task, n) == level, (task, n)  # the table and the rule agree: the image sets the level
    scene = trio_scene(rng, rng.choice(combo_pool(task, n, held_combos)), split)
    ask = _ask(rng, task)
    template = rng.choice(phrasings(task, heldout=split == "heldout"))
    answer, reasoning = solve(task, scene, ask)
    return {
        "question": template.format(pos=ask),
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
