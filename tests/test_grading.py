"""Grading tables: every case the reward issue names, plus the time bound in threads.

A verdict is asserted with a deadline of ``PATIENT`` seconds: a 1 s deadline is production's
trade-off, and on a loaded machine a freshly started math-verify child (sympy's import alone) can
miss it, which would make a right answer read as a timeout. The time bound itself has its own tests,
which assert what it means (the call comes back, says ``timed_out``, and its child is killed) with a
bound seconds wide, against an input that sympy would expand for minutes.
"""

import sys
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from types import SimpleNamespace

import pytest

import avr.grading
from avr.grading import (
    _MathVerifier,
    choice_letter,
    gold_letter,
    grade,
    ground_truths,
    is_correct,
    looks_like_math,
    normalize_text,
    numbers_equal,
    parse_number,
    strip_wrappers,
)

CH = ["red", "blue", "green", "yellow"]
PATIENT = 60.0  # seconds: a deadline no verdict should need, even on a loaded machine


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
    assert is_correct(answer, gt, choices, timeout=PATIENT) is expected


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
    assert is_correct(answer, gt, timeout=PATIENT) is expected


@pytest.mark.parametrize("s", ["12 apples", "1/0", "x", "", "1e5000", "1.2.3"])
def test_parse_number_rejects(s):
    assert parse_number(s) is None


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ("0.33", "1/3", True),  # 2 places written: compared at 2 places
        ("0.3", "1/3", False),  # 1 place is not enough to round
        ("0.67", "2/3", True),  # rounded, not truncated
        ("0.66", "2/3", False),
        ("0.333", "0.33", True),  # the fewer places written decide
        ("0.33", "0.333", True),
        ("0.336", "0.33", False),
        ("1.5", "1.54", False),  # 1 place never rounds
        ("1.50", "1.5", True),  # equal values
        ("2", "2.0", True),
    ],
)
def test_decimal_places(a, b, expected):
    assert numbers_equal(parse_number(a), parse_number(b)) is expected
    assert is_correct(a, b) is expected


def test_parse_number_reports_the_places_written():
    assert parse_number("1,234.50") == (Fraction(123450, 100), 2)
    assert parse_number("7") == (Fraction(7), None)
    assert parse_number("-0.125") == (Fraction(-1, 8), 3)
    assert parse_number(".5") == (Fraction(1, 2), 1)
    assert parse_number("3/4") == (Fraction(3, 4), None)


def test_gold_letters_beyond_the_options_are_no_letters():
    assert gold_letter("D", CH) == "D" and gold_letter("(d).", CH) == "D"
    assert gold_letter("E", CH) is None  # four options: E names none of them
    assert gold_letter("blue", CH) == "B" and gold_letter(" Blue. ", CH) == "B"
    assert gold_letter("blue", ["blue", "Blue"]) is None  # two options with that text name no one
    assert is_correct("D", "E", CH) is False  # never an option; "E" is only text
    assert is_correct("yellow", "D", CH) is True and is_correct("yellow", "E", CH) is False


def test_ground_truths_drop_empty_entries():
    assert ground_truths(["", " a ", None, 3]) == ["a", "3"]
    assert ground_truths(None) == []


SLOW = ("(x+1)^{100000}", "(x+2)^{99999}")  # sympy would expand this for minutes
SLACK = 10.0  # seconds past the deadline that scheduling on a loaded machine may add; a runaway takes minutes


