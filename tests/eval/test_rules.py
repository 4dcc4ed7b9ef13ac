"""The reference rules one by one, at their boundaries (the benchmarks' cases are in test_scoring.py).

Each case is what the cited reference code returns for that input, worked out by hand from it.
"""

from __future__ import annotations

import pytest

from avr.eval import rules


@pytest.mark.parametrize(
    ("target", "prediction", "expected"),
    [
        ("100", "105", True),  # exactly 5%: |105 - 100| / 100 = 0.05, and the rule is <=
        ("100", "95", True),
        ("100", "105.01", False),
        ("100", "94.99", False),
        ("-200", "-210", True),  # relative to |gold|
        ("-200", "-210.5", False),
        ("0.5", "50%", True),  # a percentage is divided by 100
        ("0", "0", True),  # a gold of 0 has no relative change: the texts must match
        ("0", "0.0", False),
        ("Paris", "paris", True),
        ("Paris", "Pariss", False),
        ("100", "inf", False),  # not finite: compared as text
        ("100", "1e2", True),  # Python's float() reads it, as the reference's does
    ],
)
def test_relaxed_correctness(target, prediction, expected):
    assert rules.relaxed_correctness(target, prediction) is expected


def test_relaxed_correctness_takes_its_tolerance():
    assert rules.relaxed_correctness("100", "110", max_relative_change=0.1) is True
    assert rules.relaxed_correctness("100", "110.5", max_relative_change=0.1) is False


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Yes", "Yes"),
        ("no.", "No"),
        ("Yes, and no", None),
        ("yesterday", None),  # whole words only
        ("", None),
        ("The answer is: yes!", "Yes"),
    ],
)
def test_yes_no(answer, expected):
    assert rules.yes_no(answer) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a-b", "a b"),  # no space beside the mark: replaced by a space
        ("a - b", "a  b"),  # a space beside it: removed
        ("1,000-2", "1000 2".replace(" ", "")),  # a comma between digits: every mark removed
        ("end.", "end"),  # a period not between digits goes
        ("3.5", "3.5"),  # a decimal point stays
    ],
)
def test_process_punctuation(text, expected):
    assert rules.process_punctuation(text) == expected


@pytest.mark.parametrize(
    ("prediction", "golds", "hme", "expected"),
    [
        ("The sign says STOP here", ["stop"], False, True),  # inside, case-insensitive
        ("sto p", ["stop"], False, False),
        ("x ^ 2\n+ 1", ["x^2+1"], True, True),  # handwritten maths: spaces and breaks removed
        ("X^2+1", ["x^2+1"], True, False),  # ... and case kept
        ("no", ["yes", "no"], False, True),
    ],
)
def test_ocrbench_hit(prediction, golds, hme, expected):
    assert rules.ocrbench_hit(prediction, golds, hme=hme) is expected


def test_nearest_choice_takes_the_first_on_a_tie():
    assert rules.nearest_choice("cat", ["bat", "hat", "dog"]) == "bat"
    assert rules.nearest_choice("dgo", ["cat", "dog"]) == "dog"


