"""Finding a source's files: a directory in the published layout, or a hub id (offline: an error that
names the download command)."""

from __future__ import annotations

import pytest

from avr.data.sources import (
    convert,
)
from avr.records import RecordError
from tests.data.sources.builders import build_chartqa_parquet


def test_missing_src_says_where_and_how(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError) as err:
        convert("vision_sr1_cold", missing, tmp_path / "out")
    assert str(missing) in str(err.value)
    assert "hf download LMMs-Lab-Turtle/Vision-SR1-Cold-9K --repo-type dataset" in str(err.value)


def test_wrong_layout_names_what_it_looked_for(tmp_path):
    with pytest.raises(RecordError, match=r"questions/CLEVR_train_questions\.json"):
        convert("clevr", tmp_path, tmp_path / "out")


def test_hub_id_offline_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="HF_HUB_OFFLINE=1"):
        convert("chartqa", "hf://HuggingFaceM4/ChartQA", tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="no hub layout"):
        convert("gqa", "hf://lmms-lab/GQA", tmp_path / "out")


def test_hub_id_online_reads_the_snapshot(tmp_path, monkeypatch):
    fx = build_chartqa_parquet(tmp_path / "snapshot")
    calls = []

    def fake_snapshot_download(**kw):
        calls.append(kw)
        return str(fx.src)

    import huggingface_hub

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    stats = convert("chartqa", "HuggingFaceM4/ChartQA", tmp_path / "out", split="test", on_error="skip")
    assert stats["rows"] == 2
    assert calls[0]["repo_id"] == "HuggingFaceM4/ChartQA" and calls[0]["repo_type"] == "dataset"
