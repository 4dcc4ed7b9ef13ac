"""avr eval on the tiny model (transformers backend): every mode end to end, the CLI, and a real kill."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from avr.cli import main
from avr.eval.benchmarks import load_benchmark
from avr.eval.modes import parse_mode
from avr.eval.runner import PREDICTIONS, read_predictions, run_eval
from avr.generation import Decoding, HFBackend
from tests.helpers.kill import kill_after_lines

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    from avr.miniature.synthetic import generate

    return generate(tmp_path_factory.mktemp("bench"), n=12, seed=5, name="fixture")


@pytest.mark.parametrize("mode", ["adaptive", "forced:1", "forced:2", "forced:3", "consensus:2"])
def test_every_mode_runs_on_the_tiny_model(tmp_path, tiny_model, bench, mode):
    items = load_benchmark(f"fx={bench}", limit=4)
    backend = HFBackend(str(tiny_model), Decoding(max_new_tokens=10))
    m = run_eval(tiny_model, items, tmp_path, mode=parse_mode(mode), backend_obj=backend)
    preds = read_predictions(tmp_path / PREDICTIONS)
    assert [p["id"] for p in preds] == [it.id for it in items] and m["overall"]["n"] == 4
    for p in preds:
        assert p["mode"] == mode and p["tokens"] > 0
    if mode.startswith("forced"):
        opening = "<answer>" if mode == "forced:1" else "<perception>"
        assert all(p["response"].startswith(opening) for p in preds)
        # the forced tags are output the mode produced: counted, beyond the 10 generated tokens
        assert all(p["tokens"] > backend.count_tokens(opening) for p in preds)
    if mode == "consensus:2":
        assert all(p["levels"] in (1, 2, 3) for p in preds)
        # two direct samples at least, each with its tag
        assert all(p["tokens"] >= 2 * backend.count_tokens("<answer>") for p in preds)
    assert (tmp_path / "report.md").is_file() and (tmp_path / "format_mix.png").stat().st_size > 1000


def test_cli_run_score_compare(tmp_path, tiny_model, bench, capsys):
    common = [
        "--model",
        str(tiny_model),
        "--benchmarks",
        f"fx={bench}",
        "--limit",
        "3",
        "--max-new-tokens",
        "8",
    ]
    assert main(["eval", *common, "--out", str(tmp_path / "a")]) == 0
    assert main(["eval", "run", *common, "--out", str(tmp_path / "b"), "--mode", "forced:1",
                 "--baseline", str(tmp_path / "a")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "tok reduction %" in out and "report:" in out
    assert main(["eval", "score", str(tmp_path / "b")]) == 0
    assert (
        main(["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "c")]) == 0
    )
    assert "| b | forced:1 | overall | 3 |" in capsys.readouterr().out
    assert (tmp_path / "c" / "accuracy_vs_tokens.png").is_file()
    # a wrong benchmark path is an error naming it, not a traceback
    assert (
        main(["eval", *common[:2], "--benchmarks", "mathvista=/nonexistent", "--out", str(tmp_path / "d")])
        == 2
    )
    assert "/nonexistent" in capsys.readouterr().err


def test_killed_eval_resumes_without_repeating(tmp_path, tiny_model, bench, env):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "avr.cli", "eval", "--model", str(tiny_model), "--benchmarks", f"fx={bench}",
           "--out", str(out), "--batch-size", "1", "--max-new-tokens", "48"]  # fmt: skip
    path = out / PREDICTIONS
    first = kill_after_lines(cmd, env, path)
    assert 2 <= len(first) < 12, "the run must be killed midway for this test to mean anything"
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = path.read_text().splitlines()
    complete = [x for x in first if x.endswith("}")]
    assert lines[: len(complete)] == complete  # finished items were kept, not redone
    ids = [json.loads(x)["id"] for x in lines]
    assert len(ids) == 12 and len(set(ids)) == 12
    assert json.loads((out / "metrics.json").read_text())["overall"]["n"] == 12