@pytest.mark.parametrize(
    ("extraction", "choices", "qtype", "atype", "precision", "expected"),
    [
        ("(B) blue", ["red", "blue"], "multi_choice", "text", None, "blue"),
        ("(b)", ["red", "blue"], "multi_choice", "text", None, "blue"),  # a bracketed letter, any case
        ("b", ["red", "blue"], "multi_choice", "text", None, "red"),  # bare "b" is text: a tie, the first
        ("A", ["red", "blue"], "multi_choice", "text", None, "red"),
        ("bleu", ["red", "blue"], "multi_choice", "text", None, "blue"),  # the nearest option text
        ("3.7", None, "free_form", "integer", None, "3"),  # str(int(float(x))) truncates
        ("-3.7", None, "free_form", "integer", None, "-3"),
        ("x", None, "free_form", "integer", None, None),
        ("2.345", None, "free_form", "float", 2, "2.35"),  # Python's round() of the float
        ("2.5", None, "free_form", "float", 0, "2.0"),  # round(2.5, 0) is 2.0: half to even
        ("2.5", None, "free_form", "float", None, None),  # no precision: nothing to compare
        ("[1, 2]", None, "free_form", "list", None, "[1, 2]"),
        ("hello", None, "free_form", "text", None, None),  # no branch for free text
    ],
)
def test_mathvista_normalize(extraction, choices, qtype, atype, precision, expected):
    assert rules.mathvista_normalize(extraction, choices, qtype, atype, precision) == expected


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("(B)", ("B", False)),
        ("The answer is (A) or maybe (C)", ("C", False)),  # several bracketed: the last
        ("I pick B", ("B", False)),
        ("A or B.", ("B", False)),  # several bare letters: the last
        ("I think the colour of the sky is blue today", ("B", False)),  # an option's text, > 5 words
        ("blue", None),  # a short text: no match, a seeded guess
    ],
)
def test_mmmu_parse_choice(response, expected):
    options = {"A": "red", "B": "blue", "C": "green"}
    letter, guessed = rules.mmmu_parse_choice(response, options, key="item-7")
    if expected is None:
        assert guessed and letter == rules.mmmu_parse_choice("blue", options, key="item-7")[0]
    else:
        assert (letter, guessed) == expected


def test_mmmu_normalize_and_open_answers():
    assert rules.mmmu_normalize("1,234.567") == [1234.57]
    assert rules.mmmu_normalize(" A ") == [" a", "a "]
    assert rules.mmmu_normalize("Paris") == ["paris"]
    assert rules.mmmu_normalize("inf") == ["inf"]
    # lower-cased first, so no sentence split; the shortest tail after an indicator ("is 12.5")
    preds = rules.mmmu_parse_open("The total is 12 apples. So the answer is 12.5")
    assert preds == [12.5]
    assert rules.mmmu_eval_open(["12.5"], preds) is True
    assert rules.mmmu_eval_open(["12"], preds) is False
    assert rules.mmmu_parse_open("first line\nthen x = 7") == [7.0]  # "=" counts in the last line only
    assert rules.mmmu_parse_open("x = 7\nlast line") == ["x = 7\nlast line", 7.0]  # no key: the whole text
    assert rules.mmmu_eval_open(["apples"], rules.mmmu_parse_open("there are five apples")) is True


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("The answer is 5.", "5"),
        ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
        ("x = 3", "3"),
        ("1/2", "\\frac{1}{2}"),
        (".5", "0.5"),
        ("45^\\circ", "45"),
        ("The correct answer is (B).", "b"),
        ("30%", "30"),
    ],
)
def test_mathv_normalize(answer, expected):
    assert rules.mathv_normalize(answer) == expected


@pytest.mark.parametrize(
    ("answer", "gold", "expected"),
    [
        ("0.333", "0.33", True),  # the same to 2 places
        ("0.336", "0.33", False),
        ("1/3", "0.33", True),
        ("A", "a", True),
        ("cat", "dog", False),  # two words: no number to compare
        (" ", "1", False),
        ("\\frac{1}{2}", "0.5", True),  # LaTeX: math-verify, rounding to 2 places
    ],
)
def test_mathv_equal(answer, gold, expected):
    assert rules.mathv_equal(answer, gold).correct is expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("C", ["c"]),
        ("A, C", ["a", "c"]),
        ("(B) and (D)", ["b", "d"]),
        ("BD", ["b", "d"]),
        ("bd", None),  # two lower-case letters are a word
        ("ABCDEF", None),  # more than five capitals are a word
        ("the cat", None),
        ("C.", ["c"]),
    ],
)
def test_letters_of(answer, expected):
    assert rules.letters_of(answer) == expected


