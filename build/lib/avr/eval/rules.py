"""The benchmarks' reference scoring rules, written in our own code from their behaviour.

Each function cites the file it follows. None of them evaluates model output as code: where a
reference calls ``eval`` or ``latex2sympy`` on a prediction (VLMEvalKit's and MATH-V's ``is_equal``),
the number is parsed (``avr.grading.parse_number``) and LaTeX goes to math-verify in its
time-bounded child process. Edit distance is the ``Levenshtein`` package, the one MathVista's own
scorer imports.

``Verdict`` is what a scoring rule returns for one item: the verdict, whether the reference would
have asked a GPT judge here (and, none being given, the rule's verdict stands), and how grading
deadlines went.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from avr.formats import OPTION_LETTERS
from avr.grading import Grade, ascii_forms, gold_letter, grade, parse_number

EVAL_RETRY_TIMEOUT = 10.0  # seconds: a grading call that missed its 1 s deadline is tried again with this


@dataclass(frozen=True)
class Verdict:
    correct: bool
    needs_judge: bool = False  # the reference asks a judge for this item; the rule's verdict was used
    timeouts: int = 0  # grading calls that missed the first deadline (then retried)
    unresolved: bool = False  # still out of time after the retry: graded wrong, and counted


def graded(answer: str, golds: Sequence[str], choices: Sequence[str] | None = None, **kw: Any) -> Verdict:
    """``avr.grading.grade`` with one retry at ``EVAL_RETRY_TIMEOUT`` when the deadline cut it short."""
    first: Grade = grade(answer, golds, choices, **kw)
    if not first.timed_out:
        return Verdict(first.correct)
    second = grade(answer, golds, choices, **{**kw, "timeout": EVAL_RETRY_TIMEOUT})
    return Verdict(second.correct, timeouts=1, unresolved=second.timed_out)


# --- the strict profile: the training grader, honouring the item's own metadata --------------------


def apply_metadata(answer: str, gold: dict[str, Any]) -> str:
    """Honour the benchmark's answer metadata: strip the unit, round floats to the stated precision."""
    unit = (gold.get("unit") or "").strip()
    if unit and answer.lower().endswith(unit.lower()):
        answer = answer[: -len(unit)].strip()
    kind = gold.get("answer_type")
    if kind in ("float", "integer"):
        num = parse_number(answer)
        if num is not None:
            value: Fraction = num[0]
            if kind == "integer" and value.denominator == 1:
                return str(value.numerator)
            precision = gold.get("precision")
            if kind == "float" and precision is not None:
                return f"{float(value):.{int(precision)}f}"
    return answer


def gold_answers(gold: dict[str, Any]) -> list[str]:
    answers = [str(a) for a in gold.get("answers") or []]
    if gold.get("answer_type") == "float" and gold.get("precision") is not None:
        rounded = []
        for a in answers:
            num = parse_number(a)
            rounded.append(f"{float(num[0]):.{int(gold['precision'])}f}" if num else a)
        answers = rounded + [a for a in answers if a not in rounded]
    return answers


def exact_letters(gold: str, choices: Sequence[str], letters: Sequence[str] | None = None) -> list[str]:
    """The letters of every option whose text is exactly the gold (MathVista testmini has a question
    whose options repeat "18", and one where "2" and "√{2}" normalise alike)."""
    return [letter for letter, c in choice_dict(choices, letters).items() if c == gold]


def names_a_letter(gold: str, options: dict[str, str]) -> bool:
    """A gold that is one capital letter naming an option is that letter, whatever the options' texts
    (AI2D's "which label ...?" options are letters themselves: gold "B" is option B, not the option
    whose text is "B")."""
    return bool(re.fullmatch(r"[A-Z]", gold)) and gold in options


