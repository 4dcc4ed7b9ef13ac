"""Helpers shared by the converters."""

from __future__ import annotations

import pytest

from avr.data.sources import (
    letter_answer,
)


@pytest.mark.parametrize(
    ("answer", "n", "expected"),
    [("C", 4, "C"), ("(b)", 4, "B"), ("D.", 3, "D."), ("cat", 2, "cat"), (" A ", 2, "A")],
)
def test_letter_answer(answer, n, expected):
    assert letter_answer(answer, n) == expected