@pytest.mark.parametrize(
    ("answer", "gold", "expected"),
    [
        ("A, C", "A, C", (True, False)),
        ("C, A", "A, C", (True, False)),  # any order
        ("A", "A, C", (False, False)),
        ("F", "F", (False, False)),  # a lone letter past E is no answer
        ("?", "A", (False, False)),
        ("7", "7", (True, True)),  # no letters: what the reference's extractor would be asked about
    ],
)
def test_logicvista_match(answer, gold, expected):
    assert rules.logicvista_match(answer, gold) == expected


@pytest.mark.parametrize(
    ("answer", "gold", "expected"),
    [
        ("12 cm", {"unit": "cm"}, "12"),
        ("12 CM", {"unit": "cm"}, "12"),
        ("3.0", {"answer_type": "integer"}, "3"),
        ("3.5", {"answer_type": "integer"}, "3.5"),  # not whole: left for the grader to reject
        ("2.345", {"answer_type": "float", "precision": 2}, "2.35"),
        ("2.345", {"answer_type": "float"}, "2.345"),
        ("abc", {"answer_type": "float", "precision": 1}, "abc"),
    ],
)
def test_apply_metadata(answer, gold, expected):
    assert rules.apply_metadata(answer, gold) == expected


def test_gold_answers_put_the_rounded_form_first():
    gold = {"answers": ["1.5", "x"], "answer_type": "float", "precision": 2}
    assert rules.gold_answers(gold) == ["1.50", "x", "1.5"]
    assert rules.gold_answers({"answers": [3]}) == ["3"]
    assert rules.gold_answers({}) == []


def test_options_by_letter():
    assert rules.choice_dict(["x", "y"]) == {"A": "x", "B": "y"}
    assert rules.choice_dict(["x", "y"], ["A", "D"]) == {"A": "x", "D": "y"}
    assert rules.padded_choices(["x", "y"], ["A", "C"]) == ["x", "", "y"]
    assert rules.padded_choices(["x", 2], None) == ["x", "2"]
    assert rules.padded_choices(None, ["A"]) is None
    assert rules.exact_letters("18", ["18", "9", "18"]) == ["A", "C"]
    assert rules.names_a_letter("B", {"A": "x", "B": "y"}) and not rules.names_a_letter("C", {"A": "x"})
    assert not rules.names_a_letter("b", {"B": "y"})
    assert rules.options_of({"choices": ["p", "q"], "option_letters": ["B", "C"]}) == {"B": "p", "C": "q"}


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("B", ["B"]),
        ("E", ["E"]),  # a letter outside the options stays the gold
        ("blue", ["B"]),
        ("Blue.", ["B"]),  # normalised, one option
        ("18", ["A", "C"]),  # exactly the text of two options
        ("purple", []),
    ],
)
def test_gold_option_letters(target, expected):
    assert rules.gold_option_letters(target, {"A": "18", "B": "blue", "C": "18"}) == expected


def test_letter_verdict_and_can_infer():
    options = {"A": "red", "B": "blue", "C": "green"}
    assert rules.letter_verdict("B", options, ["B"]) == rules.Verdict(True)
    assert rules.letter_verdict("C", options, ["B"]) == rules.Verdict(False)
    assert rules.letter_verdict("I cannot tell", options, ["B"]) == rules.Verdict(False, needs_judge=True)
    assert rules.letter_verdict("B", options, ["E"]) == rules.Verdict(False)  # the gold names no option
    assert rules.can_infer("A cat sat on the mat", options) is None  # "A" early is an article
    assert rules.can_infer("so it is A", options) == "A"
    assert rules.can_infer("Cannot determine the answer", options) == "Z"
    assert rules.can_infer("The correct answer is **C**", options) == "C"
    assert rules.can_infer("green", options) == "C"


