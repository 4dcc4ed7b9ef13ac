import pytest

from avr.formats import (
    FORMAT_INSTRUCTION,
    FormatError,
    build_prompt,
    build_target,
    format_options,
    infer_format,
    parse,
    prompt_to_content,
)


@pytest.mark.parametrize(
    "text, fmt, answer",
    [
        ("<answer>B</answer>", 1, "B"),
        ("  <answer>\n 42 \n</answer>\n", 1, "42"),
        ("<perception>three dots</perception><answer>3</answer>", 2, "3"),
        ("<perception>p</perception>\n\n<answer>a</answer>", 2, "a"),
        ("<perception>p</perception> <reasoning>r</reasoning> <answer>a</answer>", 3, "a"),
    ],
)
def test_valid_formats(text, fmt, answer):
    p = parse(text)
    assert (p.format, p.answer) == (fmt, answer)
    assert type(p.format) is int  # written to scored.jsonl and rollouts as 1, not 1.0


def test_parse_keeps_each_block_stripped():
    p = parse("<perception>\n two dots \n</perception>\n<reasoning> 1+1 </reasoning><answer> 2 </answer>")
    assert (p.format, p.perception, p.reasoning, p.answer) == (3, "two dots", "1+1", "2")
    assert parse("<perception>p</perception><answer>a</answer>").reasoning is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "B",
        "<answer></answer>",  # empty content
        "<answer>   </answer>",
        "I think <answer>B</answer>",  # text outside the tags
        "<answer>B</answer> because",
        "<reasoning>r</reasoning><answer>a</answer>",  # reasoning without perception
        "<answer>a</answer><perception>p</perception>",  # wrong order
        "<perception>p</perception><perception>q</perception><answer>a</answer>",  # repeated tag
        "<answer>a <answer>b</answer></answer>",  # nested
        "<answer>a</answer><answer>b</answer>",
        "<perception>p</perception><reasoning>r</reasoning>",  # no answer
        "<answer>a",  # unclosed
        "<Answer>a</Answer>",
        "<perception>p</perception> x <answer>a</answer>",
        "<perception> \n\t </perception><answer>a</answer>",  # whitespace-only perception
        "<perception>p</perception><reasoning>  </reasoning><answer>a</answer>",  # ... reasoning
        "<perception>p</perception><answer>\n</answer>",
    ],
)
def test_malformed_is_format_zero(text):
    p = parse(text)
    assert p.format == 0 and not p.valid and p.answer is None


def test_parse_rejects_non_strings():
    assert parse(None).format == 0  # type: ignore[arg-type]


def _best_of_3(text: str) -> float:
    import time

    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        parse(text)
        times.append(time.perf_counter() - t0)
    return min(times)


def test_parse_is_linear_on_adversarial_input():
    """A backtracking parser is quadratic or worse on runs of "<": 200,000 of them would take minutes.

    Timed against benign text of the same length, parsed just before under the same load, so that a
    slow or busy machine slows both alike; a quadratic parser would be ~10^5 times slower, not 20."""
    n = 200_000
    adversarial = "<perception>" + "<" * n + "</perception><answer>a</answer>"
    benign = "<perception>" + "x" * n + "</perception><answer>a</answer>"
    assert parse(adversarial).format == 2 and parse(benign).format == 2
    assert parse("<answer>" + "a" * 500_000).format == 0
    assert _best_of_3(adversarial) < 20 * _best_of_3(benign) + 0.05


@pytest.mark.parametrize(
    "kwargs, fmt",
    [
        ({"answer": "3"}, 1),
        ({"answer": "3", "perception": "p"}, 2),
        ({"answer": "3", "perception": "p", "reasoning": "r"}, 3),
        ({"answer": "3", "perception": "p", "reasoning": "r", "format": 1}, 1),
    ],
)
def test_build_target_round_trips(kwargs, fmt):
    text = build_target(**kwargs)
    p = parse(text)
    assert p.format == fmt and p.answer == "3"
    if fmt >= 2:
        assert p.perception == "p"


def test_target_layout_follows_the_seed():
    assert build_target("A", "P", "R") == (
        "<perception>\nP\n</perception>\n\n<reasoning>\nR\n</reasoning>\n\n<answer>\nA\n</answer>"
    )


@pytest.mark.parametrize(
    "kwargs, msg",
    [
        ({"answer": ""}, "non-empty answer"),
        ({"answer": "a", "format": 2}, "non-empty perception"),
        ({"answer": "a", "perception": " \n ", "format": 2}, "non-empty perception"),
        ({"answer": "a", "perception": "p", "format": 3}, "non-empty reasoning"),
        ({"answer": "<answer>x"}, "contains a format tag"),
        ({"answer": "a", "format": 4}, "1, 2 or 3"),
    ],
)
def test_build_target_errors(kwargs, msg):
    with pytest.raises(FormatError, match=msg):
        build_target(**kwargs)


def test_infer_format_needs_perception_for_reasoning():
    with pytest.raises(
        FormatError, match=r"^a reasoning text needs a perception text \(format 3 has both\)$"
    ):
        infer_format(None, "r")
    with pytest.raises(FormatError, match="a reasoning text needs a perception text"):
        infer_format("  ", "r")
    assert infer_format("p", None) == 2
    assert infer_format("p", "  ") == 2 and infer_format(" ", None) == 1 and infer_format(None, None) == 1


def test_prompt_layout_and_content_split():
    prompt = build_prompt("How many?", ["1", "2"])
    assert prompt == "<image>\nQuestion: How many?\nOptions:\nA. 1\nB. 2"
    assert prompt_to_content(prompt) == [
        {"type": "image"},
        {"type": "text", "text": "\nQuestion: How many?\nOptions:\nA. 1\nB. 2"},
    ]
    assert build_prompt("q", instruction=True) == "<image>\nQuestion: q\n\n" + FORMAT_INSTRUCTION
    assert build_prompt(" q ", n_images=0) == "Question: q"  # text only: no placeholder, no line break
    assert build_prompt("q", n_images=2) == "<image><image>\nQuestion: q"


def test_options_are_lettered_up_to_z():
    assert format_options(["x", "y"]) == "A. x\nB. y"
    assert format_options([str(i) for i in range(26)]).splitlines()[-1] == "Z. 25"
    with pytest.raises(ValueError, match="at most 26 choices are supported, got 27"):
        format_options([str(i) for i in range(27)])
