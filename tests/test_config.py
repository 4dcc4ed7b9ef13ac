"""Config lookup and presets: one folder for every kind, found with or without a checkout; presets
resolve the same way for the reward, annotation and CPU stand-in configs."""

from dataclasses import replace
from pathlib import Path

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
        FileNotFoundError, match=r"reward config not found: .*papr\.yaml \(presets: .*\bpaper, seed\b.*\)"
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
    assert RewardConfig.load("strong_bonus") == replace(paper, diversity_weight=2.0)


def test_the_config_folder_from_the_environment_or_the_package(tmp_path, monkeypatch):
    from avr.config import CONFIG_ENV, KINDS, config_dir

    assert CONFIG_ENV == "AVR_CONFIG_DIR"
    monkeypatch.setenv(CONFIG_ENV, f"  {tmp_path}  ")  # surrounding spaces are not part of the path
    assert config_dir() == tmp_path.resolve() and config_path("reward") == tmp_path.resolve() / "reward"
    monkeypatch.setenv(CONFIG_ENV, "   ")  # blank: the package's own folder
    assert {p.name for p in config_dir().iterdir()} >= set(KINDS)
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "missing"))
    with pytest.raises(
        FileNotFoundError, match=r"^AVR_CONFIG_DIR=.*missing: not a directory \(it should hold"
    ):
        config_dir()


def test_an_unknown_kind_is_named_with_the_known_ones():
    with pytest.raises(
        ValueError, match=r"^unknown config kind 'rewards'; known: annotate, cpu_standin, data, "
    ):
        config_path("rewards")


def test_the_checkout_is_found_from_the_package():
    from avr.config import repo_root

    assert (repo_root() / "train-sft.sh").is_file() and (repo_root() / "avr" / "config.py").is_file()


def test_deep_merge_replaces_what_is_not_a_mapping_on_both_sides():
    from avr.config import deep_merge

    base = {"a": {"x": 1, "y": {"z": 1}}, "b": {"x": 1}, "c": 1}
    over = {"a": {"y": {"w": 2}}, "b": 5, "c": {"x": 2}}
    assert deep_merge(base, over) == {"a": {"x": 1, "y": {"z": 1, "w": 2}}, "b": 5, "c": {"x": 2}}
    assert base == {"a": {"x": 1, "y": {"z": 1}}, "b": {"x": 1}, "c": 1}  # the inputs are left as they were


def test_a_base_is_found_beside_the_file_and_an_empty_file_is_empty(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "parent.yaml").write_text("a: 1\nb: 1\n")
    (tmp_path / "sub" / "child.yaml").write_text("base: parent\nb: 2\n")
    path, data = read_preset(tmp_path / "sub" / "child.yaml", "reward", "test config")
    assert path == tmp_path / "sub" / "child.yaml" and data == {"a": 1, "b": 2}
    (tmp_path / "empty.yaml").write_text("")
    assert read_preset(tmp_path / "empty.yaml", tmp_path, "test config")[1] == {}
    with pytest.raises(ValueError, match=r"'base' chain loops: .*a\.yaml -> .*a\.yaml$"):
        (tmp_path / "a.yaml").write_text("base: a\n")
        read_preset("a", tmp_path, "test config")
    with pytest.raises(FileNotFoundError, match=r"^test config not found: .*nope\.yaml \(presets: none\)$"):
        read_preset("nope", tmp_path / "sub" / "none", "test config")


def test_an_unset_config_variable_means_the_package_folder(monkeypatch):
    from avr.config import CONFIG_ENV, KINDS, config_dir

    monkeypatch.delenv(CONFIG_ENV, raising=False)
    assert {p.name for p in config_dir().iterdir()} >= set(KINDS)


def test_the_checkout_is_the_folder_above_the_package_or_a_clear_error(tmp_path, monkeypatch):
    import avr.config
    from avr.config import repo_root

    assert repo_root() == Path(avr.config.__file__).resolve().parents[1]
    wheel = tmp_path / "site-packages" / "avr"  # an installed wheel: no launchers beside the package
    wheel.mkdir(parents=True)
    monkeypatch.setattr(avr.config, "__file__", str(wheel / "config.py"))
    with pytest.raises(FileNotFoundError) as e:
        repo_root()
    assert str(e.value) == (
        f"no AVR checkout around {wheel}: the launchers (train-sft.sh, train-fs-grpo.sh) are in the "
        "repository, not in the wheel; run this from a clone (bash setup_env.sh)"
    )


def test_framework_env_puts_this_interpreters_bin_first(monkeypatch):
    import os
    import sys

    from avr.config import framework_env

    here = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setenv("AVR_SOMETHING", "kept")
    env = framework_env()
    assert env["PATH"] == f"{here}{os.pathsep}/usr/bin:/bin" and env["AVR_SOMETHING"] == "kept"
    monkeypatch.delenv("PATH")
    assert framework_env()["PATH"] == f"{here}{os.pathsep}"


def test_errors_name_the_file_the_type_and_what_was_read(tmp_path):
    (tmp_path / "listy.yaml").write_text("- a\n")
    with pytest.raises(
        ValueError, match=r"listy\.yaml: expected a mapping of test config settings, got list$"
    ):
        read_preset("listy", tmp_path, "test config")
    (tmp_path / "orphan.yaml").write_text("base: nope\n")
    with pytest.raises(
        FileNotFoundError, match=r"^test config not found: .*nope\.yaml \(presets: listy, orphan\)$"
    ):
        read_preset("orphan", tmp_path, "test config")