@pytest.mark.parametrize(
    ("answer", "gold", "expected"),
    [
        ("A, C", {"answers": ["A, C"], "answer_type": "multi_choice", "choices": ["p", "q", "r"]}, True),
        ("C and A", {"answers": ["A, C"], "answer_type": "multi_choice", "choices": ["p", "q", "r"]}, True),
        ("A", {"answers": ["A, C"], "answer_type": "multi_choice", "choices": ["p", "q", "r"]}, False),
        ("q", {"answers": ["B"], "choices": ["p", "q", "r"]}, True),
        ("B", {"answers": ["q"], "choices": ["p", "q", "r"]}, True),  # a text gold matches its letter
        ("A", {"answers": ["C"], "choices": ["p", "q", "r"]}, False),
        ("12", {"answers": ["12"]}, True),
    ],
)
def test_strict(answer, gold, expected):
    assert rules.strict(answer, gold).correct is expected


def test_graded_retries_a_deadline_once(monkeypatch):
    calls: list[float] = []

    def fake(answer, golds, choices=None, *, timeout=1.0, **_):
        calls.append(timeout)
        return rules.Grade(False, timed_out=len(calls) < 2)

    monkeypatch.setattr(rules, "grade", fake)
    assert rules.graded("x", ["y"]) == rules.Verdict(False, timeouts=1, unresolved=False)
    assert calls == [1.0, rules.EVAL_RETRY_TIMEOUT]
    calls.clear()
    monkeypatch.setattr(rules, "grade", lambda *a, **k: rules.Grade(False, timed_out=True))
    assert rules.graded("x", ["y"]) == rules.Verdict(False, timeouts=1, unresolved=True)


def test_can_infer_reads_a_lone_capital_z_as_a_refusal():
    """VLMEvalKit's ``can_infer_option`` maps a lone "Z" (its "none of these") to Z; a lower-case z
    is a word, not that letter."""
    abcd = {"A": "cat", "B": "dog", "C": "cow", "D": "hen"}
    assert rules._can_infer_option("my choice is Z", abcd) == "Z"
    assert rules._can_infer_option("my choice is z", abcd) is None


def test_can_infer_text_length_bound_is_inclusive():
    """An answer up to twice the options' total length is searched for an option's text; longer, not."""
    two = {"A": "cat", "B": "dog"}  # 6 characters in all
    assert rules._can_infer_text("my cat is ok", two) == "A"  # 12 characters: at the bound
    assert rules._can_infer_text("my cat is ok!", two) is None  # 13: past it


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("I choose B.", "b"),  # a trailing option letter alone
        ("so it is (C).", "c"),
        ("(D)\nbecause the angle is right", "d"),  # a leading one alone
        ("The final answer is 12 cm\nsince the side is short", "12cm"),  # the first line after the flag
        ("\\begin{bmatrix}1\\\\2\\end{bmatrix}", "\\begin{pmatrix}1\\2\\end{pmatrix}"),
    ],
)
def test_mathv_normalize_letters_first_lines_and_matrices(answer, expected):
    assert rules.mathv_normalize(answer) == expected


