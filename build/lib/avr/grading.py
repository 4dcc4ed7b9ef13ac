"""Is this answer right? Exact grading of untrusted model answers, bounded in time.

Each kind of answer has one pure check, tried in order:

- multiple choice (choices known): the letter in its usual spellings (``B``, ``(B)``, ``B.``, ``b``,
  ``Option B``, ``B. <choice text>``) or the choice text itself; an answer naming several options
  is wrong;
- numbers: ``1,000`` = ``1000``, ``5.0`` = ``5``, ``1/2`` = ``0.5`` = ``\\frac{1}{2}``; whole-string
  parses only, so ``12`` never matches ``120``;
- math: LaTeX and expressions through ``math-verify``, in a separate process with a hard deadline;
- text: a normalised exact match (case, whitespace, punctuation, leading articles).

An empty answer is never correct. No call ever evaluates the answer as code. Every call returns
within ``timeout`` seconds (default 1 s) in any thread or Ray worker: the pure checks are
linear-time on inputs capped at ``MAX_ANSWER_CHARS``, and math-verify, the only check that can run
long (sympy), runs in a child process that is killed at the deadline; signals are never used.

A deadline that passes is not a verdict: ``grade`` says ``timed_out`` so that evaluation can retry
with a longer deadline and training can count it (``is_correct`` reads it as wrong). Typographic
forms that NFKC leaves alone (the Unicode minus sign, curly quotes, the multiplication sign) are
read as their ASCII forms first.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import select
import subprocess
import sys
import threading
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from avr.formats import OPTION_LETTERS

MAX_ANSWER_CHARS = 1000  # answers are short; anything longer is wrong, and the cap bounds every check
DEFAULT_TIMEOUT = 1.0
MATH_CACHE_SIZE = 65536  # math-verify verdicts kept per process
KILL_RESERVE = 0.15  # seconds kept back from the timeout to kill and reap a runaway math child

# --- normalisation -----------------------------------------------------------------------------

_ARTICLES = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
# Punctuation goes, but not operators: "x+1" and "x-1" must stay different answers.
_PUNCT = re.compile(r"[^\w\s+\-*/=<>^%]", re.UNICODE)
_WS = re.compile(r"\s+")
_WRAPPERS = [
    re.compile(r"^\\boxed\{(.*)\}$", re.DOTALL),
    re.compile(r"^\$+(.*?)\$+$", re.DOTALL),
    re.compile(r"^\\\((.*)\\\)$", re.DOTALL),
    re.compile(r"^\\\[(.*)\\\]$", re.DOTALL),
    re.compile(r"^\\text\{(.*)\}$", re.DOTALL),
]


# Characters NFKC keeps but a reader takes for ASCII: U+2212 MINUS SIGN is "-", "×" is "*"...
_TYPOGRAPHIC = str.maketrans(
    {
        "\u2212": "-",  # minus sign
        "\u2010": "-",  # hyphen
        "\u2011": "-",  # non-breaking hyphen
        "\u2012": "-",  # figure dash
        "\u2013": "-",  # en dash, common as a minus in typeset numbers
        "\u00d7": "*",  # multiplication sign
        "\u22c5": "*",  # dot operator
        "\u00f7": "/",  # division sign
        "\u2215": "/",  # division slash
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
    }
)


def ascii_forms(s: str) -> str:
    """NFKC, then the typographic variants NFKC leaves alone, as ASCII (U+2212 -> "-")."""
    return unicodedata.normalize("NFKC", s).translate(_TYPOGRAPHIC)


def strip_wrappers(s: str) -> str:
    """Remove surrounding ``$…$``, ``\\boxed{…}``, ``\\(…\\)``, ``\\text{…}`` (repeatedly)."""
    s = s.strip()
    changed = True
    while changed:
        changed = False
        for pat in _WRAPPERS:
            m = pat.match(s)
            if m:
                s, changed = m.group(1).strip(), True
    return s


def normalize_text(s: str) -> str:
    """Case, accents' compatibility forms, punctuation, whitespace and a leading article removed."""
    s = unicodedata.normalize("NFKC", s).lower().strip()
    s = _PUNCT.sub(" ", s)
    s = _WS.sub(" ", s).strip()
    return _ARTICLES.sub("", s).strip()