def _wait_until(cond: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll instead of sleeping a guessed time: a loaded machine may start a thread late."""
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "condition not reached"
        time.sleep(0.01)


@pytest.fixture
def one_child(monkeypatch) -> _MathVerifier:
    """``grade`` on a pool of its own with one child, so the test sees which process it kills."""
    pool = _MathVerifier(max_workers=1)
    pool.start()
    monkeypatch.setattr(avr.grading, "_MATH", pool)
    yield pool
    pool.close()


def test_runaway_math_is_cut_at_the_deadline_and_the_child_is_killed(one_child):
    (child,) = one_child._idle
    proc = child._proc
    t0 = time.monotonic()
    verdict = grade(*SLOW, timeout=1.0)
    elapsed = time.monotonic() - t0
    assert verdict.timed_out and not verdict.correct  # cut short, and it says so: not a "no"
    assert proc.poll() is not None  # the child that ran it was killed and reaped
    assert elapsed < 1.0 + SLACK  # back at the deadline, not after sympy's minutes
    assert is_correct(*SLOW, timeout=0.5) is False  # ``is_correct`` reads a timeout as wrong


def test_after_a_kill_a_fresh_child_gives_real_verdicts(one_child):
    assert grade(*SLOW, timeout=0.5).timed_out
    assert grade("x+2", "x+1", timeout=PATIENT) == avr.grading.Grade(False)  # a real "no", not a timeout
    assert is_correct("\\frac{\\sqrt{2}}{2}", "\\sqrt{2}/2", timeout=PATIENT) is True
    assert one_child.children == 1


def test_a_timeout_is_not_cached_and_a_verdict_is(one_child):
    assert grade(*SLOW, timeout=0.5).timed_out
    assert (SLOW[1], SLOW[0], None) not in one_child._cache
    assert grade("x^2", "x*x", timeout=PATIENT).correct
    assert one_child._cache[("x*x", "x^2", None)] is True


def test_a_deadline_already_spent_grades_nothing_more(monkeypatch):
    """Several golds: once the deadline has passed, the rest are not tried, and the grade says why."""
    clock = iter([0.0, 100.0, 200.0, 300.0])  # an injected clock: the first gold takes 100 s
    monkeypatch.setattr(avr.grading, "time", SimpleNamespace(monotonic=lambda: next(clock)))
    tried: list[str] = []

    def matches(answer, gold, *_):
        tried.append(gold)
        return False

    monkeypatch.setattr(avr.grading, "_matches", matches)
    assert grade("a", ["b", "c", "d"], timeout=1.0) == avr.grading.Grade(False, timed_out=True)
    assert tried == ["b"]


def test_time_bound_holds_in_threads():
    """Signal-based timeouts do not fire outside the main thread; ours must: each thread gets its
    answer back, cut short, not after sympy's minutes."""
    results: list[tuple[avr.grading.Grade, float]] = []

    def run() -> None:
        t0 = time.monotonic()
        results.append((grade(*SLOW, timeout=1.0), time.monotonic() - t0))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 3
    assert all(g.timed_out and not g.correct for g, _ in results)
    assert max(s for _, s in results) < 1.0 + SLACK


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
    assert is_correct(answer, gt, timeout=PATIENT) is expected


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
            target=lambda: done.append(f"slow:{pool.equal('slow', 'slow', time.monotonic() + PATIENT)}")
        )
        slow.start()
        _wait_until(lambda: not pool._idle)  # the slow pair now holds the one child
        assert pool.equal("x^2", "x^2", time.monotonic() + PATIENT)  # a second child answers meanwhile
        done.append("fast")
        slow.join()
        assert done == ["fast", "slow:True"] and pool.children == 2
        # with both children busy and none allowed beyond max_workers, a call waits its deadline, then says no
        single = _MathVerifier(max_workers=1, cmd=[sys.executable, "-c", _SLOW_CHILD])
        t = threading.Thread(target=single.equal, args=("slow", "y", time.monotonic() + PATIENT))
        t.start()
        _wait_until(lambda: single.children == 1 and not single._idle)
        assert single.equal("a", "a", time.monotonic() + 0.2) is None and single.children == 1  # unknown
        t.join()
        single.close()
    finally:
        pool.close()


# --- the pieces, one by one ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("s", "expected"),
    [
        ("$\\boxed{5}$", "5"),  # repeatedly, outside in
        ("\\boxed{ $7$ }", "7"),
        ("\\text{cat}", "cat"),
        ("\\(x\\)", "x"),
        ("\\[x^2\\]", "x^2"),
        ("$$3$$", "3"),
        ("{5}", "{5}"),  # bare braces are not a wrapper
    ],
)
def test_strip_wrappers(s, expected):
    assert strip_wrappers(s) == expected