def padded_choices(choices: Sequence[str] | None, letters: Sequence[str] | None) -> list[str] | None:
    """Options laid out by letter for the training grader, which reads letters by position: a letter
    with no option (a VLMEvalKit row whose column C is empty but D is not) holds "", which no answer
    can name by text."""
    if not choices or not letters:
        return [str(c) for c in choices] if choices else None
    options = choice_dict(choices, letters)
    last = max(OPTION_LETTERS.index(x) for x in letters)
    return [options.get(OPTION_LETTERS[i], "") for i in range(last + 1)]


def strict(answer: str, gold: dict[str, Any]) -> Verdict:
    """``avr.grading`` exactly as training uses it; a gold naming several options ("A, C") needs
    exactly those letters, in any order. A gold that is no letter also matches each option whose text
    it is exactly; a gold letter is never widened to an option whose text is that letter."""
    letters = gold.get("option_letters")
    choices = padded_choices(gold["choices"], letters) if gold.get("choices") else None
    golds = gold_answers(gold)
    if golds and gold.get("answer_type") == "multi_choice":
        several = letters_of(golds[0])
        if several and len(several) > 1 and not (choices and golds[0] in choices):
            return Verdict(letters_of(answer) == several)
    if choices and golds and not names_a_letter(golds[0], choice_dict(gold["choices"], letters)):
        golds = [*exact_letters(golds[0], gold["choices"], letters), *golds]
    return graded(apply_metadata(answer, gold), golds, choices)


def letter_of(index: int) -> str:
    return OPTION_LETTERS[index]


def choice_dict(choices: Sequence[str], letters: Sequence[str] | None = None) -> dict[str, str]:
    """``{letter: option text}``: A, B, C... in order, or the letters a VLMEvalKit row gave them."""
    keys = list(letters) if letters else [letter_of(i) for i in range(len(choices))]
    return {k: str(c) for k, c in zip(keys, choices, strict=True)}


def options_of(gold: dict[str, Any]) -> dict[str, str]:
    """The options of a saved prediction's gold, keyed by their letters."""
    return choice_dict(gold.get("choices") or [], gold.get("option_letters"))


def gold_option_letters(target: str, options: dict[str, str]) -> list[str]:
    """The gold as option letters, for benchmarks whose gold field is a letter (VLMEvalKit's ``answer``
    column; AI2D's index, MMStar, MMMU, MATH-V): that letter, even where an option's text is a
    letter too. A gold that is no letter (a text) names each option with exactly its text, else the
    one option it names once normalised (``avr.grading.gold_letter``)."""
    target = target.strip()
    if re.fullmatch(r"[A-Z]", target):
        return [target]  # a letter outside the options stays the gold: no answer can hit it
    exact = [k for k, v in options.items() if v == target]
    if exact:
        return exact
    found = gold_letter(target, list(options.values()))
    return [list(options)[OPTION_LETTERS.index(found)]] if found else []


def letter_verdict(answer: str, options: dict[str, str], golds: Sequence[str]) -> Verdict:
    """VLMEvalKit's multiple-choice decision: ``can_infer`` finds one letter (a letter first, an
    option's text only when there is none), and that letter is final, right or wrong
    (``multiple_choice.py`` ``extract_answer_from_item`` returns it before any GPT call;
    ``mathvista.py``/``mathv.py`` ``post_check(prefetch=True)`` return it and ``*_auxeval`` stops
    there). Only an answer with no letter is one the reference would send to its judge; a gold that
    names no option can never be hit, so there is nothing to ask."""
    if not any(g in options for g in golds):
        return Verdict(False)
    letter = can_infer(answer, options)
    return Verdict(letter is not None and letter in golds, needs_judge=letter is None)


# --- VLMEvalKit: vlmeval/utils/matching_util.py ---------------------------------------------------

_REFUSALS = (
    "Sorry, I can't help with images of people yet.",
    "I can't process this file.",
    "I'm sorry, but without the image provided",
    "Cannot determine the answer",
)
_VERBOSE_ANSWER = re.compile(r"(?i)(?:correct\s+)?answer\s+is\s+\**([ABCD])\**")


