"""Grading tables: every case the reward issue names, plus the time bound in threads."""

import threading
import time

import pytest

from avr.grading import grade, ground_truths, is_correct, parse_number, warm_up

CH = ["red", "blue", "green", "yellow"]


@pytest.fixture(scope="module", autouse=True)
def _math_worker():
    warm_up()


@pytest.mark.parametrize(
    "answer, gt, choices, expected",
    [
        # multiple choice: the letter in its usual spellings
        ("B", "B", CH, True),
        ("(B)", "B", CH, True),
        ("B.", "B", CH, True),
        ("B)", "B", CH, True),
        ("b", "B", CH, True),
        ("Option B", "B", CH, True),
        ("option (B)", "B", CH, True),
        ("The answer is B", "B", CH, True),
        ("B. blue", "B", CH, True),
        ("(B) Blue", "B", CH, True),
        ("blue", "B", CH, True),  # the choice text itself
        ("Blue.", "B", CH, True),
        ("B", "blue", CH, True),  # ground truth given as the choice text
        ("B. red", "B", CH, False),  # letter and text disagree
        ("A, B", "B", CH, False),  # several options
        ("A and B", "B", CH, False),
        ("B or C", "B", CH, False),
        ("E", "B", CH, False),  # no option E
        ("a cat", "A", CH, False),  # an article is not option A
        ("a", "A", CH, True),  # but a bare letter is
        ("C", "B", CH, False),
        ("", "B", CH, False),
        # numbers
        ("1,000", "1000", None, True),
        ("1000", "1,000", None, True),
        ("5.0", "5", None, True),
        ("5", "5.00", None, True),
        ("-3", "-3.0", None, True),
        ("1/2", "0.5", None, True),
        ("\\frac{1}{2}", "0.5", None, True),
        ("$\\frac{3}{4}$", "0.75", None, True),
        ("\\boxed{12}", "12", None, True),
        ("0.33", "1/3", None, True),  # equal at the precision written (2 places)
        ("0.3", "1/3", None, False),  # one place is not enough
        ("12", "120", None, False),  # never a digit substring
        ("2", "12", None, False),
        ("120", "12", None, False),
        ("12 apples", "12", None, False),
        ("50%", "50", None, True),
        ("1,00", "100", None, False),  # not a thousands separator
        # math through math-verify
        ("\\sqrt{2}/2", "\\frac{\\sqrt{2}}{2}", None, True),
        ("x^2+2x+1", "(x+1)^2", None, True),
        ("2\\pi", "\\pi \\cdot 2", None, True),
        ("x^2", "x^3", None, False),
        # text
        ("The Eiffel Tower", "eiffel tower", None, True),
        ("  red ", "Red.", None, True),
        ("an apple", "apple", None, True),
        ("red car", "red", None, False),
        ("cat", "dog", None, False),
        # several acceptable answers
        ("2", ["two", "2"], None, True),
        ("two", ["two", "2"], None, True),
        ("3", ["two", "2"], None, False),
        # empty answers and ground truths
        ("", "x", None, False),
        ("   ", "x", None, False),
        ("x", "", None, False),
        ("x", [], None, False),
        ("x", None, None, False),
        ("", "", None, False),
    ],
)
def test_is_correct(answer, gt, choices, expected):
    assert is_correct(answer, gt, choices) is expected


def test_long_answers_and_non_strings_are_wrong():
    assert not is_correct("a" * 5000, "a" * 5000)
    assert not is_correct(None, "x")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "s, value",
    [
        ("1,234.5", 1234.5),
        ("-7", -7),
        ("3/4", 0.75),
        ("\\dfrac{1}{4}", 0.25),
        # the sign of a negative fraction, wherever it is written
        ("-3/4", -0.75),
        ("3/-4", -0.75),
        ("-\\frac{3}{4}", -0.75),
        ("\\frac{-3}{4}", -0.75),
        ("-\\dfrac{3}{4}", -0.75),
        ("$-\\frac{3}{4}$", -0.75),
    ],
)
def test_parse_number(s, value):
    assert float(parse_number(s)[0]) == value