# --- numbers -----------------------------------------------------------------------------------

_NUM = re.compile(r"^([+-]?)(\d{1,3}(?:,\d{3})+|\d+)?(?:\.(\d+))?$")
_FRAC = re.compile(r"^([+-]?\d+)\s*/\s*([+-]?\d+)$")
_LATEX_FRAC = re.compile(r"^([+-]?)\\[dt]?frac\{\s*([+-]?\d+)\s*\}\{\s*([+-]?\d+)\s*\}$")
_UNIT_SUFFIX = re.compile(r"\s*(?:%|\\%|°|\^\\circ|\^\{\\circ\})$")


def parse_number(s: str) -> tuple[Fraction, int | None] | None:
    """The exact value of a plain number, fraction or ``\\frac{a}{b}``, and its decimal places.

    Returns None for anything else (including numbers inside longer text, so no substring match).
    """
    s = strip_wrappers(s).replace(" ", "").replace("{,}", ",")
    s = _UNIT_SUFFIX.sub("", s)
    if not s or len(s) > 64:
        return None
    m = _NUM.match(s)
    if m and (m.group(2) or m.group(3)):
        sign, integer, decimals = m.group(1), (m.group(2) or "0").replace(",", ""), m.group(3)
        value = Fraction(int(integer)) + (Fraction(int(decimals), 10 ** len(decimals)) if decimals else 0)
        return (-value if sign == "-" else value), (len(decimals) if decimals else None)
    m = _FRAC.match(s)
    if m and int(m.group(2)) != 0:
        return Fraction(int(m.group(1)), int(m.group(2))), None
    m = _LATEX_FRAC.match(s)
    if m and int(m.group(3)) != 0:
        value = Fraction(int(m.group(2)), int(m.group(3)))
        return (-value if m.group(1) == "-" else value), None
    return None


def numbers_equal(a: tuple[Fraction, int | None], b: tuple[Fraction, int | None]) -> bool:
    """Exact equality, or equal at the precision a decimal was written with (>= 2 places).

    ``0.33`` matches ``1/3`` (written to 2 places) but ``0.3`` does not; ``5.0`` matches ``5``.
    """
    (va, pa), (vb, pb) = a, b
    if va == vb:
        return True
    places = [p for p in (pa, pb) if p is not None and p >= 2]
    if not places:
        return False
    q = min(places)
    return round(va, q) == round(vb, q)


# --- multiple choice ---------------------------------------------------------------------------

_LETTER_FORMS = re.compile(
    r"^(?:(?:the\s+)?(?:option|choice|answer)\s*(?:is\s*)?:?\s*)?"  # "Option B", "answer: B"
    r"(?:\(([A-Za-z])\)|([A-Za-z])(?:[.):]|(?=\s|$)))"  # (B) | B. | B) | B: | B
    r"\s*(.*)$",
    re.IGNORECASE | re.DOTALL,
)


def choice_letter(answer: str, choices: Sequence[str]) -> str | None:
    """The single option an answer names, or None (no option, an unknown one, or several)."""
    s = strip_wrappers(answer).strip()
    n = len(choices)
    norm_choices = [normalize_text(c) for c in choices]
    text = normalize_text(s)
    if text and text in norm_choices and norm_choices.count(text) == 1:
        # a choice text that is also a letter ("a" when choice A is "a") resolves to its own option
        return OPTION_LETTERS[norm_choices.index(text)]
    m = _LETTER_FORMS.match(s)
    if not m:
        return None
    letter = (m.group(1) or m.group(2)).upper()
    idx = OPTION_LETTERS.find(letter)
    if idx < 0 or idx >= n:
        return None
    rest = m.group(3).strip()
    if rest and normalize_text(rest) != norm_choices[idx]:
        return None  # "B. <text>" must name option B's own text; "A and C" names several
    return letter


def gold_letter(ground_truth: str, choices: Sequence[str]) -> str | None:
    """The option a ground truth means: a letter, or the text of exactly one choice."""
    g = strip_wrappers(ground_truth).strip()
    m = re.fullmatch(r"\(?([A-Za-z])\)?\.?", g)
    if m and OPTION_LETTERS.find(m.group(1).upper()) < len(choices):
        return m.group(1).upper()
    norm = normalize_text(g)
    matches = [i for i, c in enumerate(choices) if normalize_text(c) == norm]
    return OPTION_LETTERS[matches[0]] if len(matches) == 1 else None


