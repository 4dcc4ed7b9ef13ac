"""Geometry3K: the InterGPS release and the hub parquet."""

from __future__ import annotations

from tests.data.sources.builders import _by_id, _convert


def test_geometry3k_official(tmp_path):
    _, _, records, _ = _convert("geometry3k", tmp_path, on_error="skip")
    r = _by_id(records)["geometry3k-0"]
    assert (r.question, r.choices, r.answer, r.format) == ("Find x.", ["3", "4", "5", "6"], "B", 1)
    assert _by_id(records)["geometry3k-1"].answer == "D"


def test_geometry3k_parquet(tmp_path):
    _, _, records, _ = _convert("geometry3k-parquet", tmp_path, on_error="skip")
    assert [(r.question, r.answer, r.choices) for r in records] == [
        ("Find x. Round to the nearest tenth.", "3.5", None),
        ("Find m \\angle 2.", "34", None),
    ]
