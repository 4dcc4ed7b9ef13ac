"""Metrics against hand computation: accuracy, tokens, format shares, baselines, breakdowns."""

from __future__ import annotations

import pytest

from avr.eval.metrics import against_baseline, block, compute_metrics, scoring_summary
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


def test_level_0_is_a_bucket_of_its_own():
    """A level 0 (an int, a float 0.0, the string "0") is a level, not a missing one."""
    rows = [_lrow(0, 1, True, 4), _lrow(0.0, 1, False, 6), _lrow("0", 3, True, 20), _lrow(1, 1, True, 2)]
    levels = compute_metrics(rows)["benchmarks"]["a"]["breakdown"]["level"]
    assert list(levels) == ["0", "1"]
    assert (levels["0"]["n"], levels["0"]["accuracy"], levels["0"]["mean_tokens"]) == (3, 2 / 3, 10)
    assert levels["1"]["n"] == 1


def test_a_value_repeated_in_a_list_counts_the_item_once():
    rows = [
        _lrow(1, 1, True, 4, skills=["algebra", "algebra", "logic"]),
        _lrow(1, 1, False, 8, skills=("algebra",)),
        _lrow(1, 1, True, 2, skills=["", None, {"nested": 1}]),  # nothing countable: left out
    ]
    skills = compute_metrics(rows, {"a": ("skills",)})["benchmarks"]["a"]["breakdown"]["skills"]
    assert list(skills) == ["algebra", "logic"]
    assert (skills["algebra"]["n"], skills["algebra"]["accuracy"], skills["algebra"]["mean_tokens"]) == (
        2,
        0.5,
        6,
    )
    assert skills["logic"]["n"] == 1


def test_block_of_nothing_and_the_median():
    assert block([]) == {"n": 0}
    b = block([_row("a", 1, True, 3), _row("a", 1, True, 1), _row("a", 2, False, 10), _row("a", 0, False, 2)])
    assert (b["median_tokens"], b["mean_tokens"], b["accuracy"], b["malformed_rate"]) == (2.5, 4, 0.5, 0.25)
    assert b["formats"]["malformed"] == {"n": 1, "share": 0.25, "accuracy": 0.0, "mean_tokens": 2}
    assert b["formats"]["full"] == {"n": 0, "share": 0.0, "accuracy": None, "mean_tokens": None}
    assert list(b["formats"]) == ["malformed", "answer", "perception", "full"]


def test_accuracy_both_ways_when_a_judge_failed():
    rows = [
        {**_row("a", 1, True, 1), "judge_failed": False},
        {**_row("a", 1, False, 1), "judge_failed": True},
        {**_row("a", 1, False, 1)},
        {**_row("a", 1, True, 1)},
    ]
    m = compute_metrics(rows)
    a = m["benchmarks"]["a"]
    assert (a["accuracy"], a["judge_failed"], a["n_verdicts"], a["accuracy_over_verdicts"]) == (
        0.5,
        1,
        3,
        2 / 3,
    )
    assert m["overall"]["accuracy_over_verdicts"] == 2 / 3
    failed = [{**_row("a", 1, False, 1), "judge_failed": True}]
    assert compute_metrics(failed)["overall"]["accuracy_over_verdicts"] is None


def test_the_headline_split_and_the_macro_average():
    rows = [
        {**_row("m", 1, True, 1), "meta": {"split": "dev"}},
        {**_row("m", 1, False, 1), "meta": {"split": "validation"}},
        {**_row("m", 1, True, 1), "meta": {"split": "validation"}},
        {**_row("z", 1, True, 1)},
    ]
    m = compute_metrics(rows, {"m": ("split",)}, headlines={"m": ("test", "validation")})
    mm = m["benchmarks"]["m"]
    assert (mm["n"], mm["accuracy"], mm["headline_split"], mm["n_all"]) == (2, 0.5, "validation", 3)
    assert mm["breakdown"]["split"]["dev"]["n"] == 1  # the other split stays in the breakdown
    assert "headline_split" not in m["benchmarks"]["z"]
    # overall pools the headline items (3 of them, 2 right); macro averages the benchmarks (0.5 and 1)
    assert (m["overall"]["n"], m["overall"]["accuracy"], m["overall"]["macro_accuracy"]) == (3, 2 / 3, 0.75)
    assert compute_metrics([]) == {"benchmarks": {}, "overall": {"n": 0}}


def test_scoring_summary_counts_each_way_a_verdict_came_about():
    rows = [
        {"needs_judge": True, "grading_timeouts": 2, "grading_unresolved": True},
        {"judged": True, "grading_timeouts": 1},
        {"judge_failed": True, "grading_timeouts": None},
        {},
    ]
    assert scoring_summary(rows) == {
        "needs_judge": 1,
        "judged": 1,
        "judge_failed": 1,
        "grading_timeouts": 3,
        "grading_unresolved": 1,
    }


def test_baseline_comparison_skips_what_either_run_lacks():
    run = compute_metrics([_row("a", 1, True, 10), _row("b", 1, True, 10)])
    base = compute_metrics([_row("a", 3, True, 0), _row("c", 3, True, 40)])
    c = against_baseline(run, base)
    assert sorted(c) == ["a", "overall"]  # b has no baseline, c no run
    assert c["a"]["token_reduction"] is None  # a baseline of 0 tokens gives no ratio
    assert c["overall"] == {
        "token_reduction": 0.5,
        "accuracy_change": 0.0,
        "baseline_accuracy": 1.0,
        "baseline_mean_tokens": 20,
    }
    assert against_baseline(compute_metrics([]), base) == {}


def test_numeric_values_sort_as_numbers_and_before_text():
    rows = [_lrow(v, 1, True, 1) for v in ("hard", "10", "2", "easy", "2.5")]
    assert list(compute_metrics(rows)["benchmarks"]["a"]["breakdown"]["level"]) == [
        "2",
        "2.5",
        "10",
        "easy",
        "hard",
    ]
