"""What the benchmark loaders share."""

from __future__ import annotations

from avr.eval.benchmarks import (
    split_options,
)


def test_split_options():
    assert split_options("Q?\nOptions: A: 1, B: 2") == ("Q?", ["1", "2"])
    assert split_options("Q?\nChoices:\n(A) x\n(B) y\n(C) z") == ("Q?", ["x", "y", "z"])
    assert split_options("Q?\nOptions: B: 1, C: 2") is None  # does not start at A
    assert split_options("Options: A: 1, B: 2") is None  # no stem left
    assert split_options("Q? A: 1") is None and split_options("Q?\nOptions: A: 1") is None