# --- math-verify in a child process --------------------------------------------------------------

# LaTeX commands, powers/subscripts/braces/equations, implicit products ("2x", "3(x+1)"), sqrt, pi,
# and a lone variable next to an operator ("x+1").
_MATH_HINT = re.compile(
    r"\\[a-zA-Z]+|[\^_{}=]|\d[a-zA-Z(]|\b[a-zA-Z]\d|\bsqrt\b|\bpi\b|\b[a-zA-Z]\s*[-+*/]|[-+*/]\s*[a-zA-Z]\b"
)


def looks_like_math(s: str) -> bool:
    return bool(_MATH_HINT.search(s))


MATH_WORKER_CMD = [sys.executable, "-m", "avr._math_worker"]


def _default_workers() -> int:
    env = os.environ.get("AVR_MATH_WORKERS")
    return max(1, int(env)) if env else max(1, min(4, os.cpu_count() or 1))


class _MathChild:
    """One child process running math-verify; killed and replaced when a call passes its deadline."""

    def __init__(self, cmd: list[str]) -> None:
        self._cmd = cmd
        self._proc: subprocess.Popen | None = None
        self._buf = b""

    def ensure_started(self, wait: float) -> bool:
        if self._proc is not None and self._proc.poll() is None:
            return True
        self._proc = subprocess.Popen(
            self._cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        self._buf = b""
        return self._readline(time.monotonic() + wait) == b"ready"

    def _readline(self, deadline: float) -> bytes | None:
        """One line from the child, or None at the deadline (never blocks past it)."""
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                return None
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.strip()

    def kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
        self._proc, self._buf = None, b""

    def ask(self, gold: str, pred: str, deadline: float, float_rounding: int | None = None) -> bool | None:
        """The verdict, or None when the child failed or ran past the deadline (it is then killed)."""
        request = [gold, pred] if float_rounding is None else [gold, pred, float_rounding]
        try:
            if not self.ensure_started(max(0.0, deadline - time.monotonic())):
                self.kill()
                return None
            self._proc.stdin.write(json.dumps(request).encode() + b"\n")
            self._proc.stdin.flush()
            line = self._readline(deadline)
            if line is None:
                self.kill()
                return None
            return line == b"1"
        except OSError:
            self.kill()
            return None


class _MathVerifier:
    """A small pool of math-verify children shared by the threads of a process.

    One child per concurrent caller, up to ``max_workers`` (``AVR_MATH_WORKERS``, default
    min(4, CPUs)): a thread pool or an async reward loop grading LaTeX answers then runs in
    parallel instead of queueing behind one child. Children start lazily, so a single-threaded
    caller keeps exactly one.
    """

    def __init__(self, max_workers: int | None = None, cmd: list[str] | None = None) -> None:
        self.max_workers = max_workers or _default_workers()
        self._cmd = cmd or MATH_WORKER_CMD
        self._cond = threading.Condition()
        self._idle: list[_MathChild] = []
        self._count = 0  # children in existence (idle or busy)
        self._cache: dict[tuple[str, str, int | None], bool] = {}

    def _checkout(self, deadline: float) -> _MathChild | None:
        with self._cond:
            while True:
                if self._idle:
                    return self._idle.pop()
                if self._count < self.max_workers:
                    self._count += 1
                    return _MathChild(self._cmd)
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)

    def _checkin(self, child: _MathChild) -> None:
        with self._cond:
            self._idle.append(child)
            self._cond.notify()

    @property
    def children(self) -> int:
        return self._count

    def start(self, wait: float = 60.0) -> None:
        """Start one child and wait until math-verify is imported (once, outside the hot path)."""
        child = self._checkout(time.monotonic() + wait)
        try:
            if child is None or not child.ensure_started(wait):
                raise RuntimeError("the math-verify worker did not start")
        finally:
            if child is not None:
                self._checkin(child)

    def equal(self, gold: str, pred: str, deadline: float, float_rounding: int | None = None) -> bool | None:
        """math-verify's verdict, or None when the deadline passes (the child is then replaced).

        Verdicts are cached: the n rollouts of a prompt often repeat an answer. A timeout is not
        cached, so a pair cut short under load is tried again next time.
        """
        key = (gold, pred, float_rounding)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        child = self._checkout(deadline)
        if child is None:
            return None
        try:
            verdict = child.ask(gold, pred, deadline, float_rounding)
        finally:
            self._checkin(child)
        if verdict is not None:
            with self._cond:
                if len(self._cache) >= MATH_CACHE_SIZE:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[key] = verdict
        return verdict

    def close(self) -> None:
        with self._cond:
            for child in self._idle:
                child.kill()
            self._count -= len(self._idle)
            self._idle.clear()