@pytest.mark.parametrize(
    ("s", "expected"),
    [
        ("The  Cat!", "cat"),
        ("an apple.", "apple"),
        ("x + 1", "x + 1"),  # operators are kept
        ("ﬁle", "file"),  # NFKC
        ("  Red, Blue ", "red blue"),
        ("theory", "theory"),  # an article only as a whole word
    ],
)
def test_normalize_text(s, expected):
    assert normalize_text(s) == expected


@pytest.mark.parametrize(
    ("s", "expected"),
    [
        ("\\frac{1}{2}", True),
        ("x^2", True),
        ("2x", True),
        ("x+1", True),
        ("a1", True),
        ("sqrt 2", True),
        ("2 pi", True),
        ("red car", False),
        ("12", False),
        ("B", False),
    ],
)
def test_looks_like_math(s, expected):
    assert looks_like_math(s) is expected


def test_the_number_of_math_children(monkeypatch):
    monkeypatch.setenv("AVR_MATH_WORKERS", "3")
    assert avr.grading._default_workers() == 3
    monkeypatch.setenv("AVR_MATH_WORKERS", "0")
    assert avr.grading._default_workers() == 1
    monkeypatch.delenv("AVR_MATH_WORKERS")
    monkeypatch.setattr(avr.grading.os, "cpu_count", lambda: 16)
    assert avr.grading._default_workers() == 4
    monkeypatch.setattr(avr.grading.os, "cpu_count", lambda: None)
    assert avr.grading._default_workers() == 1
    assert _MathVerifier(max_workers=2).max_workers == 2


# A child that answers "1" exactly when it is asked with float_rounding 2, and echoes equality otherwise.
_ROUNDING_CHILD = (
    "import json, sys\n"
    "print('ready', flush=True)\n"
    "for line in sys.stdin:\n"
    "    req = json.loads(line)\n"
    "    ok = req[2] == 2 if len(req) == 3 else req[0] == req[1]\n"
    "    print('1' if ok else '0', flush=True)\n"
)


def test_float_rounding_reaches_the_child_and_verdicts_are_cached_per_rounding(monkeypatch):
    import sys

    monkeypatch.setattr(avr.grading, "MATH_CACHE_SIZE", 2)
    pool = _MathVerifier(max_workers=1, cmd=[sys.executable, "-c", _ROUNDING_CHILD])
    try:
        deadline = time.monotonic() + PATIENT
        assert pool.equal("a", "b", deadline) is False
        assert pool.equal("a", "b", deadline, float_rounding=2) is True
        assert pool._cache == {("a", "b", None): False, ("a", "b", 2): True}
        assert pool.equal("c", "c", deadline) is True  # a third verdict evicts the oldest
        assert list(pool._cache) == [("a", "b", 2), ("c", "c", None)]
        assert pool.children == 1
    finally:
        pool.close()
    assert pool.children == 0 and not pool._idle


def test_a_cached_verdict_is_answered_without_asking_a_child():
    import sys

    # says "equal" to its first question and "not equal" to every later one
    first_only = "import sys\nprint('ready', flush=True)\nfor i, _ in enumerate(sys.stdin):\n    print('0' if i else '1', flush=True)\n"
    pool = _MathVerifier(max_workers=1, cmd=[sys.executable, "-c", first_only])
    try:
        assert pool.equal("a", "a", time.monotonic() + PATIENT) is True
        assert pool.equal("a", "a", time.monotonic() + PATIENT) is True  # the cache, not the child's "0"
        assert pool.equal("a", "b", time.monotonic() + PATIENT) is False  # a new pair: asked
        assert pool.children == 1
    finally:
        pool.close()


