"""Naming a benchmark (NAME, NAME:SPLIT, NAME=PATH), finding it on disk or the hub, offline errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

from avr.eval.benchmarks import (
    BenchmarkNotFound,
    load_benchmark,
    parse_spec,
)
from tests.eval.benchmarks.layouts import AI2D, decodes, img, write_parquet


def test_parse_spec():
    assert parse_spec("mmmu") == ("mmmu", None, None)
    assert parse_spec(" mathvision:testmini = /d/mv ") == ("mathvision", "testmini", Path("/d/mv"))
    assert parse_spec("mmmu_pro:standard (4 options)=x") == ("mmmu_pro", "standard (4 options)", Path("x"))
    for bad in ("", "=x", "mmmu="):
        with pytest.raises(ValueError):
            parse_spec(bad)


def test_load_benchmark_specs_and_limit(tmp_path):
    rows = [{"question": f"Q{i}?", "options": ["a", "b"], "answer": "1", "image": img()} for i in range(4)]
    write_parquet(tmp_path / "ai2d" / "data" / "test-00000-of-00001.parquet", rows, AI2D)
    assert len(load_benchmark("ai2d", data_dir=tmp_path)) == 4
    assert [i.id for i in load_benchmark("AI2D", data_dir=tmp_path, limit=2)] == ["0", "1"]
    assert load_benchmark(f"ai2d:test={tmp_path / 'ai2d'}", limit=0) == []
    with pytest.raises(ValueError, match="unknown split"):
        load_benchmark("ai2d:validation", data_dir=tmp_path)
    with pytest.raises(ValueError, match=r"unknown benchmark 'nope'.*mathvista.*logicvista"):
        load_benchmark("nope", data_dir=tmp_path)
    with pytest.raises(ValueError, match="needs a file"):
        load_benchmark("generic", data_dir=tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(BenchmarkNotFound, match=r"no 'test' files in .*empty.*data/test-\*\.parquet"):
        load_benchmark(f"ocrbench={tmp_path / 'empty'}")


def test_offline_error_says_where_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BenchmarkNotFound) as e:
        load_benchmark("mathvista", data_dir=tmp_path)
    msg = str(e.value)
    assert str(tmp_path / "mathvista") in msg and "HF_HUB_OFFLINE=1" in msg
    expected = f"hf download AI4Math/MathVista --repo-type dataset --local-dir {tmp_path / 'mathvista'}"
    assert expected in msg and "--include 'data/testmini-*'" in msg
    with pytest.raises(
        BenchmarkNotFound, match=re.escape("git clone --depth 1 https://github.com/Yijia-Xiao/LogicVista")
    ):
        load_benchmark("logicvista", data_dir=tmp_path)


def test_hub_fallback_when_online(tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    calls = []

    def fake_load_dataset(repo, config=None, split=None):
        calls.append((repo, config, split))
        features = datasets.Features(
            {
                "question": datasets.Value("string"),
                "options": datasets.Sequence(datasets.Value("string")),
                "answer": datasets.Value("string"),
                "image": datasets.Image(),
            }
        )
        rows = {
            "question": ["Q?"],
            "options": [["a", "b"]],
            "answer": ["1"],
            "image": [Image.new("RGB", (3, 3))],
        }
        return datasets.Dataset.from_dict(rows, features=features)

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    (item,) = load_benchmark("ai2d", data_dir=tmp_path)
    assert calls == [("lmms-lab/ai2d", None, "test")] and item.answers == ["B"] and decodes(item.images[0])

    def no_network(*args, **kwargs):
        raise ConnectionError("offline")

    monkeypatch.setattr(datasets, "load_dataset", no_network)
    with pytest.raises(BenchmarkNotFound, match="does not exist"):  # an explicit PATH never downloads
        load_benchmark(f"ai2d={tmp_path / 'typo'}")
    with pytest.raises(
        BenchmarkNotFound, match=r"(?s)loading lmms-lab/ai2d from the hub failed.*hf download"
    ):
        load_benchmark("ai2d", data_dir=tmp_path)
