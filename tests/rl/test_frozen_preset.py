"""The reward preset is resolved once per run, saved beside the checkpoints, and kept on resume."""

from __future__ import annotations

import subprocess
import sys

import yaml

from avr.rl.frozen_preset import FROZEN_NAME, freeze
from avr.rl.reward import RewardConfig


def _preset(tmp_path, text: str):
    d = tmp_path / "presets"
    d.mkdir(exist_ok=True)
    (d / "base.yaml").write_text("length_threshold: 300\ndiversity_weight: 0.5\n")
    p = d / "mine.yaml"
    p.write_text(text)
    return p


def test_the_first_start_writes_every_constant_and_consumers_read_that_copy(tmp_path):
    preset = _preset(tmp_path, "base: base\ndiversity_weight: 0.25\n")
    path = freeze(preset, tmp_path / "run")
    assert path == tmp_path / "run" / FROZEN_NAME
    saved = yaml.safe_load(path.read_text())
    assert "base" not in saved and saved["diversity_weight"] == 0.25 and saved["length_threshold"] == 300
    assert set(saved) == {f for f in RewardConfig.__dataclass_fields__}
    assert RewardConfig.load(path) == RewardConfig.load(preset)


def test_an_edit_to_the_preset_during_the_run_does_not_reach_it(tmp_path):
    """The split the frozen copy prevents: a worker started after the edit would read other values."""
    preset = _preset(tmp_path, "base: base\ndiversity_weight: 0.25\n")
    path = freeze(preset, tmp_path / "run")
    preset.write_text("base: base\ndiversity_weight: 2.0\n")  # edited mid-run
    assert RewardConfig.load(path).diversity_weight == 0.25


def test_a_resume_keeps_the_saved_copy_and_names_a_preset_that_changed(tmp_path):
    preset = _preset(tmp_path, "base: base\ndiversity_weight: 0.25\n")
    first = freeze(preset, tmp_path / "run")
    preset.write_text("base: base\ndiversity_weight: 2.0\nlength_floor: 0.5\n")
    said: list[str] = []
    again = freeze(preset, tmp_path / "run", warn=said.append)
    assert again == first and RewardConfig.load(again).diversity_weight == 0.25
    assert len(said) == 1 and "diversity_weight, length_floor" in said[0] and "NOT used" in said[0]
    quiet: list[str] = []
    preset.write_text("base: base\ndiversity_weight: 0.25\n")
    freeze(preset, tmp_path / "run", warn=quiet.append)
    assert not quiet
    assert freeze(first, tmp_path / "run") == first  # the run's own copy passed back in


def test_the_command_reads_the_composed_config_and_prints_the_path(tmp_path):
    config = f"trainer:\n  default_local_dir: {tmp_path / 'run'}\navr:\n  reward_config: no_length\n"
    r = subprocess.run([sys.executable, "-m", "avr.rl.frozen_preset", "-"], input=config, text=True,
                       capture_output=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    path = tmp_path / "run" / FROZEN_NAME
    assert r.stdout.strip() == str(path.resolve())
    assert RewardConfig.load(path) == RewardConfig.load("no_length")
    bad = config.replace("no_length", "nope")
    r = subprocess.run([sys.executable, "-m", "avr.rl.frozen_preset", "-"], input=bad.replace("run", "run2"),
                       text=True, capture_output=True, timeout=120)  # fmt: skip
    assert r.returncode == 2 and "avr.reward_config" in r.stderr and "nope" in r.stderr


def test_the_launcher_passes_the_frozen_copy_to_verl():
    from tests import REPO

    script = (REPO / "train-fs-grpo.sh").read_text()
    assert "-m avr.rl.frozen_preset -" in script and '"++avr.reward_config=$FROZEN"' in script