def test_a_child_that_dies_is_no_verdict_and_is_replaced():
    import sys

    dying = "import sys\nprint('ready', flush=True)\nsys.stdin.readline()\n"  # exits on the first question
    pool = _MathVerifier(max_workers=1, cmd=[sys.executable, "-c", dying])
    try:
        assert pool.equal("a", "a", time.monotonic() + PATIENT) is None
        assert pool.equal("b", "b", time.monotonic() + PATIENT) is None  # a new child, which dies too
        assert pool._cache == {}  # no verdict is cached
    finally:
        pool.close()
    silent = _MathVerifier(max_workers=1, cmd=[sys.executable, "-c", "import time; time.sleep(60)"])
    with pytest.raises(RuntimeError, match="the math-verify worker did not start"):
        silent.start(wait=0.5)  # never says "ready"
    silent.close()


def test_grade_passes_float_rounding_to_math_verify(monkeypatch):
    """MATH-V's rounding must reach the child through ``grade`` and ``_matches``, not stop at them."""
    import sys

    pool = _MathVerifier(max_workers=1, cmd=[sys.executable, "-c", _ROUNDING_CHILD])
    monkeypatch.setattr(avr.grading, "_MATH", pool)
    try:
        assert grade("x+1", "x+2", timeout=PATIENT).correct is False  # the child compares as is
        assert grade("x+1", "x+2", timeout=PATIENT, float_rounding=2).correct is True
    finally:
        pool.close()


def test_two_lines_in_one_read_are_both_kept():
    """A child's "ready" and its first verdict can arrive in one read; the second line is the next
    answer, not lost and not an error."""
    import sys

    eager = "import sys\nprint('ready\\n1', flush=True)\nsys.stdin.readline()\nsys.stdin.readline()\n"
    child = avr.grading._MathChild([sys.executable, "-c", eager])
    try:
        assert child.ask("a", "b", time.monotonic() + PATIENT) is True  # the "1" sent before the question
    finally:
        child.kill()


class _RefillingCondition:
    """A condition whose wait returns a child to the pool (as another thread's check-in would) and
    records how long it was asked to wait: the pool's wait path with no thread and no clock race."""

    def __init__(self, pool: _MathVerifier) -> None:
        self.pool, self.waits = pool, []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def wait(self, timeout: float) -> bool:
        self.waits.append(timeout)
        self.pool._idle.append("returned child")
        return True

    def notify(self) -> None:
        pass


def test_a_full_pool_waits_for_a_child_until_the_deadline():
    pool = _MathVerifier(max_workers=1, cmd=["unused"])
    pool._count = 1  # the one child is busy
    cond = pool._cond = _RefillingCondition(pool)
    assert pool._checkout(time.monotonic() + 0.5) == "returned child"  # half a second left: it waits
    assert len(cond.waits) == 1 and 0 < cond.waits[0] <= 0.5
    assert pool._checkout(time.monotonic() - 1.0) is None  # the deadline passed: no wait, no child
    assert len(cond.waits) == 1


# --- boundaries the full mutation run found unpinned ------------------------------------------------


def test_number_spacing_latex_commas_and_the_length_bound():
    assert parse_number("1 000") == (Fraction(1000), None)
    assert parse_number("1{,}000") == (Fraction(1000), None)
    assert parse_number("\\frac{3}{1}") == (Fraction(3), None)  # a denominator of 1 is a number
    assert parse_number("1" * 64) == (Fraction(int("1" * 64)), None)  # at the bound: still read
    assert parse_number("1" * 65) is None  # past it: not a number we compare


def test_choice_letters_at_the_edges():
    assert choice_letter("cat", ["cat", "Cat", "dog"]) is None  # a text two options share names neither
    assert choice_letter("D", ["a", "b", "c"]) is None  # one past the last option
    assert choice_letter("C", ["a", "b", "c"]) == "C"


def test_grade_edges_without_math_verify():
    assert grade(123, "123") == avr.grading.Grade(False)  # not a string: wrong, not "unknown"
    assert grade("a", []) == avr.grading.Grade(False) and grade("a", []).timed_out is False  # no gold
    long = "a" * avr.grading.MAX_ANSWER_CHARS
    assert grade(long, long).correct and not grade(long + "a", long + "a").correct  # the cap is inclusive
    assert grade("A", "cat", choices=["cat"]).correct  # one option is still a multiple-choice item


