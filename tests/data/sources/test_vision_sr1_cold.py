"""Vision-SR1-Cold: see/think responses split into perception, reasoning and answer."""

from __future__ import annotations

import pytest

from avr.data.sources import (
    clean_sr1_question,
    extract_boxed,
    split_see_think,
    split_sr1_options,
)
from tests.data.sources.builders import SR1_PREAMBLE, _convert


def test_vision_sr1_cold(tmp_path):
    _, stats, records, _ = _convert("vision_sr1_cold", tmp_path, on_error="skip")
    mc, free = records
    assert mc.question == "Why are the bikes stopped?"
    assert mc.choices == ["resting", "red light"] and mc.answer == "B"
    assert mc.perception == "Motorcycles wait at an intersection; the light is red."
    assert mc.reasoning == "A red light means stop, so B." and mc.format == 3
    assert free.question == "What is half of the length x?" and free.choices is None
    assert free.answer == "\\frac{3}{2}"  # the box after </think>, nested braces kept
    assert stats["by_format"] == {"full": 2}


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("<description>P</description><think>R</think>\\boxed{A}", ("P", "R", "A")),
        (
            "<description>\n a cat \n</description>\n\n<think> so </think>\n$\\boxed{ 12 }$.",
            ("a cat", "so", "12"),
        ),
        (
            "<description>P</description><think>R</think>\\boxed{\\frac{1}{\\sqrt{2}}}",
            ("P", "R", "\\frac{1}{\\sqrt{2}}"),
        ),
        (
            "<description>P</description><think>draft \\boxed{1}</think> \\boxed{2}",
            ("P", "draft \\boxed{1}", "2"),
        ),
        ("< description >P< /description ><think>R</think>\\\\boxed{B}", ("P", "R", "B")),
    ],
)
def test_split_see_think(response, expected):
    assert split_see_think(response) == expected


@pytest.mark.parametrize(
    ("response", "error"),
    [
        ("<think>R</think>\\boxed{A}", "<description>"),
        ("<description>P</description>\\boxed{A}", "<think>"),
        ("<description>P</description><think>R</think> A", "no \\\\boxed"),
        ("<description>P</description><think>R \\boxed{A}</think>", "no \\\\boxed"),
        ("<description>P</description><think>R</think>\\boxed{}", "empty"),
        ("<description> </description><think>R</think>\\boxed{A}", "empty <description>"),
        ("<description>P</description><think>R</think>\\boxed{\\frac{1}{2}", "unbalanced"),
        (
            "<description>P</description><description>Q</description><think>R</think>\\boxed{A}",
            "2 <description>",
        ),
    ],
)
def test_split_see_think_rejects(response, error):
    with pytest.raises(ValueError, match=error):
        split_see_think(response)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("x \\boxed{a} y \\boxed{b}", "b"), ("\\boxed{{a}{b}}", "{a}{b}"), ("none", None), ("\\boxed {7}", "7")],
)
def test_extract_boxed(text, expected):
    assert extract_boxed(text) == expected


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("Question: What is it?\n-\n" + SR1_PREAMBLE + "<image>", "What is it?"),
        ("What is it?\n\n" + SR1_PREAMBLE, "What is it?"),
        ("<image>Question: Count the cubes.", "Count the cubes."),
        (
            "Question: Which? Options:\nA. x\nB. y\nYou FIRST think about the reasoning process as an internal "
            "monologue. The final answer MUST BE put in \\boxed{}.<image>",
            "Which? Options:\nA. x\nB. y",
        ),
    ],
)
def test_clean_sr1_question(prompt, expected):
    assert clean_sr1_question(prompt) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Which? Options:\nA. x\nB. y", ("Which?", ["x", "y"])),
        ("Which?\nOptions:\n(A) x\n(B) y\n(C) z", ("Which?", ["x", "y", "z"])),
        ("Which? Options:\nA) x\nB) y", ("Which?", ["x", "y"])),
        ("Which? Options:\nA. x\nC. y", ("Which? Options:\nA. x\nC. y", None)),  # letters skip
        ("Which? Options:\nA. x\nB. y\n## Figure 2", ("Which? Options:\nA. x\nB. y\n## Figure 2", None)),
        ("No options here", ("No options here", None)),
    ],
)
def test_split_options(text, expected):
    assert split_sr1_options(text) == expected
