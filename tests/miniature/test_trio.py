"""The trio world: answers recomputed from the scene, levels set by the image, a held-out split that
shares no (digit combination, task) pair and no phrasing with training, and the digits world untouched.

The solver here reads the question's words and the stored scene; it shares no code with the
generator, so a bug in either shows up as a disagreement.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from avr.miniature import trio
from avr.miniature.digits import CELL, HEIGHT, JITTER, draw_digits
from avr.miniature.synthetic import generate

REPO = Path(__file__).resolve().parents[2]
N = 300  # items per split: every task and digit count many times
TRAIN = ("sft", "rl", "val")


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def sets(tmp_path_factory) -> dict[str, tuple[Path, list[dict[str, Any]]]]:
    root = tmp_path_factory.mktemp("trio")
    return {
        split: (root, _rows(generate(root, N, seed=4, name=split, world="trio", split=split)))
        for split in trio.SPLITS
    }


def _all(sets) -> list[dict[str, Any]]:
    return [r for _, recs in sets.values() for r in recs]


# ------------------------------------------------------------- an independent solver


def _digits(scene: dict[str, Any]) -> list[int]:
    return [d["digit"] for d in sorted(scene["digits"], key=lambda d: d["cell"])]


def solve(question: str, scene: dict[str, Any]) -> str:
    """The answer from the question's words and the scene; raises on a question it does not know."""
    digits = _digits(scene)
    if m := re.search(r"\b(left|middle|right)\b", question):
        (value,) = [
            d["digit"] for d in scene["digits"] if d["cell"] == ("left", "middle", "right").index(m[1])
        ]
        return str(value)
    if re.search(r"position|n-th|place", question):  # the k-th digit, k the number of odd ones
        k = len([d for d in digits if d in (1, 3, 5, 7, 9)])
        return str(digits[k - 1]) if k else "none"
    if re.search(r"(greater|above|larger) than 4|above 4", question):
        return str(len([d for d in digits if d >= 5]))
    if re.search(r"sum|add up|total|together", question) and "odd" in question:
        return str(sum(d for d in digits if d in (1, 3, 5, 7, 9)))
    if "odd" in question:
        return str(len([d for d in digits if d in (1, 3, 5, 7, 9)]))
    raise AssertionError(f"unknown question {question!r}")


def _expected_level(task: str, n: int) -> int:
    """The world's rule, written out again: a read-off or a lone digit's odd sum is a glance, the odd
    sum of three needs reasoning, the counts need perception."""
    if task == "read" or (task == "sum-odd" and n == 1):
        return 1
    return 3 if task in ("sum-odd", "pick") else 2


def _template(question: str) -> str:
    """The phrasing behind a question: its cell name and digit blanked out."""
    return re.sub(r"\d", "#", re.sub(r"\b(left|middle|right)\b", "POS", question))


def _pair(rec: dict[str, Any]) -> tuple[tuple[int, ...], str]:
    return tuple(sorted(_digits(rec["scene"]))), rec["task"]


# ------------------------------------------------------------- answers and levels


def test_every_answer_follows_from_the_scene_and_the_level_from_the_image(sets):
    recs = _all(sets)
    for r in recs:
        digits = _digits(r["scene"])
        assert r["answer"] == solve(r["question"], r["scene"]), r
        assert r["perception"] == (
            str(digits[0]) if len(digits) == 1 else ", ".join(map(str, digits[:-1])) + f" and {digits[-1]}"
        )
        assert r["reasoning"].rstrip(".").endswith(r["answer"]), r["reasoning"]
        assert r["level"] == r["format"] == _expected_level(r["task"], len(digits)), r
        assert r["task"] in trio.TASKS[r["level"]]
    assert {r["task"] for r in recs} == {"read", "sum-odd", "odd-count", "big-count", "pick"}
    for r in recs:  # the format-3 text takes steps the small LM can: one label per digit, one addition each
        digits = _digits(r["scene"])
        if r["task"] in ("odd-count", "sum-odd", "pick"):
            said = re.findall(r"(\d) (odd|even)", r["reasoning"])
            assert said == [(str(d), "odd" if d % 2 else "even") for d in digits], r["reasoning"]
        if r["task"] == "big-count":
            said = re.findall(r"(\d) (yes|no)", r["reasoning"])
            assert said == [(str(d), "yes" if d > 4 else "no") for d in digits], r["reasoning"]
        if r["task"] == "sum-odd":
            odd = [d for d in digits if d % 2]
            steps = re.findall(r"(\d+) \+ (\d) = (\d+)", r["reasoning"])
            assert len(steps) == max(0, len(odd) - 1), r["reasoning"]
            running = odd[0] if odd else 0
            for (a, b, c), d in zip(steps, odd[1:], strict=True):
                assert (int(a), int(b), int(c)) == (running, d, running + d), r["reasoning"]
                running += d
        if r["task"] == "pick":
            k = sum(d % 2 for d in digits)
            assert r["reasoning"].endswith(
                f"The {('1st', '2nd', '3rd')[k - 1]} is {digits[k - 1]}." if k else "0, so none."
            )
    answers = Counter(r["answer"] for r in recs if r["level"] == 2)
    assert set(answers) == {"0", "1", "2", "3"}, "every count, 0 to 3"
    three_odd = [
        r
        for r in recs
        if r["task"] == "sum-odd" and r["level"] == 3 and all(d % 2 for d in _digits(r["scene"]))
    ]
    assert three_odd and all(r["reasoning"].count("+") == 2 for r in three_odd)