def _clock(monkeypatch, *times: float) -> None:
    it = iter(times)
    monkeypatch.setattr(avr.grading, "time", SimpleNamespace(monotonic=lambda: next(it)))


def test_the_deadline_ends_at_the_timeout_less_the_kill_reserve(monkeypatch):
    """timeout 0.1 s < the 0.15 s kept to kill a child: no time at all, so after the first gold the
    rest are skipped, and the grade says it ran out of time."""
    monkeypatch.setattr(avr.grading, "_matches", lambda *a: False)
    _clock(monkeypatch, 0.0, 0.0)
    assert grade("a", ["b", "c"], timeout=0.1) == avr.grading.Grade(False, timed_out=True)


def test_running_out_of_time_at_the_last_gold_is_a_real_no(monkeypatch):
    tried: list[str] = []
    monkeypatch.setattr(avr.grading, "_matches", lambda a, g, *rest: tried.append(g) or False)
    _clock(monkeypatch, 0.0, 1.0, 100.0)  # the deadline (5 s) passes while the second of three golds runs
    assert grade("a", ["b", "c", "d"], timeout=5.0) == avr.grading.Grade(False, timed_out=True)
    assert tried == ["b", "c"]
    tried.clear()
    _clock(monkeypatch, 0.0, 1.0, 100.0)  # ... and while the last of two: every gold was tried
    assert grade("a", ["b", "c"], timeout=5.0) == avr.grading.Grade(False, timed_out=False)


def test_a_timed_out_gold_with_time_left_is_reported(monkeypatch):
    verdicts = iter([None, False])  # math-verify ran out on the first gold; the second is a plain no
    monkeypatch.setattr(avr.grading, "_matches", lambda *a: next(verdicts))
    _clock(monkeypatch, 0.0, 0.0, 0.0)
    assert grade("a", ["b", "c"], timeout=5.0) == avr.grading.Grade(False, timed_out=True)


def test_is_correct_passes_its_timeout_on(monkeypatch):
    seen: list[float] = []
    monkeypatch.setattr(
        avr.grading, "grade", lambda *a, timeout: seen.append(timeout) or avr.grading.Grade(True)
    )
    assert is_correct("a", "a", timeout=7.5) and seen == [7.5]


_ALWAYS = "import sys\nprint('ready', flush=True)\nfor line in sys.stdin:\n    print('{}', flush=True)\n"


def test_math_on_either_side_asks_math_verify_and_spacing_alone_does_not(monkeypatch):
    import sys

    yes = _MathVerifier(max_workers=1, cmd=[sys.executable, "-c", _ALWAYS.format(1)])
    no = _MathVerifier(max_workers=1, cmd=[sys.executable, "-c", _ALWAYS.format(0)])
    try:
        monkeypatch.setattr(avr.grading, "_MATH", yes)
        assert grade("2^2", "4", timeout=PATIENT).correct  # only the answer looks like math: still asked
        monkeypatch.setattr(avr.grading, "_MATH", no)
        assert grade("x + 1", "x+1", timeout=PATIENT).correct  # the same once spaces go: never asked
        assert no.children == 0
    finally:
        yes.close()
        no.close()


class _ReadyChild:
    def ensure_started(self, wait: float) -> bool:
        return True


def test_start_waits_for_a_busy_pool_within_its_patience():
    pool = _MathVerifier(max_workers=1, cmd=["unused"])
    pool._count = 1  # the one child is busy; the wait below hands back one that starts
    cond = pool._cond = _RefillingCondition(pool)
    real_wait = cond.wait

    def wait(timeout: float) -> bool:
        real_wait(timeout)
        pool._idle[-1] = _ReadyChild()
        return True

    cond.wait = wait
    pool.start(wait=5.0)  # no error: it waited for the busy child and started it
    assert len(cond.waits) == 1 and 0 < cond.waits[0] <= 5.0 and isinstance(pool._idle[0], _ReadyChild)
    with pytest.raises(RuntimeError, match=r"^the math-verify worker did not start$"):
        _MathVerifier(max_workers=1, cmd=[sys.executable, "-c", "import time; time.sleep(60)"]).start(
            wait=0.5
        )