_MATH = _MathVerifier()
atexit.register(_MATH.close)


def warm_up() -> None:
    """Start the math-verify child now, so that the first graded call does not pay for its start."""
    _MATH.start()


# --- the public check ---------------------------------------------------------------------------


def ground_truths(ground_truth: str | Sequence[str] | None) -> list[str]:
    """The non-empty acceptable answers in a ground truth (a string, a number or a list of them)."""
    if ground_truth is None:
        return []
    items = [ground_truth] if isinstance(ground_truth, str | int | float) else list(ground_truth)
    return [str(g).strip() for g in items if g is not None and str(g).strip()]


@dataclass(frozen=True)
class Grade:
    """A verdict, and whether a deadline cut it short (then ``correct`` is False but not a verdict)."""

    correct: bool
    timed_out: bool = False


def grade(
    answer: str,
    ground_truth: str | Sequence[str],
    choices: Sequence[str] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    float_rounding: int | None = None,
) -> Grade:
    """Like ``is_correct``, but a math-verify call that ran out of time says so instead of "wrong".

    ``float_rounding`` (decimal places) is passed to math-verify for references that compare numbers
    rounded (MATH-V's scorer rounds both sides to 2 places); None keeps math-verify's default.
    """
    # The checks stop at the deadline; killing a runaway math child takes a little more, kept in reserve.
    deadline = time.monotonic() + max(0.0, timeout - KILL_RESERVE)
    if not isinstance(answer, str):
        return Grade(False)
    answer = ascii_forms(answer).strip()
    if not answer or len(answer) > MAX_ANSWER_CHARS:
        return Grade(False)
    golds = [ascii_forms(g) for g in ground_truths(ground_truth)]
    choices = [ascii_forms(str(c)) for c in choices] if choices is not None and len(choices) > 0 else None
    timed_out = False
    for gold in golds:
        verdict = _matches(answer, gold, choices, deadline, float_rounding)
        if verdict:
            return Grade(True)
        timed_out = timed_out or verdict is None
        if time.monotonic() >= deadline:
            return Grade(False, timed_out=timed_out or gold is not golds[-1])
    return Grade(False, timed_out=timed_out)


def is_correct(
    answer: str,
    ground_truth: str | Sequence[str],
    choices: Sequence[str] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> bool:
    """True when ``answer`` matches one of the acceptable ground truths (see the module docstring)."""
    return grade(answer, ground_truth, choices, timeout=timeout).correct


def _matches(
    answer: str, gold: str, choices: list[str] | None, deadline: float, float_rounding: int | None = None
) -> bool | None:
    """True, False, or None when math-verify ran out of time."""
    if choices:
        g = gold_letter(gold, choices)
        if g is not None:
            return choice_letter(answer, choices) == g
    na, ng = parse_number(answer), parse_number(gold)
    if na is not None and ng is not None:
        return numbers_equal(na, ng)
    a, g = strip_wrappers(answer), strip_wrappers(gold)
    if looks_like_math(a) or looks_like_math(g):
        # Braces and backslashes carry meaning here ("x^{12}" is not "x^{1}2"): only an identical
        # string is equal without asking math-verify.
        if _WS.sub("", a) == _WS.sub("", g):
            return True
        return _MATH.equal(g, a, deadline, float_rounding)
    ta = normalize_text(a)
    return bool(ta) and ta == normalize_text(g)  # plain words, or a number against words
