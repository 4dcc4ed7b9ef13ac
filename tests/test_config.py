"""Config lookup and presets: one folder for every kind, found with or without a checkout; presets
resolve the same way for the reward, annotation and CPU stand-in configs."""

from dataclasses import replace

import pytest

from avr.config import config_path, read_preset
from avr.data.annotate import AnnotateConfig
from avr.rl.reward import RewardConfig

PRESET_DIR = config_path("reward")


def test_a_name_is_a_preset_and_a_path_is_a_file(tmp_path):
    path, data = read_preset("paper", PRESET_DIR, "reward config")
    assert path == PRESET_DIR / "paper.yaml" and "bonus" in data
    f = tmp_path / "mine.yaml"
    f.write_text("length_threshold: 200\n")
    assert RewardConfig.load(f).length_threshold == 200


def test_a_missing_preset_lists_the_known_ones():
    with pytest.raises(
        FileNotFoundError, match=r"reward config not found: .*papr\.yaml \(presets: .*\bpaper, seed\)"
    ):
        RewardConfig.load("papr")


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n"])
def test_a_file_that_is_not_a_mapping_is_named(tmp_path, text):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(ValueError, match=r"bad\.yaml: expected a mapping of annotation config settings"):
        AnnotateConfig.load(f)


def test_base_inherits_and_merges_nested_keys(tmp_path):
    (tmp_path / "parent.yaml").write_text("a: 1\nnested: {x: 1, y: 2}\nkeep: [1, 2]\n")
    (tmp_path / "child.yaml").write_text("base: parent\nnested: {y: 3}\nkeep: [9]\n")
    path, data = read_preset("child", tmp_path, "test config")
    assert path == tmp_path / "child.yaml"
    assert data == {"a": 1, "nested": {"x": 1, "y": 3}, "keep": [9]}


def test_a_base_loop_is_an_error(tmp_path):
    (tmp_path / "a.yaml").write_text("base: b\n")
    (tmp_path / "b.yaml").write_text("base: a\n")
    with pytest.raises(ValueError, match="'base' chain loops"):
        read_preset("a", tmp_path, "test config")


def test_ablation_presets_are_one_switch_of_the_paper_preset():
    paper = RewardConfig.load("paper")
    assert RewardConfig.load("no_diversity") == replace(paper, diversity_weight=0.0)
    zero = {1: 0.0, 2: 0.0, 3: 0.0}
    assert RewardConfig.load("no_format") == replace(paper, bonus=zero, penalty=zero)
    assert RewardConfig.load("no_length") == replace(paper, length_floor=1.0)
    assert RewardConfig.load("length_bound") == replace(paper, length_threshold=16)
