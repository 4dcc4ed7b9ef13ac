"""Reward throughput on a realistic batch of 1,024 responses (MC, numbers, LaTeX, malformed).

Prints responses/s and the p50/p99/max time of one call for avr's reward (exact grading, math-verify
in a child process), and the same for the reference arithmetic with its substring grader,
re-implemented here from DESIGN.md, as a ratio. Goal for avr: the whole batch in <= 0.25 s on one
core (>= 4,000 responses/s).

    .venv/bin/python benchmarks/reward_throughput.py [--n 1024] [--seed 0]
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import time

from avr.grading import warm_up
from avr.rl.reward import RewardConfig, score_response

CHOICES = ["red", "blue", "green", "yellow"]


def make_batch(n: int, seed: int) -> list[tuple[str, str, list[str] | None]]:
    """(response, ground truth, choices): a quarter each of MC, numbers, LaTeX and malformed/long text."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            gt = rng.choice("ABCD")
            ans = rng.choice(
                [gt, f"({gt})", f"{gt}.", "Option " + gt, rng.choice("ABCD"), CHOICES["ABCD".index(gt)]]
            )
            rows.append((f"<answer>{ans}</answer>", gt, CHOICES))
        elif kind == 1:
            v = rng.randint(0, 5000)
            ans = rng.choice([str(v), f"{v:,}", f"{v}.0", str(v + 1), str(v * 10)])
            per = "The chart shows " + " ".join(str(rng.randint(0, 99)) for _ in range(20)) + "."
            rows.append((f"<perception>{per}</perception><answer>{ans}</answer>", str(v), None))
        elif kind == 2:
            a, b = rng.randint(1, 9), rng.randint(2, 9)
            gt = rng.choice([f"\\frac{{{a}}}{{{b}}}", f"\\sqrt{{{a}}}", f"{a}x+{b}"])
            ans = rng.choice(
                [gt, f"{a}/{b}", f"\\frac{{{a * 2}}}{{{b * 2}}}", f"{b}+{a}x", f"\\sqrt{{{a + 1}}}"]
            )
            steps = " ".join(f"step {k}: {a}*{k}={a * k}." for k in range(30))
            rows.append(
                (
                    f"<perception>a figure</perception><reasoning>{steps}</reasoning><answer>{ans}</answer>",
                    gt,
                    None,
                )
            )
        else:
            junk = " ".join(
                rng.choice(["so", "the", "answer", "is", "B", "<answer>", "12"]) for _ in range(60)
            )
            rows.append((junk, rng.choice(["B", "12"]), None))
    return rows


def reference_reward(response: str, gt: str, choices: list[str] | None) -> float:
    """The seed's arithmetic with its substring grader (what FS-GRPO replaced)."""
    m = re.search(r"<answer>(.*?)</answer>", response, re.DOTALL)
    if m is None:
        return -1.0
    fmt = 3 if "<reasoning>" in response else 2 if "<perception>" in response else 1
    a, g = m.group(1).strip().lower(), gt.strip().lower()
    if choices and len(g) == 1:
        correct = re.search(rf"\b{re.escape(g)}\b", a) is not None
    else:
        correct = a in g or g in a
    length = len(response.split()) * 1.3
    lf = 1.0 if length <= 300 else max(0.3, 300 / length)
    bonus, penalty = {1: 0.5, 2: 0.3, 3: 0.0}, {1: -0.5, 2: -0.2, 3: 0.0}
    return (1 + bonus[fmt]) * lf if correct else penalty[fmt] * lf


def timed(fn, rows) -> tuple[float, list[float]]:
    per_call = []
    t0 = time.perf_counter()
    for row in rows:
        s = time.perf_counter()
        fn(*row)
        per_call.append(time.perf_counter() - s)
    return time.perf_counter() - t0, per_call


def report(name: str, total: float, per_call: list[float]) -> None:
    q = statistics.quantiles(per_call, n=100)
    print(
        f"{name:<28} {len(per_call) / total:>10.0f} responses/s   batch {total:.3f} s   "
        f"p50 {q[49] * 1e3:.3f} ms   p99 {q[98] * 1e3:.3f} ms   max {max(per_call) * 1e3:.1f} ms"
    )


def latex_breakdown(rows) -> None:
    """Where the LaTeX time goes: math-verify's own parse and verify on the batch's distinct pairs,
    in this process (no child, no cache), so the floor set by math-verify itself is visible."""
    from math_verify import parse, verify

    from avr.formats import parse as parse_response
    from avr.grading import looks_like_math

    pairs = set()
    for resp, gt, _ in rows:
        p = parse_response(resp)
        if p.valid and p.answer != gt and looks_like_math(p.answer):
            pairs.add((gt, p.answer))
    verify(parse("$1$"), parse("$2$"))  # import and warm sympy outside the timing
    t_parse = t_verify = 0.0
    for gold, pred in sorted(pairs):
        t0 = time.perf_counter()
        g, a = parse(f"${gold}$"), parse(f"${pred}$")
        t1 = time.perf_counter()
        verify(g, a)
        t_verify += time.perf_counter() - t1
        t_parse += t1 - t0
    print(
        f"math-verify alone on the {len(pairs)} distinct LaTeX pairs: parse {t_parse:.3f} s, "
        f"verify {t_verify:.3f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--latex-breakdown", action="store_true", help="also time math-verify's parse/verify")
    args = ap.parse_args()
    rows = make_batch(args.n, args.seed)
    config = RewardConfig.load("paper")
    warm_up()

    def avr_call(resp, gt, choices):
        return score_response(resp, gt, length=len(resp) / 4, choices=choices, config=config)

    timed(avr_call, rows[:64])  # warm caches
    avr_total, avr_calls = timed(avr_call, rows)
    ref_total, ref_calls = timed(reference_reward, rows)
    print(f"batch of {args.n} responses (MC, numbers, LaTeX, malformed), one process")
    report("avr (paper preset)", avr_total, avr_calls)
    report("reference (substring grader)", ref_total, ref_calls)
    print(
        f"avr / reference time: {avr_total / ref_total:.1f}x   goal for avr: batch <= 0.25 s -> "
        f"{'met' if avr_total <= 0.25 else 'NOT met'}"
    )
    if args.latex_breakdown:
        latex_breakdown(rows)


if __name__ == "__main__":
    main()
