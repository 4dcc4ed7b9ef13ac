"""Metrics against hand computation: accuracy, tokens, format shares, baselines, breakdowns."""

from __future__ import annotations

import pytest

from avr.eval.metrics import against_baseline, block, compute_metrics
from tests.eval.helpers import _lrow, _row


def test_metrics_match_hand_computation():
    rows = [
        _row("a", 1, True, 10),
        _row("a", 1, False, 20),
        _row("a", 3, True, 90),
        _row("a", 0, False, 40),
        _row("b", 2, True, 50),
        _row("b", 2, True, 30),
    ]
    m = compute_metrics(rows)
    a, b, o = m["benchmarks"]["a"], m["benchmarks"]["b"], m["overall"]
    assert (a["n"], a["accuracy"], a["mean_tokens"], a["median_tokens"]) == (4, 0.5, 40, 30)
    assert a["malformed_rate"] == 0.25
    assert a["formats"]["answer"] == {"n": 2, "share": 0.5, "accuracy": 0.5, "mean_tokens": 15}
    assert a["formats"]["full"]["accuracy"] == 1.0 and a["formats"]["perception"]["accuracy"] is None
    assert (b["accuracy"], b["mean_tokens"]) == (1.0, 40)
    assert o["n"] == 6 and o["accuracy"] == pytest.approx(4 / 6) and o["mean_tokens"] == 40
    assert o["macro_accuracy"] == pytest.approx(0.75)
    assert sum(f["share"] for f in o["formats"].values()) == pytest.approx(1)


def test_baseline_comparison():
    run = compute_metrics([_row("a", 1, True, 25), _row("a", 1, False, 25)])
    base = compute_metrics([_row("a", 3, True, 100), _row("a", 3, True, 100)])
    c = against_baseline(run, base)
    assert c["a"]["token_reduction"] == pytest.approx(0.75)
    assert c["a"]["accuracy_change"] == pytest.approx(-0.5)
    assert c["overall"]["baseline_mean_tokens"] == 100


def test_baseline_comparison_is_per_benchmark():
    # two benchmarks whose baselines differ from the pooled one: a comparison against the overall
    # baseline (tokens 60, accuracy 0.5) would give other numbers for both
    run = compute_metrics([_row("a", 1, True, 10), _row("b", 1, True, 50)])
    base = compute_metrics([_row("a", 3, True, 20), _row("b", 3, False, 100)])
    c = against_baseline(run, base)
    assert c["a"]["token_reduction"] == pytest.approx(0.5) and c["a"]["baseline_mean_tokens"] == 20
    assert c["b"]["token_reduction"] == pytest.approx(0.5) and c["b"]["baseline_mean_tokens"] == 100
    assert c["a"]["accuracy_change"] == 0 and c["b"]["accuracy_change"] == 1
    assert c["overall"]["token_reduction"] == pytest.approx(0.5) and c["overall"]["accuracy_change"] == 0.5


def test_breakdown_per_level_has_the_block_shape():
    rows = [
        _lrow(1, 1, True, 10),
        _lrow(1, 1, False, 12),
        _lrow(1, 3, True, 60),
        _lrow(3, 3, True, 80),
        _lrow(3, 1, False, 8),
        _lrow(10, 0, False, 5),
        {**_row("a", 2, True, 30), "meta": {}},  # no level: left out of the level table
    ]
    m = compute_metrics(rows)
    bd = m["benchmarks"]["a"]["breakdown"]
    assert list(bd) == ["level"] and list(bd["level"]) == ["1", "3", "10"]  # strings, numeric order
    one = bd["level"]["1"]
    assert one == block(rows[:3])  # exactly the block of those items alone
    assert set(one) == {"n", "accuracy", "mean_tokens", "median_tokens", "malformed_rate", "formats"}
    assert (one["n"], one["accuracy"], one["mean_tokens"]) == (3, pytest.approx(2 / 3), pytest.approx(82 / 3))
    assert one["formats"]["answer"] == {
        "n": 2,
        "share": pytest.approx(2 / 3),
        "accuracy": 0.5,
        "mean_tokens": 11,
    }
    assert one["formats"]["full"]["share"] == pytest.approx(1 / 3)
    assert bd["level"]["3"]["formats"]["full"]["accuracy"] == 1.0 and bd["level"]["10"]["malformed_rate"] == 1
    assert "breakdown" not in m["overall"]


def test_breakdown_fields_are_declared_per_benchmark():
    rows = [
        _lrow(2.0, 1, True, 4, bench="mv", subject="logic", skills=["x", "y"]),
        _lrow(2, 1, False, 6, bench="mv", subject="algebra", skills=["y"]),
        _lrow(1, 1, True, 4, bench="other", category="c", task="t", subject="s"),
    ]
    m = compute_metrics(rows, {"mv": ("subject", "level", "skills", "absent")})
    mv, other = m["benchmarks"]["mv"]["breakdown"], m["benchmarks"]["other"]["breakdown"]
    assert list(mv) == ["subject", "level", "skills"]  # declared order; a field no item has is left out
    assert list(mv["level"]) == ["2"] and mv["level"]["2"]["n"] == 2  # 2.0 and 2 are one level
    assert mv["skills"]["y"]["n"] == 2 and mv["skills"]["x"]["n"] == 1  # a list counts under each value
    assert list(other) == ["level", "category", "task"]  # the generic default: subject is not in it
