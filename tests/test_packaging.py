"""The package stands without the checkout: a wheel carries the recipes, presets and the committed
checkpoint, and finds them from anywhere (a Ray image, a cluster's shared Python)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib

import pytest

from tests import REPO

pytestmark = pytest.mark.e2e


def test_the_package_list_is_the_tree():
    """pyproject lists its packages (avr.train_configs has no folder under avr/); keep it the tree."""
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    tree = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "avr").rglob("__init__.py")}
    tree |= {"avr.assets", "avr.assets.digits_sft", "avr.train_configs"}
    tree |= {f"avr.train_configs.{p.name}" for p in (REPO / "train_configs").iterdir() if p.is_dir()}
    assert listed == tree


CHECK = r"""
import sys
from pathlib import Path
import avr, yaml
from avr.config import config_dir, config_path
from avr.data.annotate import AnnotateConfig
from avr.data.recipe import load_data_recipe
from avr.miniature.experiment.recipe import load_experiment
from avr.miniature.standin import load_standin_recipe
from avr.rl.config_check import compose
from avr.rl.reward import RewardConfig
from avr.sft.preflight import load_sft_recipe

site = Path(sys.argv[1]).resolve()
assert Path(avr.__file__).resolve().is_relative_to(site), avr.__file__
assert config_dir().resolve().is_relative_to(site), config_dir()
n = 0
for p in config_path("reward").glob("*.yaml"):
    RewardConfig.load(p.stem); n += 1
for p in config_path("annotate").glob("*.yaml"):
    AnnotateConfig.load(p.stem); n += 1
for p in config_path("cpu_standin").glob("*.yaml"):
    load_standin_recipe(p.stem); n += 1
for p in config_path("experiment").glob("*.yaml"):
    load_experiment(p.stem); n += 1
for p in config_path("data").glob("*.yaml"):
    load_data_recipe(p.stem); n += 1
for p in config_path("sft").glob("*.yaml"):
    assert load_sft_recipe(p, [])["model_name_or_path"]; n += 1
for p in config_path("fs_grpo").glob("*.yaml"):
    cfg = compose(p)
    assert cfg.reward.reward_manager.name == "adaptive_reward", p
    RewardConfig.load(cfg.avr.reward_config); n += 1
assert (Path(avr.__file__).parent / "assets" / "digits_sft" / "model.safetensors").is_file()
print("loaded", n)
"""


def test_a_wheel_installed_elsewhere_loads_every_preset_and_recipe(tmp_path):
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(REPO), "-w", str(wheels)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    (wheel,) = wheels.glob("avr-*.whl")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    n_configs = sum(1 for kind in ("reward", "annotate", "cpu_standin", "experiment", "data", "sft", "fs_grpo")
                    for _ in (REPO / "train_configs" / kind).glob("*.yaml"))  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("AVR_CONFIG_DIR", None)
    r = subprocess.run([sys.executable, "-c", CHECK, str(site)], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=600)  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"loaded {n_configs}" in r.stdout


def test_avr_config_dir_points_at_a_sites_own_presets(tmp_path, monkeypatch):
    from avr.config import config_dir
    from avr.rl.reward import RewardConfig

    (tmp_path / "reward").mkdir()
    (tmp_path / "reward" / "site.yaml").write_text("base: site_base\nlength_threshold: 77\n")
    (tmp_path / "reward" / "site_base.yaml").write_text("diversity_weight: 0.1\n")
    monkeypatch.setenv("AVR_CONFIG_DIR", str(tmp_path))
    assert config_dir() == tmp_path.resolve()
    cfg = RewardConfig.load("site")
    assert (cfg.length_threshold, cfg.diversity_weight) == (77, 0.1)
    with pytest.raises(FileNotFoundError, match="presets: site, site_base"):
        RewardConfig.load("paper")
    monkeypatch.setenv("AVR_CONFIG_DIR", str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match=r"AVR_CONFIG_DIR=.*not a directory"):
        config_dir()
