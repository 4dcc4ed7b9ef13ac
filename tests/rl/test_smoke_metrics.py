"""The verdict of scripts/gpu_smoke.sh (the run itself needs a GPU): the bonus must be in verl's scores."""

import subprocess
import sys

import pytest

from avr.rl.smoke_metrics import check_steps


def _step(step, w, base, bonus, score=None, **extra):
    data = {
        "avr/diversity_weight": w,
        "avr/mean_base": base,
        "avr/mean_diversity_bonus": bonus,
        "critic/score/mean": base + bonus if score is None else score,
        "avr/answer/share": 0.5,
        **extra,
    }
    return {"step": step, "data": data}


def test_a_run_whose_bonus_reached_the_scores_passes():
    lines, problems = check_steps([_step(1, 0.25, 0.6, 0.08), _step(2, 0.0, 0.7, 0.0)])
    assert problems == []
    assert lines[0] == "step 1: w(t) = 0.2500; verl's critic/score/mean 0.6800 = base 0.6000 + bonus 0.0800"


def test_a_bonus_missing_from_verls_scores_fails():
    _, problems = check_steps([_step(1, 0.25, 0.6, 0.08, score=0.6), _step(2, 0.0, 0.7, 0.0)])
    assert len(problems) == 1 and "step 1: critic/score/mean 0.600000 != " in problems[0]


def test_all_zero_bonuses_prove_nothing():
    _, problems = check_steps([_step(1, 0.25, 0.6, 0.0), _step(2, 0.0, 0.7, 0.0)])
    assert len(problems) == 1 and "no step with w(t) > 0 had a non-zero mean bonus" in problems[0]
    assert "avr/answer/share" in problems[0]


def test_no_trainer_mode_metrics():
    _, problems = check_steps([{"step": 1, "data": {"critic/score/mean": 0.5}}])
    assert len(problems) == 1 and problems[0].startswith("no training step logged avr/diversity_weight")


@pytest.mark.parametrize("good", [True, False])
def test_the_cli_reads_verls_file_logger(good, tmp_path, monkeypatch, env):
    """The file as verl's own FileLogger (trainer.logger=[file]) writes it, numpy values included."""
    import numpy as np
    from verl.utils.tracking import FileLogger

    path = tmp_path / "metrics.jsonl"
    monkeypatch.setenv("VERL_FILE_LOGGER_PATH", str(path))
    logger = FileLogger("avr", "smoke")
    bonus = np.float64(0.05)
    logger.log(_step(1, 0.25, 0.5, bonus, score=0.55 if good else 0.5)["data"], step=1)
    logger.log(_step(2, 0.0, 0.6, 0.0)["data"], step=2)
    logger.finish()
    r = subprocess.run(
        [sys.executable, "-m", "avr.rl.smoke_metrics", str(path)], capture_output=True, text=True, env=env
    )
    assert r.returncode == (0 if good else 1), r.stderr
    assert "step 1: w(t) = 0.2500" in r.stdout
    assert ("FAILED" in r.stderr) is not good


def test_ray_ppo_trainers_timing_prefix_is_read_as_the_same_figures(tmp_path):
    """Under RayPPOTrainer the agent-loop manager's figures are logged as timing_s/avr/*."""
    import json

    from avr.rl.smoke_metrics import read_steps

    rows = [_step(1, 0.25, 0.6, 0.08), _step(2, 0.0, 0.7, 0.0)]
    for r in rows:
        r["data"] = {(f"timing_s/{k}" if k.startswith("avr/") else k): v for k, v in r["data"].items()}
    path = tmp_path / "m.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    steps = read_steps(path)
    assert steps[0]["data"]["avr/mean_diversity_bonus"] == 0.08
    lines, problems = check_steps(steps)
    assert problems == [] and len(lines) == 2


def _write(path, rows):
    import json

    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_a_resumed_run_continues_the_step_counter_and_w(tmp_path):
    """Killed after step 1, resumed to T = 3: each file holds its part; w follows the paper preset's
    cosine, w(t) = 0.5 * 0.5 * (1 + cos(pi t / 3)): 0.375, 0.125, 0.0."""
    from avr.rl.smoke_metrics import main

    first = _write(tmp_path / "m1.jsonl", [_step(1, 0.375, 0.6, 0.08)])
    second = _write(tmp_path / "m2.jsonl", [_step(2, 0.125, 0.7, 0.01), _step(3, 0.0, 0.8, 0.0)])
    args = [str(first), str(second), "--steps", "1,2,3", "--total-steps", "3"]
    assert main(args) == 0
    # a restart from step 1 (a lost checkpoint) logs step 1 twice and w from the top again
    restarted = _write(tmp_path / "m3.jsonl", [_step(1, 0.375, 0.6, 0.08), _step(2, 0.125, 0.7, 0.01)])
    assert main([str(first), str(restarted), "--steps", "1,2,3", "--total-steps", "3"]) == 1
    # a resume that lost T (w computed against another horizon) is caught by the values
    wrong_t = _write(tmp_path / "m4.jsonl", [_step(2, 0.25, 0.7, 0.01), _step(3, 0.067, 0.8, 0.01)])
    assert main([str(first), str(wrong_t), "--steps", "1,2,3", "--total-steps", "3"]) == 1


def test_the_schedule_names_the_step_that_went_wrong(tmp_path):
    from avr.rl.smoke_metrics import check_schedule

    steps = [_step(1, 0.375, 0.6, 0.08), _step(2, 0.2, 0.7, 0.01)]
    lines, problems = check_schedule(steps, [1, 2], 3, "paper")
    assert lines[0] == "step 1: w(t) 0.3750, expected w(1) = 0.3750 at T = 3"
    assert problems == ["step 2: w(t) = 0.200000, expected 0.125000: the schedule did not continue"]
    _, problems = check_schedule(steps[:1], [1, 2], 3, "paper")
    assert problems == ["training steps logged [1], expected [1, 2]"]