def _can_infer_option(answer: str, choices: dict[str, str]) -> str | None:
    """A lone option letter among the last words (``can_infer_option``); "Z" for a refusal."""
    if any(r in answer for r in _REFUSALS):
        return "Z"
    words = answer.translate(str.maketrans({c: " " for c in ".()[],:;!*#{}"})).split()
    named = [c for c in choices if c in words]
    if len(named) == 1:
        letter = named[0]
        if words.index(letter) > len(words) - 5:  # "A" early in a sentence is an article, not an option
            return letter
    elif not named and sum(z in words for z in ("Z", "")) == 1:
        return "Z"
    m = _VERBOSE_ANSWER.search(answer)
    if m and m.group(1).upper() in choices:
        return m.group(1).upper()
    return None


def _can_infer_text(answer: str, choices: dict[str, str]) -> str | None:
    """The one option whose text appears in a short answer (``can_infer_text``)."""
    answer = answer.lower()
    if len(answer) > 2 * sum(len(str(v)) for v in choices.values()):
        return None
    hits = [k for k, v in choices.items() if str(v).lower() in answer]
    return hits[0] if len(hits) == 1 else None


def can_infer(answer: str, choices: dict[str, str]) -> str | None:
    """VLMEvalKit's rule-based option matching (``can_infer``): a letter, or the option text."""
    answer = str(answer)
    return _can_infer_option(answer, choices) or _can_infer_text(answer, choices)


# --- VLMEvalKit: vlmeval/smp/misc.py process_punctuation, utils/yorn.py YOrN_Extraction ------------

_PUNCT = [
    ";",
    "/",
    "[",
    "]",
    '"',
    "{",
    "}",
    "(",
    ")",
    "=",
    "+",
    "\\",
    "_",
    "-",
    ">",
    "<",
    "@",
    "`",
    ",",
    "?",
    "!",
]
_COMMA_DIGITS = re.compile(r"(\d)(,)(\d)")
_PERIOD = re.compile(r"(?<!\d)\.(?!\d)")


def process_punctuation(text: str) -> str:
    out = text
    for p in _PUNCT:
        if (p + " " in text or " " + p in text) or _COMMA_DIGITS.search(text) is not None:
            out = out.replace(p, "")
        else:
            out = out.replace(p, " ")
    return _PERIOD.sub("", out)


def yes_no(answer: str) -> str | None:
    """ "Yes", "No", or None when the answer says both or neither (VLMEvalKit ``YOrN_Extraction``)."""
    words = process_punctuation(answer.lower()).split()
    if "yes" in words and "no" not in words:
        return "Yes"
    if "no" in words and "yes" not in words:
        return "No"
    return None


# --- pix2struct metrics.py relaxed_correctness (ChartQA; VLMEvalKit vqa_eval.py is the same rule) ----


def _float(text: str) -> float | None:
    """Python's float() of the text, as the reference does (it accepts "1e3", not "1,000")."""
    try:
        value = float(text.rstrip("%")) / 100.0 if text.endswith("%") else float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def relaxed_correctness(target: str, prediction: str, max_relative_change: float = 0.05) -> bool:
    """Within 5% of a numeric gold; otherwise an exact, case-insensitive match."""
    pred, gold = _float(prediction), _float(target)
    if pred is not None and gold:
        return abs(pred - gold) / abs(gold) <= max_relative_change
    return prediction.lower() == target.lower()


# --- OCRBench: Yuliang-Liu/MultimodalOCR OCRBench/example.py (VLMEvalKit image_vqa.py OCRBench) --------