@pytest.mark.parametrize(
    "answer, gt, expected",
    [
        ("-1/2", "1/2", False),
        ("1/2", "-1/2", False),
        ("-\\frac{1}{2}", "\\frac{1}{2}", False),
        ("\\frac{1}{2}", "-\\frac{1}{2}", False),
        ("-\\frac{1}{2}", "-0.5", True),
        ("\\frac{-1}{2}", "-1/2", True),
        # typographic forms NFKC leaves alone grade as their ASCII forms
        ("\u22125", "-5", True),
        ("\u22125", "5", False),
        ("\u2212\\frac{1}{2}", "-0.5", True),
        ("x \u2212 1", "x-1", True),
        ("\u201cyes\u201d", "yes", True),
        ("3\u00d74", "3*4", True),
    ],
)
def test_signs_and_typographic_minus(answer, gt, expected):
    assert is_correct(answer, gt) is expected


@pytest.mark.parametrize("s", ["12 apples", "1/0", "x", "", "1e5000", "1.2.3"])
def test_parse_number_rejects(s):
    assert parse_number(s) is None


def test_ground_truths_drop_empty_entries():
    assert ground_truths(["", " a ", None, 3]) == ["a", "3"]
    assert ground_truths(None) == []


SLOW = ("(x+1)^{100000}", "(x+2)^{99999}")  # sympy would expand this for a long time


def test_runaway_math_is_cut_at_the_deadline_and_the_worker_recovers():
    t0 = time.monotonic()
    assert is_correct(*SLOW) is False
    assert time.monotonic() - t0 < 1.0
    assert grade(*SLOW) == grade(*SLOW, timeout=0.5)  # both cut short, and they say so
    assert grade(*SLOW).timed_out and not grade(*SLOW).correct
    assert grade("x+2", "x+1").timed_out is False  # a real "no" is not a timeout
    assert is_correct("\\frac{\\sqrt{2}}{2}", "\\sqrt{2}/2") is True  # a fresh child took over


def test_time_bound_holds_in_threads():
    """Signal-based timeouts do not fire outside the main thread; ours must."""
    times: list[float] = []

    def grade():
        t0 = time.monotonic()
        is_correct(*SLOW)
        times.append(time.monotonic() - t0)

    threads = [threading.Thread(target=grade) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert len(times) == 3 and max(times) < 1.0


@pytest.mark.parametrize(
    "answer, gt, expected",
    [
        ("x+1", "x-1", False),
        ("x+1", "1+x", True),
        ("a-b", "a+b", False),
        ("1/2", "2/1", False),
        ("x^{12}", "x^{1}2", False),  # braces matter: no text normalisation of math
        ("\\sqrt{12}", "\\sqrt{1}2", False),
        ("x^{ 2 }", "x^{2}", True),
    ],
)
def test_operators_are_not_punctuation(answer, gt, expected):
    assert is_correct(answer, gt) is expected


# A stand-in for the math-verify child with the same line protocol: "slow" pairs take 1.5 s.
_SLOW_CHILD = (
    "import json, sys, time\n"
    "print('ready', flush=True)\n"
    "for line in sys.stdin:\n"
    "    gold, pred = json.loads(line)\n"
    "    if gold == 'slow':\n"
    "        time.sleep(1.5)\n"
    "    print('1' if gold == pred else '0', flush=True)\n"
)


def test_concurrent_math_calls_do_not_queue_behind_a_slow_one():
    import sys

    from avr.grading import _MathVerifier

    pool = _MathVerifier(max_workers=2, cmd=[sys.executable, "-c", _SLOW_CHILD])
    try:
        pool.start()
        done: list[str] = []
        slow = threading.Thread(
            target=lambda: done.append(f"slow:{pool.equal('slow', 'slow', time.monotonic() + 5)}")
        )
        slow.start()
        time.sleep(0.2)  # the slow pair now holds one child
        assert pool.equal("x^2", "x^2", time.monotonic() + 5)  # a second child answers meanwhile
        done.append("fast")
        slow.join()
        assert done == ["fast", "slow:True"] and pool.children == 2
        # with both children busy and none allowed beyond max_workers, a call waits its deadline, then says no
        single = _MathVerifier(max_workers=1, cmd=[sys.executable, "-c", _SLOW_CHILD])
        t = threading.Thread(target=single.equal, args=("slow", "y", time.monotonic() + 5))
        t.start()
        time.sleep(0.3)
        assert single.equal("a", "a", time.monotonic() + 0.2) is None and single.children == 1  # unknown
        t.join()
        single.close()
    finally:
        pool.close()
