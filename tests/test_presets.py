"""Presets resolve the same way for the reward, annotation and CPU stand-in configs."""

import pytest

from avr.data.annotate import AnnotateConfig
from avr.presets import read_preset
from avr.reward import PRESET_DIR, RewardConfig


def test_a_name_is_a_preset_and_a_path_is_a_file(tmp_path):
    path, data = read_preset("paper", PRESET_DIR, "reward config")
    assert path == PRESET_DIR / "paper.yaml" and "bonus" in data
    f = tmp_path / "mine.yaml"
    f.write_text("length_threshold: 200\n")
    assert RewardConfig.load(f).length_threshold == 200


def test_a_missing_preset_lists_the_known_ones():
    with pytest.raises(
        FileNotFoundError, match=r"reward config not found: .*papr\.yaml \(presets: paper, seed\)"
    ):
        RewardConfig.load("papr")


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n"])
def test_a_file_that_is_not_a_mapping_is_named(tmp_path, text):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(ValueError, match=r"bad\.yaml: expected a mapping of annotation config settings"):
        AnnotateConfig.load(f)