def ocrbench_hit(prediction: str, golds: Sequence[str], *, hme: bool) -> bool:
    """A gold inside the prediction: case-insensitive; for handwritten maths (HME100k) spaces and
    line breaks are removed and case is kept."""
    for gold in golds:
        if hme:
            g = gold.strip().replace("\n", " ").replace(" ", "")
            p = prediction.strip().replace("\n", " ").replace(" ", "")
        else:
            g = gold.lower().strip().replace("\n", " ")
            p = prediction.lower().strip().replace("\n", " ")
        if g in p:
            return True
    return False


# --- MathVista: lupantech/MathVista evaluation/calculate_score.py --------------------------------------


def nearest_choice(prediction: str, choices: Sequence[str]) -> str:
    """The choice at the smallest edit distance (the first on a tie), as ``get_most_similar``."""
    from Levenshtein import distance

    distances = [distance(prediction, c) for c in choices]
    return choices[distances.index(min(distances))]


def _py_round(value: float, places: int) -> str:
    return str(round(value, places))


def mathvista_normalize(
    extraction: str,
    choices: Sequence[str] | None,
    question_type: str,
    answer_type: str | None,
    precision: Any,
) -> str | None:
    """``normalize_extracted_answer``: a letter or the nearest option text; int/float by Python's
    conversions (``str(int(float(x)))``, ``str(round(float(x), precision))``); lists as text."""
    if question_type == "multi_choice" and choices:
        extraction = extraction.strip()
        m = re.findall(r"\(([a-zA-Z])\)", extraction)
        if m:
            extraction = m[0].upper()
        letters = [letter_of(i) for i in range(len(choices))]
        if extraction in letters:
            return choices[letters.index(extraction)]
        return nearest_choice(extraction, choices)
    if answer_type == "integer":
        value = _float(extraction)
        return str(int(value)) if value is not None else None
    if answer_type == "float":
        value = _float(extraction)
        if value is None or precision is None:
            return None
        return _py_round(value, int(precision))
    if answer_type == "list":
        return str(extraction)
    return None  # the reference has no branch for free-form text: nothing can match


# --- MMMU: MMMU-Benchmark/MMMU mmmu/utils/eval_utils.py -------------------------------------------------


def _seeded_choice(letters: Sequence[str], key: str) -> str:
    """The reference picks a random option when it finds none (``random.choice`` after seed 42);
    we pick one reproducibly from the item id, so that a rerun gives the same verdict."""
    h = int(hashlib.sha256(key.encode()).hexdigest(), 16)
    return letters[h % len(letters)]


def mmmu_parse_choice(response: str, options: dict[str, str], key: str) -> tuple[str, bool]:
    """``parse_multi_choice_response(response, all_choices, index2ans)``: (letter, guessed). "(B)",
    then " B ", then an option's text in a longer answer; several hits: the last one; none: a random
    option (``guessed``). ``options`` is ``index2ans``: the option texts keyed by their letters."""
    letters, index2ans = list(options), options
    for ch in [",", ".", "!", "?", ";", ":", "'"]:
        response = response.strip(ch)
    response = f" {response} "
    candidates = [c for c in letters if f"({c})" in response]
    bracketed = bool(candidates)
    by_text = False
    if not candidates:
        candidates = [c for c in letters if f" {c} " in response]
    if not candidates and len(response.split()) > 5:
        candidates = [c for c, a in index2ans.items() if a.lower() in response.lower()]
        by_text = bool(candidates)
    if not candidates:
        return _seeded_choice(letters, key), True
    if len(candidates) == 1:
        return candidates[0], False
    if by_text:
        starts = [response.lower().rfind(index2ans[c].lower()) for c in candidates]
    elif bracketed:
        starts = [response.rfind(f"({c})") for c in candidates]
    else:
        starts = [response.rfind(f" {c} ") for c in candidates]
    return candidates[starts.index(max(starts))], False


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


def mmmu_normalize(text: str) -> list[Any]:
    """``normalize_str``: a number rounded to 2 places, or the lower-cased text (a single character
    padded with a space on either side, so it cannot match inside a word)."""
    text = text.strip()
    if _is_number(text):
        value = float(text.replace(",", ""))
        return [round(value, 2)] if math.isfinite(value) else [text.lower()]
    text = text.lower()
    return [" " + text, text + " "] if len(text) == 1 else [text]


