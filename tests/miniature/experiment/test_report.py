"""The experiment report's numbers against hand computation, on a hand-made run tree.

The README's headline table comes from this code, so each figure is pinned: which run is
always-reason (the SFT model with format 3 forced), the SFT model choosing freely, each arm, the
token cuts overall and per level and their denominators, mean ± sd over seeds (the *sample* standard
deviation: two seeds are a sample of what another seed would give), the targets and the ablations.

The held-out set: four level-1 items (a0-a3) and four level-3 items (b0-b3). Each run below lists,
per item, (format, correct, output tokens).
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from avr.miniature.experiment.recipe import Arm, Experiment, mode_dir
from avr.miniature.experiment.report import (
    L1_MAX_GAIN,
    L3_MIN_GAIN,
    arm_summary,
    headline_table,
    levels_of,
    precondition_table,
    run_metrics,
    targets_table,
    training_by_level,
    write_report,
)

L1 = ["a0", "a1", "a2", "a3"]
L3 = ["b0", "b1", "b2", "b3"]
T, F = True, False

RUNS: dict[str, list[tuple[int, bool, int]]] = {
    # level 1 items, then level 3 items
    "sft-forced1": [(1, T, 2)] * 4 + [(1, T, 2), (1, F, 2), (1, F, 2), (1, F, 2)],
    "sft-forced2": [(2, T, 6), (2, T, 6), (2, F, 6), (2, F, 6)] + [(2, T, 6)] + [(2, F, 6)] * 3,
    # always-reason: L1 10 tokens, L3 14 tokens, overall 12 tokens, accuracy 7/8
    "sft-forced3": [(3, T, 10)] * 4 + [(3, T, 14)] * 3 + [(3, F, 14)],
    # the SFT model choosing freely: half of level 1 in format 1; overall 10 tokens, accuracy 7/8
    "sft-adaptive": [(3, T, 10), (3, T, 10), (1, T, 2), (1, T, 2)] + [(3, T, 14)] * 3 + [(3, F, 14)],
    # seed 0: accuracy 7/8, 8 tokens, L1 2 tokens all format 1, L3 all format 3
    "fs_grpo-s0": [(1, T, 2)] * 4 + [(3, T, 14)] * 3 + [(3, F, 14)],
    # seed 1: accuracy 6/8, 9.75 tokens, L1 4 tokens and 3/4 format 1, L3 3/4 format 3 and one malformed
    "fs_grpo-s1": [(1, T, 2)] * 3 + [(3, T, 10), (3, T, 14), (3, T, 14), (3, F, 14), (0, F, 20)],
    # the ablation: accuracy 6/8, 12 tokens, every item in format 3
    "no_format-s0": [(3, T, 10)] * 4 + [(3, T, 14)] * 2 + [(3, F, 14)] * 2,
}

EXP = Experiment(
    path=Path("digits.yaml"),
    world="digits",
    data={},
    model={"size": "small"},
    sft={},
    grpo={},
    eval={},
    arms={"fs_grpo": Arm("fs_grpo", "paper", (0, 1)), "no_format": Arm("no_format", "no_format", (0,))},
)


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _scored(run: str) -> list[dict[str, Any]]:
    return [
        {"id": i, "format": f, "correct": c, "tokens": t}
        for i, (f, c, t) in zip(L1 + L3, RUNS[run], strict=True)
    ]


def write_tree(out: Path, runs: tuple[str, ...] = tuple(RUNS)) -> Path:
    """The files the stages write: records, each run's scored.jsonl, one run's rollouts."""
    rec = out / "data" / "records"
    _jsonl(rec / "heldout.jsonl", [{"id": i, "level": 1} for i in L1] + [{"id": i, "level": 3} for i in L3])
    _jsonl(rec / "rl.jsonl", [{"id": "p1", "level": 1}, {"id": "p3", "level": 3}])
    for run in runs:
        _jsonl(out / "eval" / run / "scored.jsonl", _scored(run))
    rollouts = [  # groups of one prompt each; scores as the paper reward gives them (no bonus)
        {"step": 1, "group": "0:0", "prompt_id": "p1", "format": 3, "correct": True, "score": 1.0},
        {"step": 1, "group": "0:0", "prompt_id": "p1", "format": 1, "correct": False, "score": -0.5},
        {"step": 1, "group": "0:1", "prompt_id": "p3", "format": 3, "correct": True, "score": 1.0},
        {"step": 2, "group": "1:0", "prompt_id": "p1", "format": 1, "correct": True, "score": 1.5},
        {"step": 2, "group": "1:0", "prompt_id": "p1", "format": 1, "correct": True, "score": 1.5},
        {"step": 2, "group": "1:0", "prompt_id": "p1", "format": 0, "correct": False, "score": -1.0},
        {"step": 2, "group": "1:0", "prompt_id": "p1", "format": 1, "correct": True, "score": 1.5},
    ]
    _jsonl(out / "grpo" / "fs_grpo-s0" / "rollouts.jsonl", rollouts)
    return out


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "out")


@pytest.fixture
def plots(monkeypatch) -> dict[str, Any]:
    """The two plots replaced by recorders (matplotlib takes seconds; the real ones are drawn in
    ``test_the_plots_are_drawn``): what each was asked to draw."""
    import avr.miniature.experiment.report as report

    drawn: dict[str, Any] = {}

    def accuracy_vs_tokens(points, path, **kw):
        drawn["points"], drawn["accuracy_vs_tokens"] = points, kw
        path.write_bytes(b"")
        return path

    def level_shares(curves, path):
        drawn["curves"] = curves
        path.write_bytes(b"")
        return path

    monkeypatch.setattr(report, "plot_accuracy_vs_tokens", accuracy_vs_tokens)
    monkeypatch.setattr(report, "plot_level_shares", level_shares)
    return drawn


def _metrics(tree: Path, run: str) -> dict[str, Any]:
    m = run_metrics(tree / "eval" / run, levels_of(tree / "data" / "records" / "heldout.jsonl"))
    assert m is not None
    return m


def test_run_metrics_split_an_evaluation_by_level(tree):
    m = _metrics(tree, "fs_grpo-s1")
    assert set(m["levels"]) == {"1", "3"}
    o, l1, l3 = m["overall"], m["levels"]["1"], m["levels"]["3"]
    assert (o["n"], o["accuracy"], o["mean_tokens"], o["malformed_rate"]) == (8, 0.75, 9.75, 0.125)
    assert (l1["n"], l1["accuracy"], l1["mean_tokens"]) == (4, 1.0, 4.0)
    assert l1["formats"]["answer"]["share"] == 0.75 and l1["formats"]["full"]["share"] == 0.25
    assert (l3["n"], l3["accuracy"], l3["mean_tokens"], l3["malformed_rate"]) == (4, 0.5, 15.5, 0.25)
    assert run_metrics(tree / "eval" / "never-run", {}) is None


def test_training_curves_per_step_and_level(tree):
    levels = levels_of(tree / "data" / "records" / "rl.jsonl")
    assert levels == {"p1": "1", "p3": "3"}
    rows = training_by_level(tree / "grpo" / "fs_grpo-s0" / "rollouts.jsonl", levels)
    assert rows == [
        {"step": 1, "level": "1", "n": 2, "f1": 0.5, "f2": 0.0, "f3": 0.5, "accuracy": 0.5},
        {"step": 1, "level": "3", "n": 1, "f1": 0.0, "f2": 0.0, "f3": 1.0, "accuracy": 1.0},
        {"step": 2, "level": "1", "n": 4, "f1": 0.75, "f2": 0.0, "f3": 0.0, "accuracy": 0.75},
    ]


def test_arm_summary_is_the_mean_and_the_sample_sd_over_seeds(tree):
    s = arm_summary([_metrics(tree, "fs_grpo-s0"), _metrics(tree, "fs_grpo-s1")])
    assert set(s) == {"acc", "tokens", "l1_tokens", "l1_f1", "l3_f3", "l3_acc"}
    # two seeds a, b: mean (a + b) / 2, sample sd |a - b| / sqrt(2) (the population sd would be |a - b| / 2)
    expected = {
        "acc": (0.875, 0.75),
        "tokens": (8.0, 9.75),
        "l1_tokens": (2.0, 4.0),
        "l1_f1": (1.0, 0.75),
        "l3_f3": (1.0, 0.75),
        "l3_acc": (0.75, 0.5),
    }
    for key, (a, b) in expected.items():
        assert s[key] == (pytest.approx((a + b) / 2), pytest.approx(abs(a - b) / math.sqrt(2))), key
    # three seeds: sum of squares over n - 1
    three = arm_summary([_metrics(tree, r) for r in ("fs_grpo-s0", "fs_grpo-s1", "no_format-s0")])
    # (0.875, 0.75, 0.75): mean 19/24, deviations 1/12, -1/24, -1/24
    assert three["acc"] == (pytest.approx(19 / 24), pytest.approx(math.sqrt(((1 / 12) ** 2 + 2 / 24**2) / 2)))
    # one seed: no spread to speak of
    assert arm_summary([_metrics(tree, "fs_grpo-s0")])["tokens"] == (8.0, 0.0)


def test_the_precondition_compares_forced_3_with_forced_1_per_level(tree):
    base = {m: _metrics(tree, mode_dir(m)) for m in ("forced:1", "forced:2", "forced:3", "adaptive")}
    text, verdict = precondition_table(base)
    assert text.splitlines()[2:4] == [
        "| 1 | 4 | 100.0 (2.0) | 50.0 (6.0) | 100.0 (10.0) | 100.0 (6.0) |",
        "| 3 | 4 | 25.0 (2.0) | 25.0 (6.0) | 75.0 (14.0) | 75.0 (14.0) |",
    ]
    assert verdict == {"gain": {"1": 0.0, "3": 0.5}, "holds": True}
    assert "level 1, forced:3 - forced:1 = 0.0 points (must be <= 3): **holds**" in text
    assert "level 3, forced:3 - forced:1 = 50.0 points (must be >= 20): **holds**" in text
    # swapped, level 1 gains 50 points from reasoning and level 3 nothing: both halves fail
    text, swapped = precondition_table({"forced:1": base["forced:3"], "forced:3": base["forced:1"]})
    assert swapped == {"gain": {"1": 0.0, "3": -0.5}, "holds": False}
    assert "level 3, forced:3 - forced:1 = -50.0 points (must be >= 20): **fails**." in text
    text, none = precondition_table({"forced:3": base["forced:3"]})  # forced:1 not evaluated: no verdict
    assert none == {"gain": {}, "holds": False}
    assert "level 1, forced:3 - forced:1 = - points (must be <= 3): **fails**" in text


@pytest.mark.parametrize(
    "l1_gain, l3_gain, holds",
    [
        (L1_MAX_GAIN, L3_MIN_GAIN, True),  # both exactly at their bound
        (0.0, 0.5, True),
        (L1_MAX_GAIN + 0.01, 0.5, False),
        (0.0, L3_MIN_GAIN - 0.01, False),
    ],
)
def test_the_precondition_bounds_are_inclusive(l1_gain, l3_gain, holds):
    def run(acc1: float, acc3: float) -> dict[str, Any]:
        return {"levels": {"1": {"n": 100, "accuracy": acc1, "mean_tokens": 1.0},
                           "3": {"n": 100, "accuracy": acc3, "mean_tokens": 1.0}}}  # fmt: skip

    # accuracies as counts over 100 items give differences like 0.7 - 0.5 = 0.19999999999999996
    _, verdict = precondition_table(
        {"forced:1": run(0.5, 0.5), "forced:3": run(0.5 + l1_gain, 0.5 + l3_gain)}
    )
    assert verdict["holds"] is holds


def test_the_headline_table(tree):
    ref, sft = _metrics(tree, "sft-forced3"), _metrics(tree, "sft-adaptive")
    arms = {
        "fs_grpo": {r: _metrics(tree, r) for r in ("fs_grpo-s0", "fs_grpo-s1")},
        "no_format": {"no_format-s0": _metrics(tree, "no_format-s0")},
    }
    lines = headline_table(ref, sft, arms).splitlines()
    assert lines[0].startswith("| held-out items (4 read-offs + 4 sums/differences) | accuracy % | tokens |")
    assert lines[2:] == [
        "| always-reason (the SFT model, format 3 forced) | 87.5 | 12.0 | same | 0% | 100% |",
        # 10 tokens against 12: -17%; half of level 1 in format 1
        "| the SFT model, choosing freely | 87.5 | 10.0 | -17% | 50% | 100% |",
        # accuracy (0.875, 0.75): 81.25 ± 8.84; tokens (8, 9.75): 8.875 ± 1.24, -26% of 12;
        # level-1 format-1 share (1, 0.75) and level-3 format-3 share (1, 0.75): 87.5 ± 17.7
        "| FS-GRPO, choosing freely (2 seeds, mean ± sd) | 81.2 ± 8.8 | 8.9 ± 1.2 | -26% | 88 ± 18% | 88 ± 18% |",
        "| FS-GRPO without format shaping | 75.0 | 12.0 | same | 0% | 100% |",
    ]
    # no arm evaluated yet, no SFT free run: always-reason alone
    assert headline_table(ref, None, {}).splitlines()[2:] == [lines[2]]


def test_a_headline_with_a_level_2_shows_its_format_2_share(tree):
    """With three levels (trio) the headline counts items per level and adds the level-2 format-2
    share; the diversity-weight arm gets its own line."""
    levels = {"a0": "1", "a1": "1", "a2": "2", "a3": "2"} | {b: "3" for b in L3}
    m = {run: run_metrics(tree / "eval" / run, levels) for run in ("sft-forced3", "sft-forced2")}
    lines = headline_table(
        m["sft-forced3"], None, {"strong_bonus": {"strong_bonus-s0": m["sft-forced2"]}}
    ).splitlines()
    assert lines[0].startswith("| held-out items (2 level 1 + 2 level 2 + 4 level 3) | accuracy % |")
    assert lines[0].endswith(
        "| level-1 answers in format 1 | level-2 answers in format 2 | level-3 answers in format 3 |"
    )
    assert lines[1] == "|---|---|---|---|---|---|---|"
    assert lines[2:] == [
        "| always-reason (the SFT model, format 3 forced) | 87.5 | 12.0 | same | 0% | 0% | 100% |",
        # forced:2 as an arm: 3/8 right at 6 tokens (-50% of 12), every answer in format 2
        "| FS-GRPO, diversity weight 2.0 | 37.5 | 6.0 | -50% | 0% | 100% | 0% |",
    ]


def test_a_row_for_a_run_that_lacks_a_level(tree):
    from avr.miniature.experiment.report import _row

    m = _metrics(tree, "fs_grpo-s0")
    only_level_1 = {"overall": m["levels"]["1"], "levels": {"1": m["levels"]["1"]}}
    # no level 3: its cells are "-" and 0.0 tokens; no reference: no cut
    assert _row("r", only_level_1, None) == (
        "| r | 100.0 | 2.0 | - | 100.0 | 2.0 | 100.0 | - | 0.0 | - | 0.0 |"
    )
    no_level_1 = {"overall": m["levels"]["3"], "levels": {"3": m["levels"]["3"]}}
    assert _row("r", no_level_1, m).split(" | ")[4:7] == ["-", "0.0", "-"]


def test_the_targets_table_cuts_level_1_against_always_reasons_level_1(tree):
    ref = _metrics(tree, "sft-forced3")
    main = arm_summary([_metrics(tree, "fs_grpo-s0"), _metrics(tree, "fs_grpo-s1")])
    lines = targets_table(ref, main, 1 / 3).splitlines()
    assert lines[2:] == [
        "| overall accuracy within 2 points of always-reason | -6.2 points | **no** |",
        # level 1: mean 3 tokens against always-reason's 10 at level 1 (not its 12 overall)
        "| level 1: at least 60% fewer tokens than always-reason | 70.0% fewer | yes |",
        "| level 3: format 3 kept (share >= 80%) | 87.5% | yes |",
        "| overall token cut vs always-reason (ideal for this mix: 33.3%) | 26.0% | - |",
    ]
    better = {**main, "acc": (0.89, 0.0), "l1_tokens": (4.1, 0.0), "l3_f3": (0.79, 0.0)}
    assert [
        line.rsplit("|", 2)[1].strip() for line in targets_table(ref, better, None).splitlines()[2:5]
    ] == [
        "yes",  # above always-reason counts as within
        "**no**",  # 59% fewer
        "**no**",
    ]
    # the bounds, met exactly: 2 points under always-reason's 87.5%, 60% fewer than its 10 tokens
    exact = targets_table(ref, {**main, "acc": (0.855, 0.0), "l1_tokens": (4.0, 0.0)}, None).splitlines()
    assert exact[2].endswith("| -2.0 points | yes |") and exact[3].endswith("| 60.0% fewer | yes |")
    under = targets_table(ref, {**main, "acc": (0.8549, 0.0)}, None).splitlines()
    assert under[2].endswith("| -2.0 points | **no** |")
    assert (
        targets_table(ref, main, None).splitlines()[-1]
        == "| overall token cut vs always-reason | 26.0% | - |"
    )


def test_the_report_takes_forced_3_as_always_reason(tree, plots):
    path = write_report(EXP, tree, {"machine": "test machine", "stages": {"sft": 60.0, "grpo": 30.4}})
    text = path.read_text()
    lines = text.splitlines()

    def after(title: str, n: int) -> list[str]:
        i = lines.index(title)
        return lines[i : i + n]

    assert "Recipe `digits.yaml`; world `digits`; model `small` Qwen3-VL" in text
    assert "Machine: test machine." in text
    head = after("## Headline", 8)
    assert head[4] == "| always-reason (the SFT model, format 3 forced) | 87.5 | 12.0 | same | 0% | 100% |"
    assert head[5] == "| the SFT model, choosing freely | 87.5 | 10.0 | -17% | 50% | 100% |"
    table = after("## Against always-reason", 7)[4:]
    assert table == [
        "| SFT, forced:3 (always-reason) | 87.5 | 12.0 | 0.0 | 100.0 | 10.0 | 0.0 | 75.0 | 14.0 | 100.0 | 0.0 |",
        "| SFT, choosing freely | 87.5 | 10.0 | 16.7 | 100.0 | 6.0 | 50.0 | 75.0 | 14.0 | 100.0 | 0.0 |",
        "| FS-GRPO, choosing freely (fs_grpo-s0) | 87.5 | 8.0 | 33.3 | 100.0 | 2.0 | 100.0 | 75.0 | 14.0 | 100.0 | 0.0 |",
    ]
    assert (
        "| FS-GRPO, choosing freely (fs_grpo-s1) | 75.0 | 9.8 | 18.8 | 100.0 | 4.0 | 75.0 | 50.0 | 15.5 | 75.0 | 12.5 |"
        in lines
    )
    assert (
        "FS-GRPO over 2 seed(s): accuracy 81.2 ± 8.8 %, tokens 8.9 ± 1.2, level-1 format-1 share "
        "87.5 ± 17.7 %, level-3 format-3 share 87.5 ± 17.7 % (mean ± sd)."
    ) in lines
    # the ideal cut: format 1 at level 1 (forced:1, 2 tokens) and always-reason at level 3 (14 tokens),
    # (4 x 2 + 4 x 14) / 8 = 8 tokens against 12
    assert "| overall token cut vs always-reason (ideal for this mix: 33.3%) | 26.0% | - |" in lines
    ablations = after("## Ablations", 9)[6:]
    assert ablations == [
        "| fs_grpo (fs_grpo-s0, reward `paper`) | 87.5 | 8.0 | 33.3 | 100.0 | 2.0 | 100.0 | 75.0 | 14.0 | 100.0 | 0.0 |",
        "| fs_grpo (fs_grpo-s1, reward `paper`) | 75.0 | 9.8 | 18.8 | 100.0 | 4.0 | 75.0 | 50.0 | 15.5 | 75.0 | 12.5 |",
        "| no_format (no_format-s0, reward `no_format`) | 75.0 | 12.0 | 0.0 | 100.0 | 10.0 | 0.0 | 50.0 | 14.0 | 100.0 | 0.0 |",
    ]
    assert after("## Wall time", 7)[4:] == [
        "| sft | 60 |",
        "| grpo | 30 |",
        "| **total** | **90** (1.5 min) |",
    ]
    # the accuracy-vs-tokens plot: the three SFT points and every run, by name
    assert list(plots["points"]) == [
        "SFT forced:3 (always-reason)", "SFT adaptive", "SFT forced:1", "fs_grpo-s0", "fs_grpo-s1", "no_format-s0",
    ]  # fmt: skip
    assert plots["points"]["SFT forced:3 (always-reason)"]["overall"]["mean_tokens"] == 12.0
    assert plots["points"]["no_format-s0"]["overall"]["accuracy"] == 0.75
    assert plots["accuracy_vs_tokens"] == {
        "per_benchmark": False,
        "xlabel": "mean output tokens per held-out item",
    }
    assert list(plots["curves"]) == ["fs_grpo-s0"] and len(plots["curves"]["fs_grpo-s0"]) == 3
    assert "- [fs_grpo-s0](grpo/fs_grpo-s0/training_curves.png)" in lines
    results = json.loads((tree / "results.json").read_text())
    assert results["precondition"] == {"gain": {"1": 0.0, "3": 0.5}, "holds": True}
    assert results["baselines"]["forced:3"]["overall"]["mean_tokens"] == 12.0
    assert sorted(results["arms"]) == ["fs_grpo", "no_format"] and list(results["curves"]) == ["fs_grpo-s0"]


def test_the_whole_report_is_the_expected_text(tree, plots):
    """Every line of report.md for the hand-made tree, prose and layout included (the figures in it
    are the ones computed by hand above). A deliberate change to the report updates
    expected_report.md beside this file."""
    path = write_report(EXP, tree, {"machine": "test machine", "stages": {"sft": 600.0, "grpo": 30.4}})
    assert path.read_text() == (Path(__file__).parent / "expected_report.md").read_text()


def test_a_report_without_forced_1_or_the_main_arm(tmp_path, plots):
    """forced:1 and adaptive not evaluated, no FS-GRPO run yet: no ideal cut, no targets, no crash."""
    out = write_tree(tmp_path / "out", runs=("sft-forced3", "no_format-s0"))
    lines = write_report(EXP, out, {}).read_text().splitlines()
    assert "### Targets" not in lines and "| the SFT model, choosing freely" not in "\n".join(lines)
    i = lines.index("## Headline")
    assert lines[i + 4 :][:2] == [
        "| always-reason (the SFT model, format 3 forced) | 87.5 | 12.0 | same | 0% | 100% |",
        "| FS-GRPO without format shaping | 75.0 | 12.0 | same | 0% | 100% |",
    ]
    assert lines[lines.index("## Against always-reason") + 4 :][:2] == [
        "| SFT, forced:3 (always-reason) | 87.5 | 12.0 | 0.0 | 100.0 | 10.0 | 0.0 | 75.0 | 14.0 | 100.0 | 0.0 |",
        "## Ablations",  # no FS-GRPO row and no summary between the table and the next section
    ]
    assert list(plots["points"]) == ["SFT forced:3 (always-reason)", "no_format-s0"]


def test_a_report_before_any_evaluation_says_so(tmp_path, plots):
    out = write_tree(tmp_path / "out", runs=())
    text = write_report(EXP, out, {"sft_checkpoint": "ckpt/sft"}).read_text()
    assert "Stage 1 was not run here: the SFT model is the checkpoint `ckpt/sft`." in text
    assert "(not evaluated yet)" in text and "## Headline" not in text and "## Wall time" not in text
    assert json.loads((out / "results.json").read_text())["precondition"] == {"holds": False}
    with pytest.raises(
        FileNotFoundError, match=r"records/heldout\.jsonl: nothing to report; run the experiment"
    ):
        write_report(EXP, tmp_path / "empty", {})
    assert plots["points"] == {}


def test_the_report_names_the_engine_that_ran_stage_2(tmp_path, plots):
    out = write_tree(tmp_path / "out", runs=())
    verl = write_report(EXP, out, {"engine": "verl"}).read_text()
    assert "Stage 2 runs on **verl's own GRPO loop** on the CPU backend" in verl and "stand-in" not in verl
    standin = write_report(EXP, out, {"engine": "standin"}).read_text()
    assert "Stage 2 runs through the **CPU stand-in**" in standin and "verl's own GRPO loop" not in standin


def test_the_plots_are_drawn(tree):
    write_report(EXP, tree, {})
    for png in ("accuracy_vs_tokens.png", "format_share_per_level.png"):
        assert (tree / "plots" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _levels(**acc: tuple[float, int]) -> dict[str, Any]:
    return {"levels": {lv.removeprefix("l"): {"accuracy": a, "n": n} for lv, (a, n) in acc.items()}}


def test_forced_targets_at_their_bounds():
    """Each SFT target at its bound, on both sides: >= and <= include it, < does not."""
    from avr.miniature.experiment.report import forced_targets_table

    met = {
        "forced:1": _levels(l1=(0.90, 100), l2=(0.39, 100)),
        "forced:2": _levels(l2=(0.90, 100), l3=(0.30, 100)),
        "forced:3": _levels(l3=(0.60, 100)),
    }
    text, ok = forced_targets_table(met)
    assert ok and text.count("| yes |") == 5
    assert "| level 2: format 1 not enough | forced:1 < 40% | 39.0% (n = 100) | yes |" in text
    for mode, lv, value in [("forced:1", "1", 0.89), ("forced:2", "2", 0.89), ("forced:1", "2", 0.40),
                            ("forced:3", "3", 0.59), ("forced:2", "3", 0.31)]:  # fmt: skip
        worse = json.loads(json.dumps(met))
        worse[mode]["levels"][lv]["accuracy"] = value
        text, ok = forced_targets_table(worse)
        assert not ok and text.count("| **no** |") == 1, (mode, lv)
    text, ok = forced_targets_table({"forced:1": met["forced:1"]})  # forced:2 and :3 not evaluated
    assert not ok and text.count("| - | **no** |") == 3


def test_shares_at_half_and_end_are_rollout_weighted_over_the_window():
    from avr.miniature.experiment.report import shares_at, shares_table

    row = lambda step, lv, n, f1, f2, f3: {"step": step, "level": lv, "n": n, "f1": f1, "f2": f2, "f3": f3}  # noqa: E731
    rows = [
        row(1, "2", 4, 1.0, 0.0, 0.0),  # outside a 2-step window ending at step 3
        row(2, "2", 2, 0.5, 0.5, 0.0),
        row(3, "2", 6, 0.0, 0.5, 0.5),
        row(6, "2", 8, 0.0, 0.0, 1.0),
        row(6, "3", 5, 0.2, 0.0, 0.8),
    ]
    # steps 2-3 at level 2: 8 rollouts; format 1 = (0.5 x 2) / 8, format 2 = (0.5 x 2 + 0.5 x 6) / 8
    assert shares_at(rows, 3, window=2) == {"2": {"n": 8, "f1": 0.125, "f2": 0.5, "f3": 0.375}}
    table = shares_table({"run-s0": rows}, window=2)  # T = 6, T/2 = 3
    assert "| run-s0 | 2 | 12 / 50 / 38 (8) | 0 / 0 / 100 (8) |" in table
    assert "| run-s0 | 3 | - | 20 / 0 / 80 (5) |" in table


def test_bootstrap_intervals_have_the_binomial_width_and_are_seeded():
    from avr.miniature.experiment.report import bootstrap_ci

    assert bootstrap_ci([1.0] * 50) == (1.0, 1.0)  # no spread, no interval
    half = [1.0, 0.0] * 500  # p = 0.5 over 1,000 items: the normal interval is 0.5 +- 1.96 x 0.0158
    lo, hi = bootstrap_ci(half)
    assert lo < 0.5 < hi and abs((hi - lo) - 2 * 1.96 * math.sqrt(0.25 / 1000)) < 0.01
    assert bootstrap_ci(half) == (lo, hi) and bootstrap_ci(half, seed=1) != (lo, hi)


def test_the_interval_table_per_level_and_overall(tree):
    from avr.miniature.experiment.report import interval_table

    text = interval_table(
        {"always-reason": tree / "eval" / "sft-forced3", "missing": tree / "eval" / "none"},
        levels_of(tree / "data" / "records" / "heldout.jsonl"),
    )
    lines = text.splitlines()
    assert len(lines) == 2 + 3  # header, two levels and all; the run not evaluated is left out
    # level 1: 4/4 right at 10 tokens, all format 3; level 3: 3/4 at 14 tokens; all: 7/8 at 12 tokens
    assert lines[2] == "| always-reason | 1 | 4 | 100.0 [100.0, 100.0] | 10.0 [10.0, 10.0] | 0 / 0 / 100 |"
    assert lines[3].startswith("| always-reason | 3 | 4 | 75.0 [") and lines[3].endswith(
        "| 14.0 [14.0, 14.0] | 0 / 0 / 100 |"
    )
    assert lines[4].startswith("| always-reason | all | 8 | 87.5 [")


def test_the_task_table_splits_by_task_and_level_and_checks_the_perception(tmp_path):
    """The same question at two levels (the odd sum of one digit, and of three) gets two rows, and a
    perception block counts as right only when it names the digits the record holds."""
    from avr.miniature.experiment.report import task_table, tasks_of

    rec = _jsonl(
        tmp_path / "val.jsonl",
        [
            {"id": "x0", "level": 1, "task": "read", "perception": "5"},
            {"id": "x1", "level": 1, "task": "sum-odd", "perception": "5"},
            {"id": "x2", "level": 3, "task": "sum-odd", "perception": "3, 8 and 9"},
            {"id": "x3", "level": 3, "task": "sum-odd", "perception": "1, 2 and 3"},
            {"id": "x4", "level": 2},  # no task: not a row
        ],
    )
    said = "<perception>{}</perception><reasoning>r</reasoning><answer>{}</answer>"
    _jsonl(
        tmp_path / "run" / "scored.jsonl",
        [
            {"id": "x0", "format": 1, "correct": True, "response": "<answer>5</answer>"},
            {
                "id": "x1",
                "format": 2,
                "correct": True,
                "response": "<perception>5</perception><answer>5</answer>",
            },
            {"id": "x2", "format": 3, "correct": True, "response": said.format("3, 8 and 9", 12)},
            {"id": "x3", "format": 3, "correct": False, "response": said.format("1, 2 and 4", 1)},
            {"id": "x4", "format": 1, "correct": True, "response": "<answer>2</answer>"},
        ],
    )
    text = task_table({"run": tmp_path / "run", "missing": tmp_path / "none"}, tasks_of(rec))
    assert text.splitlines()[2:] == [
        "| run | read | 1 | 1 | 100.0 | 100 / 0 / 0 | - |",
        "| run | sum-odd | 1 | 1 | 100.0 | 0 / 100 / 0 | 100 (1) |",
        "| run | sum-odd | 3 | 2 | 50.0 | 0 / 0 / 100 | 50 (2) |",
    ]


def test_the_advantage_push_per_level_and_format(tmp_path):
    """Hand-computed: a group of four at level 1, scores 1.5, 1.5 (format 1) and 1.0, 1.0 (format 3):
    mean 1.25, sample std sqrt(4 x 0.0625 / 3), so each advantage is +-0.866 and the sums +-1.732 (centred:
    +-0.5). A tied group at level 3 (1.0, 1.0) pushes nothing, but its rollouts count."""
    from avr.miniature.experiment.report import advantage_push, push_table

    rows = [
        {"step": 1, "group": "0:0", "prompt_id": "p1", "format": f, "score": sc}
        for f, sc in ((1, 1.5), (1, 1.5), (3, 1.0), (3, 1.0))
    ] + [{"step": 1, "group": "0:1", "prompt_id": "p3", "format": 3, "score": 1.0}] * 2
    path = _jsonl(tmp_path / "rollouts.jsonl", rows)
    push = advantage_push(path, {"p1": "1", "p3": "3"})
    assert list(push) == [("1", 1), ("1", 3), ("3", 3)]
    assert push[("1", 1)] == {"n": 2, "reward": 1.5, "norm": pytest.approx(math.sqrt(3)), "centred": 0.5}
    assert push[("1", 3)]["norm"] == pytest.approx(-math.sqrt(3)) and push[("1", 3)]["centred"] == -0.5
    assert push[("3", 3)] == {"n": 2, "reward": 1.0, "norm": 0.0, "centred": 0.0}
    lines = push_table({"run": path, "missing": tmp_path / "none.jsonl"}, {"p1": "1", "p3": "3"}).splitlines()
    assert lines[2:] == ["| run | 1 | 1 | 2 | 1.50 | +2 | +0 |", "| run | 1 | 3 | 2 | 1.00 | -2 | -0 |",
                         "| run | 3 | 3 | 2 | 1.00 | +0 | +0 |"]  # fmt: skip


def write_trio_tree(out: Path) -> Path:
    """The hand-made tree as a trio run: plus a val split (the same items) with the SFT model's forced
        runs on it, the tuning view the report shows before the held-out results; its records name a task,
    so the report has its per-task tables; and a heldout-combos set (the same items, only always-reason
    evaluated there, with forced:1's predictions so that the section visibly reads its own folder)."""
    write_tree(out)
    rec = out / "data" / "records"
    tasked = [{"id": i, "level": 1, "task": "read"} for i in L1] + [
        {"id": i, "level": 3, "task": "sum-odd"} for i in L3
    ]
    _jsonl(rec / "heldout.jsonl", tasked)
    (rec / "val.jsonl").write_text((rec / "heldout.jsonl").read_text())
    # heldout-combos: the same items again, with only always-reason evaluated on them (other runs: no rows)
    (rec / "heldout-combos.jsonl").write_text((rec / "heldout.jsonl").read_text())
    _jsonl(out / "eval" / "heldout-combos-sft-forced3" / "scored.jsonl", _scored("sft-forced1"))
    for k in (1, 2, 3):
        _jsonl(out / "eval" / f"val-sft-forced{k}" / "scored.jsonl", _scored(f"sft-forced{k}"))
    return out


TRIO = replace(EXP, path=Path("trio.yaml"), world="trio")


def test_the_trio_report_is_the_expected_text(tmp_path, plots):
    """The val section (precondition and SFT targets on val) and the per-level table with bootstrap
    intervals, word for word (expected_report_trio.md beside this file). Hand-checked: always-reason
    is 4/4 at 10 tokens on level 1 and 3/4 at 14 on level 3; forced:2 on val meets no target."""
    out = write_trio_tree(tmp_path / "out")
    path = write_report(TRIO, out, {"machine": "test machine", "stages": {"sft": 600.0}})
    assert path.read_text() == (Path(__file__).parent / "expected_report_trio.md").read_text()
    results = json.loads((out / "results.json").read_text())
    assert results["val_baselines"]["forced:3"]["levels"]["3"]["accuracy"] == 0.75
    assert set(results["val_baselines"]) == {"forced:1", "forced:2", "forced:3"}
