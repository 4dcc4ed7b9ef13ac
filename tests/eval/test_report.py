"""report.md, compare.md and the plots."""

from __future__ import annotations

import json

import pytest

from avr.eval.metrics import against_baseline, compute_metrics
from avr.eval.modes import Mode
from avr.eval.report import compare_runs
from avr.eval.runner import run_eval, score_run
from tests.eval.helpers import PNG, Scripted, _item, _row


def test_report_rows_compare_each_benchmark_with_its_own_baseline():
    from avr.eval.report import metrics_table

    run = compute_metrics([_row("a", 1, True, 10), _row("b", 1, True, 50)])
    base = compute_metrics([_row("a", 3, True, 40), _row("b", 3, False, 100)])
    table = metrics_table(run, against_baseline(run, base))
    # a: 1 - 10/40 = 75% fewer tokens, no accuracy change; b: 50% fewer, +100 points; overall: 1 - 30/70
    assert "| a | 1 | 100.0 | 10.0 | 10.0 | 100.0 | 0.0 | 0.0 | 0.0 | 75.0 | 0.0 |" in table
    assert "| b | 1 | 100.0 | 50.0 | 50.0 | 100.0 | 0.0 | 0.0 | 0.0 | 50.0 | 100.0 |" in table
    assert "| **overall** | 2 | 100.0 | 30.0 | 30.0 | 100.0 | 0.0 | 0.0 | 0.0 | 57.1 | 50.0 |" in table


def test_report_has_a_table_per_breakdown_field(tmp_path):
    items = [_item(i, answers=["4"]) for i in range(4)]
    for it in items:
        it.meta = {"level": 1 + int(it.id) % 2, "task": "sum"}
    be = Scripted(
        lambda req: ["<answer>4</answer>" if req.question in ("q0", "q2") else "<answer>5</answer>"]
    )
    m = run_eval("m", items, tmp_path / "run", mode=Mode("adaptive"), backend_obj=be)
    assert m["benchmarks"]["fx"]["breakdown"]["level"]["1"]["accuracy"] == 1.0
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["benchmarks"]["fx"]["breakdown"]["level"]["2"]["formats"]["answer"]["share"] == 1.0
    report = (tmp_path / "run" / "report.md").read_text()
    assert "## fx by level" in report and "## fx by task" in report
    assert "| 1 | 2 | 100.0 | 18.0 | 100.0 | 0.0 | 0.0 | 0.0 |" in report
    assert "| 2 | 2 | 0.0 | 18.0 | 100.0 | 0.0 | 0.0 | 0.0 |" in report
    assert "| sum | 4 | 50.0 |" in report
    table = compare_runs([tmp_path / "run"])  # compare still reads a run with breakdowns
    assert "| run | adaptive | fx | 4 | 50.0 |" in table


def test_score_and_compare_write_reports_and_plots(tmp_path):
    items = [_item(i, answers=["4"]) for i in range(4)]
    short = Scripted(lambda req: ["<answer>4</answer>" if req.question != "q3" else "<answer>5</answer>"])
    long = Scripted(lambda req: ["<perception>four</perception><reasoning>2+2</reasoning><answer>4</answer>"])
    m_long = run_eval("m", items, tmp_path / "long", mode=Mode("adaptive"), backend_obj=long)
    m_short = run_eval(
        "m", items, tmp_path / "short", mode=Mode("adaptive"), backend_obj=short, baseline=tmp_path / "long"
    )
    assert m_long["overall"]["accuracy"] == 1.0 and m_short["overall"]["accuracy"] == 0.75
    assert m_short["baseline"]["overall"]["accuracy_change"] == pytest.approx(-0.25)
    assert m_short["baseline"]["overall"]["token_reduction"] == pytest.approx(1 - 18 / 73)
    for name in ("report.md", "metrics.json", "scored.jsonl", "format_mix.png", "accuracy_vs_tokens.png"):
        assert (tmp_path / "short" / name).is_file(), name
    assert (tmp_path / "short" / "format_mix.png").read_bytes()[:8] == PNG
    report = (tmp_path / "short" / "report.md").read_text()
    assert "| fx | 4 | 75.0 | 18.0 |" in report and "tok reduction %" in report
    # re-scoring needs no model and gives the same numbers
    again = score_run(tmp_path / "short")
    assert again["overall"] == m_short["overall"]
    table = compare_runs([tmp_path / "long", tmp_path / "short"], tmp_path / "cmp")
    assert "| long | adaptive | overall | 4 | 100.0 | 73.0 |" in table
    assert (tmp_path / "cmp" / "accuracy_vs_tokens.png").read_bytes()[:8] == PNG


def test_compare_names_a_run_without_metrics(tmp_path):
    with pytest.raises(FileNotFoundError, match="avr eval score"):
        compare_runs([tmp_path])


def test_training_curves_need_avr_metrics(tmp_path):
    from avr.eval.report import plot_training_log

    log = tmp_path / "train_log.jsonl"
    log.write_text('{"step": 1, "loss": 0.5}\n')
    with pytest.raises(ValueError, match="no step with avr/\\* metrics"):
        plot_training_log(log, tmp_path / "c.png")
    log.write_text(
        "".join(
            json.dumps({"step": i, "avr/mean_score": 0.1 * i, "avr/accuracy": 0.5, "avr/diversity_weight": 0.5,
                        "avr/answer/share": 0.25}) + "\n"
            for i in range(1, 4)
        )
    )  # fmt: skip
    assert plot_training_log(log, tmp_path / "c.png").read_bytes()[:8] == PNG