_NUM_COMMAS = re.compile(r"-?\b\d{1,3}(?:,\d{3})+\b")
_NUM_SCI = re.compile(r"-?\d+(?:\.\d+)?[eE][+-]?\d+")
_NUM_SIMPLE = re.compile(r"-?(?:\d+\.\d+|\.\d+|\d+\b)(?![eE][+-]?\d+)(?![,\d])")
_KEY_INDICATORS = ["could be ", "so ", "is ", "thus ", "therefore ", "final ", "answer ", "result "]


def mmmu_parse_open(response: str) -> list[Any]:
    """``parse_open_response``: the tail after "is", "so", "therefore"... of each sentence (and "="
    in the last), plus every number in them, each normalised."""
    response = response.strip().strip(".").lower()
    parts = re.split(r"\.\s(?=[A-Z])|\n", response)
    keys = []
    for i, part in enumerate(parts):
        indicators = [*_KEY_INDICATORS, "="] if i == len(parts) - 1 else _KEY_INDICATORS
        tails = [part.split(ind)[-1].strip() for ind in indicators if ind in part]
        if tails:
            shortest = min(tails, key=len)
            if shortest and shortest not in (":", ",", ".", "!", "?", ";", "'"):
                keys.append(shortest)
    keys = keys or [response]
    preds: list[str] = list(keys)
    for k in keys:
        preds += _NUM_COMMAS.findall(k) + _NUM_SCI.findall(k) + _NUM_SIMPLE.findall(k)
    out: list[Any] = []
    for p in preds:
        for n in mmmu_normalize(p):
            if n not in out:
                out.append(n)
    return out


def mmmu_eval_open(golds: Sequence[str], preds: Sequence[Any]) -> bool:
    """``eval_open``: a gold text inside a predicted text, or a gold number equal to a predicted one."""
    norm = [n for g in golds for n in mmmu_normalize(g)]
    for p in preds:
        if isinstance(p, str):
            if any(isinstance(n, str) and n in p for n in norm):
                return True
        elif p in norm:
            return True
    return False


# --- MATH-V: mathllm/MATH-V evaluation/evaluate.py and utils.py ----------------------------------------


def _last_boxed(text: str) -> str | None:
    i = text.rfind("oxed{")
    if i < 0:
        return None
    return text[i + len("oxed{") :]


def _fix_a_slash_b(text: str) -> str:
    parts = text.split("/")
    if len(parts) == 2 and re.fullmatch(r"-?\d+", parts[0]) and re.fullmatch(r"-?\d+", parts[1]):
        return f"\\frac{{{int(parts[0])}}}{{{int(parts[1])}}}"
    return text