# MATH-V's answer cleaning (``evaluate`` / ``find_math_answer``), one case per rule it applies: each
# flag, wrapper, unit, LaTeX spelling and trailing mark.
MATHV_CLEANING = [
    ("It is E.", "e"),
    ("the value is 3.5.", "3.5"),
    ("so it is 1,000", "soitis1,000"),
    ("the total is 3.5!", "thetotalis3.5!"),
    ("\\boxed{5} and the answer is 7", "7"),
    ("The answer is 12 apples. It grows.", "12apples"),
    ("the answer is 4", "4"),
    ("The correct answer is 9", "9"),
    ("the correct answer is 9", "9"),
    ("The answer should be 10", "10"),
    ("the answer should be 10", "10"),
    ("x{}y", "xy"),
    ("\\boxed{3", "3"),
    ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
    ("5}", "5"),
    ("}5{", ""),
    ("a{b}c}", "abc}"),
    ("x = 5", "5"),
    ("y \\approx 3.14", "3.14"),
    ("1\\,000", "1000"),
    ("∞", "\\infty"),
    ("+∞", "\\infty"),
    ("+\\infty", "\\infty"),
    ("a\\\\b", "a\\b"),
    ("5\n6", "56"),
    ("\\text{5}", "{5}"),
    ("\\mbox{5}", "{5}"),
    ("\\left(1,2\\right)", "(1,2)"),
    ("30^{\\circ}", "30"),
    ("30^\\circ", "30"),
    ("5{m}^3", "5"),
    ("5 m^3", "5"),
    ("5{units}", "5"),
    ("5 units", "5"),
    ("5{km}", "5"),
    ("5 km", "5"),
    ("2\\!3", "23"),
    ("\\tfrac{1}{2}", "\\frac{1}{2}"),
    ("\\dfrac{1}{2}", "\\frac{1}{2}"),
    ("\\$5", "5"),
    ("$5$", "5"),
    ("50\\%", "50"),
    ("50%", "50"),
    (".5", "0.5"),
    ("1/2", "\\frac{1}{2}"),
    ("(b)", "b"),
    ("{c}", "c"),
    ("5.", "5"),
    (":5", "5"),
    ("(e) 5", "e5"),
    ("The final answer is (E)", "e"),
    ("The answer is: 5", "5"),
    ("The answer is 5. Then 6", "5"),
]


@pytest.mark.parametrize(("answer", "expected"), MATHV_CLEANING)
def test_mathv_normalize_rule_by_rule(answer, expected):
    assert rules.mathv_normalize(answer) == expected


# MMMU's parse_multi_choice_response: trailing marks stripped, the 5-word bound for option texts,
# and the last of several hits (by text, bracketed or spaced).
MMMU_OPTIONS = {"A": "red apple", "B": "green pear", "C": "blue plum", "D": "cat"}
MMMU_CHOICES = [
    ("B,", ("B", False)),
    ("B.", ("B", False)),
    ("B!", ("B", False)),
    ("B?", ("B", False)),
    ("B;", ("B", False)),
    ("B:", ("B", False)),
    ("'B'", ("B", False)),
    ("the fruit is a green pear", ("B", False)),
    ("I pick the green pear", ("C", True)),
    ("I pick the green pear now", ("B", False)),
    ("a red apple or a green pear", ("B", False)),
    ("a green pear or a red apple", ("A", False)),
    ("(A) or (B)", ("B", False)),
    ("(B) then (A)", ("A", False)),
    ("go A or B now", ("B", False)),
    ("go B or A now", ("A", False)),
]


@pytest.mark.parametrize(("response", "expected"), MMMU_CHOICES)
def test_mmmu_parse_choice_case_by_case(response, expected):
    assert rules.mmmu_parse_choice(response, MMMU_OPTIONS, "k") == expected


# parse_open_response: the shortest tail after an indicator, a lone mark is no answer.
MMMU_OPEN = [
    ("The answer is 5.", [5.0]),
    ("so it is 7", [7.0]),
    ("The answer is x. so it is 3", [3.0]),
    ("thus it is ?", ["thus it is ?"]),
    ("The result is 12 and so it is 1234.", [1234.0]),
    ("therefore it is :", ["therefore it is :"]),
]


@pytest.mark.parametrize(("response", "expected"), MMMU_OPEN)
def test_mmmu_parse_open_case_by_case(response, expected):
    assert rules.mmmu_parse_open(response) == expected


def test_ocrbench_line_breaks_and_percent_floats():
    assert rules.ocrbench_hit("a\nb", ["a b"], hme=False) and rules.ocrbench_hit("A B", ["a\nb"], hme=False)
    assert rules.ocrbench_hit("x^2+1", ["x^2\n+ 1"], hme=True)  # handwritten maths: spaces and breaks gone
    assert not rules.ocrbench_hit("x^2+1", ["X^2+1"], hme=True)  # ... and case kept
    assert rules._float("50%") == 0.5 and rules._float("1e400") is None and rules._float("nan") is None
