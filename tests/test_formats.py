import pytest

from avr.formats import (
    FormatError,
    build_prompt,
    build_target,
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
    ],
)
def test_malformed_is_format_zero(text):
    p = parse(text)
    assert p.format == 0 and not p.valid and p.answer is None


def test_parse_rejects_non_strings():
    assert parse(None).format == 0  # type: ignore[arg-type]


def test_parse_is_linear_on_adversarial_input():
    import time

    text = "<perception>" + "<" * 200_000 + "</perception><answer>a</answer>"
    t0 = time.perf_counter()
    assert parse(text).format == 2
    assert parse("<answer>" + "a" * 500_000).format == 0
    assert time.perf_counter() - t0 < 1.0


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
        ({"answer": "a", "perception": "p", "format": 3}, "non-empty reasoning"),
        ({"answer": "<answer>x"}, "contains a format tag"),
        ({"answer": "a", "format": 4}, "1, 2 or 3"),
    ],
)
def test_build_target_errors(kwargs, msg):
    with pytest.raises(FormatError, match=msg):
        build_target(**kwargs)


def test_infer_format_needs_perception_for_reasoning():
    with pytest.raises(FormatError):
        infer_format(None, "r")
    assert infer_format("p", None) == 2


def test_prompt_layout_and_content_split():
    prompt = build_prompt("How many?", ["1", "2"])
    assert prompt == "<image>\nQuestion: How many?\nOptions:\nA. 1\nB. 2"
    assert prompt_to_content(prompt) == [
        {"type": "image"},
        {"type": "text", "text": "\nQuestion: How many?\nOptions:\nA. 1\nB. 2"},
    ]
    assert "<answer>" in build_prompt("q", instruction=True)