def test_the_same_question_is_a_glance_or_a_sum_depending_on_the_image(sets):
    """Within one training split, one question text at level 1 (one digit drawn) and at level 3."""
    levels: dict[str, set[int]] = {}
    for r in sets["sft"][1]:
        levels.setdefault(r["question"], set()).add(r["level"])
        if r["task"] == "sum-odd":
            assert (r["level"] == 1) == (len(r["scene"]["digits"]) == 1)
    both = {q for q, lv in levels.items() if lv == {1, 3}}
    assert "What is the sum of the odd digits?" in both
    assert len(both) == len(trio.phrasings("sum-odd", heldout=False))  # every training phrasing of it


def test_scenes_are_well_formed_and_the_image_shows_them(sets):
    root, recs = sets["sft"]
    for r in recs:
        scene = r["scene"]
        cells = [d["cell"] for d in scene["digits"]]
        assert cells == sorted(set(cells)) and 1 <= len(cells) <= 3
        for d in scene["digits"]:
            assert abs(d["center"][0] - (d["cell"] * CELL + CELL // 2)) <= JITTER
            assert abs(d["center"][1] - HEIGHT // 2) <= JITTER
    for r in recs[:30]:
        img = Image.open(root / r["image"]).convert("L")
        assert img.size == (trio.WIDTH, HEIGHT) == (192, 64)
        px = img.load()
        filled = {d["cell"]: d for d in r["scene"]["digits"]}
        for cell in range(3):
            ink = [
                (x, y) for x in range(cell * CELL, (cell + 1) * CELL) for y in range(HEIGHT) if px[x, y] < 128
            ]
            if cell not in filled:
                assert not ink, "a blank cell is blank"
                continue
            assert len(ink) > 150, "a bold digit covers many pixels"
            cx, cy = sum(x for x, _ in ink) / len(ink), sum(y for _, y in ink) / len(ink)
            assert abs(cx - filled[cell]["center"][0]) < 8 and abs(cy - filled[cell]["center"][1]) < 8
        assert (root / r["image"]).read_bytes() == draw_digits(r["scene"])


# ------------------------------------------------------------- the held-out split


def test_heldout_pairs_and_phrasings_are_never_trained_on(sets):
    train = [r for s in TRAIN for r in sets[s][1]]
    held = sets["heldout"][1]
    assert {r["split"] for r in held} == {"heldout"} and {r["split"] for r in train} == set(TRAIN)
    train_pairs, held_pairs = {_pair(r) for r in train}, {_pair(r) for r in held}
    assert not train_pairs & held_pairs
    assert all(trio.is_heldout(*reversed(_pair(r))) for r in held)
    assert not any(trio.is_heldout(*reversed(_pair(r))) for r in train)
    train_texts, held_texts = (
        {_template(r["question"]) for r in train},
        {_template(r["question"]) for r in held},
    )
    assert not train_texts & held_texts
    assert len(held_texts) == 5 and len(train_texts) == 15  # one held-out and three training phrasings a task
    assert {r["phrasing"] for r in held} == {3} and {r["phrasing"] for r in train} == {0, 1, 2}
    # what is new is the combination, not its parts: every task and every digit is trained on
    assert {r["task"] for r in held} <= {r["task"] for r in train}
    assert {d for c, _ in held_pairs for d in c} <= {d for c, _ in train_pairs for d in c} == set(range(10))


def test_heldout_combos_asks_the_heldout_combinations_in_training_phrasings(sets):
    """One axis alone: the combinations are the held-out ones, every phrasing is a training one."""
    combos, held = sets["heldout-combos"][1], sets["heldout"][1]
    train = [r for s in TRAIN for r in sets[s][1]]
    assert {r["split"] for r in combos} == {"heldout-combos"}
    assert all(trio.is_heldout(*reversed(_pair(r))) for r in combos)
    assert {_template(r["question"]) for r in combos} == {_template(r["question"]) for r in train}
    assert {r["phrasing"] for r in combos} == {0, 1, 2}
    # drawn on their own stream: not the held-out items re-asked
    assert [r["scene"] for r in combos] != [r["scene"] for r in held]
    for r in combos:  # and every answer still follows from the scene
        assert solve(r["question"], r["scene"]) == r["answer"]


def test_the_heldout_combinations_are_a_fixed_quarter_of_each_task_and_digit_count():
    for (level, task), counts in trio.DIGIT_COUNTS.items():
        for n in counts:
            held, kept = trio.combo_pool(task, n, True), trio.combo_pool(task, n, False)
            assert held and kept and not set(held) & set(kept), (level, task, n)
            assert len(held) == -(-(len(held) + len(kept)) // 4)  # ceil(25%)
    # pinned: a change to the hash would silently move items between the splits of a rerun
    # (and, for a lone digit, both parities stay in training: 0-3 and 6-8)
    assert sorted(trio.heldout_combos("sum-odd", 1)) == [(4,), (5,), (9,)]


def test_val_is_training_combinations_on_new_images(sets):
    val = sets["val"][1]
    assert not any(trio.is_heldout(*reversed(_pair(r))) for r in val)
    assert all(trio.in_val_bucket(r["scene"]) for r in val)
    assert not any(trio.in_val_bucket(r["scene"]) for s in ("sft", "rl") for r in sets[s][1])
    root = sets["val"][0]
    images = {s: {(root / r["image"]).read_bytes() for r in sets[s][1]} for s in TRAIN}
    assert not images["val"] & (images["sft"] | images["rl"])


# ------------------------------------------------------------- shares


def _within(count: int, m: int, p: float) -> bool:
    """A Binomial(m, p) count within 4 standard deviations of its mean (a 1-in-16,000 miss)."""
    return abs(count / m - p) <= 4 * (p * (1 - p) / m) ** 0.5


def test_level_task_and_digit_count_shares(sets, tmp_path):
    """Levels cycle, so their shares are exact; within a level, the seeded draws are binomial."""
    recs = [r for s in TRAIN for r in sets[s][1]]
    by_level = Counter(r["level"] for r in recs)
    assert by_level == {1: len(recs) // 3, 2: len(recs) // 3, 3: len(recs) // 3}
    tasks = Counter((r["level"], r["task"]) for r in recs)
    m = by_level[1]
    assert _within(tasks[(1, "read")], m, 1 / 2)
    for task in trio.TASKS[2]:
        assert _within(tasks[(2, task)], by_level[2], 1 / 2), task
    assert _within(tasks[(1, "sum-odd")], m, 1 / 2)
    assert all(len(r["scene"]["digits"]) == 3 for r in recs if r["level"] > 1)
    # a level listed twice gets twice the items: the recipe's weighting of RL prompts
    path = generate(tmp_path, 40, seed=0, name="rl", world="trio", levels=[1, 2, 3, 3])
    assert Counter(r["level"] for r in _rows(path)) == {1: 10, 2: 10, 3: 20}


def test_every_item_in_every_format(tmp_path):
    path = generate(tmp_path, 9, seed=0, name="sft", world="trio", formats=[1, 2, 3])
    recs = _rows(path)
    assert [r["format"] for r in recs] == [1, 2, 3] * 9
    assert all(r["perception"] and r["reasoning"] for r in recs)


# ------------------------------------------------------------- determinism and the API


def test_same_seed_same_bytes_and_a_shorter_run_is_a_prefix(tmp_path):
    a = generate(tmp_path / "a", 24, seed=7, name="rl", world="trio")
    b = generate(tmp_path / "b", 24, seed=7, name="rl", world="trio")
    assert a.read_bytes() == b.read_bytes()
    for name in sorted(p.name for p in (tmp_path / "a" / "images").iterdir()):
        assert (tmp_path / "a" / "images" / name).read_bytes() == (
            tmp_path / "b" / "images" / name
        ).read_bytes()
    assert _rows(generate(tmp_path / "c", 12, seed=7, name="rl", world="trio")) == _rows(a)[:12]
    other = generate(tmp_path / "d", 24, seed=7, name="x", world="trio", split="sft")
    assert [r["scene"] for r in _rows(other)] != [r["scene"] for r in _rows(a)]  # each split its own stream


def test_the_split_comes_from_the_name_or_is_named(tmp_path):
    held = _rows(generate(tmp_path, 3, name="heldout", world="trio"))
    assert {r["split"] for r in held} == {"heldout"}
    with pytest.raises(ValueError, match="needs split= one of sft, rl, val, heldout"):
        generate(tmp_path, 2, name="test", world="trio")
    with pytest.raises(ValueError, match="needs split="):
        generate(tmp_path, 2, name="x", world="trio", split="train")
    with pytest.raises(ValueError, match="the digits world has no splits"):
        generate(tmp_path, 2, world="digits", split="heldout")
    with pytest.raises(ValueError, match=r"the trio world has levels \[1, 2, 3\], not \[4\]"):
        generate(tmp_path, 2, name="sft", world="trio", levels=[4])


# The digits world's records before the trio world was added (commit 5b10c7b): its output must not move.
DIGITS_BEFORE = {
    "plain": "49c288b5630742e57a691eaa3ce94d4c5c089b630e4dc5917da906030c91f27c",
    "policy": "1b537af3977d0c35cb7ffb21ca97a87b49c289c1aeabe5e140bb48c0b4e9e755",
}


def test_the_digits_world_is_unchanged(tmp_path):
    """Records hashed, not PNGs: the PNG bytes depend on the installed Pillow and FreeType."""
    policy = {1: {3: 1.0, 1: 0.75}, 3: {3: 1.0, 1: 0.25}}
    got = {
        "plain": generate(tmp_path / "p", 12, seed=3, name="d", world="digits"),
        "policy": generate(tmp_path / "f", 12, seed=3, name="d", world="digits", formats=policy),
    }
    assert {k: hashlib.sha256(p.read_bytes()).hexdigest() for k, p in got.items()} == DIGITS_BEFORE
    for r in _rows(got["plain"]):
        assert (tmp_path / "p" / r["image"]).read_bytes() == draw_digits(r["scene"])


# ------------------------------------------------------------- the experiment's plumbing


def test_the_experiment_draws_each_set_from_its_split(tmp_path):
    from avr.miniature.experiment.recipe import load_experiment
    from avr.miniature.experiment.run import build_world_data

    recipe = tmp_path / "mini.yaml"
    recipe.write_text(
        f"base: {REPO / 'train_configs' / 'experiment' / 'trio.yaml'}\n"
        "data: {sft_items: 8, rl_items: 16, val_items: 6, heldout_items: 9}\n"
    )
    exp = load_experiment(recipe)
    assert exp.world == "trio" and exp.data["rl_levels"] == [1, 2, 3, 3]
    paths = build_world_data(exp, tmp_path / "out")
    recs = {s: _rows(paths[s]) for s in ("sft", "rl", "val", "heldout", "heldout-combos")}
    assert {s: {r["split"] for r in rs} for s, rs in recs.items()} == {s: {s} for s in recs}
    assert exp.data["sft_levels"] == [1, 1, 2, 2, 3, 3]
    # every item in all three formats; 8 items cycle 1, 1, 2, 2, 3, 3, 1, 1: four level-1, two each of 2 and 3
    assert Counter(r["level"] for r in recs["sft"]) == {1: 4 * 3, 2: 2 * 3, 3: 2 * 3}
    assert Counter(r["level"] for r in recs["rl"]) == {1: 4, 2: 4, 3: 8}
    assert (paths["rl_dir"] / "val.parquet").is_file()
    import pyarrow.parquet as pq

    assert pq.read_table(paths["rl_dir"] / "val.parquet").num_rows == 6  # the val split, not a share of rl


def test_the_recipe_token_budgets_hold_the_longest_target():
    """An answer cut at max_new_tokens is graded wrong: the eval and RL budgets must hold the longest
    format-3 target (three odd digits summed in two steps), which outgrew the digits world's 64."""
    import random

    from avr.formats import build_target
    from avr.miniature.experiment.recipe import load_experiment
    from avr.miniature.tiny import build_tokenizer

    tok, rng = build_tokenizer(), random.Random(0)
    longest = max(
        len(tok(build_target(r["answer"], r["perception"], r["reasoning"], format=3))["input_ids"])
        for r in (trio.make_trio_example(rng, 1 + i % 3, "sft") for i in range(600))
    )
    exp = load_experiment(REPO / "train_configs" / "experiment" / "trio.yaml")
    assert 64 < longest < exp.eval["max_new_tokens"] - 8
    assert exp.grpo["overrides"]["data.max_response_length"] == exp.eval["max_new_tokens"]