def mathv_normalize(answer: str) -> str:
    """The model answer as MATH-V's ``evaluate`` and ``find_math_answer`` clean it: "... is 5." -> "5",
    the last \\boxed{}, the value after "=", no spaces, units and LaTeX sizing removed, lower case."""
    s = answer.strip()
    for c in "ABCDE":
        if s.endswith((f" {c}.", f" ({c}).")) or s.startswith((f"{c}\n", f"({c})\n", f"({c}) {c}\n")):
            s = c
    tail = s.split("is ")[-1].rstrip(".")
    if _is_number(tail) and "," not in tail:
        s = tail
    if "oxed{" not in s:
        for flag in ("the final answer is", "the answer is", "the correct answer is", "the answer should be"):
            for f in (flag, flag.replace("the", "The")):
                if f in s:
                    s = s.split(f)[-1].strip().split("\n")[0].split(". ")[0]
    s = s.lower().replace("{}", "")
    boxed = _last_boxed(s)
    if boxed is not None:
        s = boxed[: boxed.rfind("}")] if "}" in boxed else boxed
    if "}" in s and ("{" not in s or s.find("}") < s.find("{")):
        s = s.split("}")[0]
    s = s.split("=")[-1].split("\\approx")[-1]
    for old, new in [
        (" ", ""),
        ("\\,", ""),
        ("∞", "\\infty"),
        ("+\\infty", "\\infty"),
        ("\\\\", "\\"),
        ("\n", ""),
    ]:
        s = s.replace(old, new)
    for junk in (
        "\\text",
        "\\mbox",
        "\\left",
        "\\right",
        "^{\\circ}",
        "^\\circ",
        "{m}^3",
        "m^3",
        "{units}",
        "units",
    ):
        s = s.replace(junk, "")
    s = s.replace("{km}", "").replace("km", "").replace("bmatrix", "pmatrix")
    s = (
        s.replace("\\!", "")
        .replace("tfrac", "frac")
        .replace("dfrac", "frac")
        .replace("\\$", "")
        .replace("$", "")
    )
    s = s.replace("\\%", "").replace("%", "")
    if s.startswith("."):
        s = "0" + s
    s = _fix_a_slash_b(s)
    for letter in "abcde":
        s = s.replace(f"({letter})", letter).replace(f"{{{letter}}}", letter)
    return s.rstrip(".").lstrip(":").strip()


def mathv_equal(answer: str, gold: str) -> Verdict:
    """``is_equal``: the same text (lower case, spaces ignored), else the same value to 2 decimal
    places (the reference rounds ``eval(latex2sympy(...))``; we ask math-verify with rounding 2)."""
    a, g = answer.lower().strip(), gold.lower().strip()
    if not a.replace(" ", "") or not g.replace(" ", ""):
        return Verdict(False)
    if a == g:
        return Verdict(True)
    na, ng = parse_number(a), parse_number(g)
    if na is not None and ng is not None:
        return Verdict(round(float(na[0]), 2) == round(float(ng[0]), 2))
    if not re.search(r"\d|\\", a + g):
        return Verdict(False)  # two different words: no number to compare
    return graded(a, [g], float_rounding=2)


# --- LogicVista: Yijia-Xiao/LogicVista eval/extract_accuracy.py ------------------------------------------

_LETTERS_ANSWER = re.compile(r"\(?[A-Za-z]\)?(?:\s*(?:,|and|&|\s)\s*\(?[A-Za-z]\)?)*")


def letters_of(answer: str) -> list[str] | None:
    """The option letters an answer names ("C", "A, C", "(B) and (D)", "BD"), or None."""
    s = ascii_forms(answer).strip().rstrip(".")
    if re.fullmatch(r"[A-Za-z]{2,5}", s) and s.isupper():
        return sorted(s.lower())
    if not _LETTERS_ANSWER.fullmatch(s):
        return None
    letters = re.findall(r"(?<![A-Za-z])[A-Za-z](?![A-Za-z])", s.replace("and", " "))
    return sorted(x.lower() for x in letters) if letters else None


def logicvista_match(answer: str, gold: str) -> tuple[bool, bool]:
    """(correct, needs_judge). The reference drops a lone symbol or a lone letter past E as no
    answer, and sends every other answer to its GPT *extractor* (VLMEvalKit ``LogicVista_auxeval``);
    the letters extracted are then compared with ``gold.split(", ")``, both sorted and lower case.
    Our answer block is that extraction: where it reads as letters (``letters_of``) the comparison is
    final, as it is after the reference's extractor; only an answer with no letters to read is one
    its extractor would be needed for."""
    truth = sorted(x.lower() for x in gold.split(", "))
    s = answer.strip()
    if len(s) == 1 and ((s.isalpha() and s.lower() not in "abcde") or not (s.isalpha() or s.isnumeric())):
        return False, False
    letters = letters_of(s)
    if letters is not None:
        return letters == truth, False
    return [s.lower()] == truth, True
