"""OK-VQA: the official JSON and the hub parquet."""

from __future__ import annotations

from avr.data.sources import (
    rank_answers,
)
from tests.data.sources.builders import _by_id, _convert


def test_okvqa_answers_most_common_first(tmp_path):
    _, _, records, out = _convert("okvqa", tmp_path, on_error="skip")
    recs = _by_id(records)
    assert recs["okvqa-10"].answers == ["cat", "dog", "kitten"]  # 6, 2, 2: ties keep first appearance
    assert recs["okvqa-10"].question == "What animal is this?" and recs["okvqa-10"].format == 1
    assert recs["okvqa-20"].answers == ["race"]
    assert len(list((out / "images").iterdir())) == 2


def test_okvqa_parquet(tmp_path):
    _, _, records, _ = _convert("okvqa-parquet", tmp_path, on_error="skip")
    assert [r.answers for r in records] == [["cat", "dog", "kitten"], ["race"]]
    assert [r.id for r in records] == ["okvqa-10", "okvqa-20"]


def test_rank_answers():
    assert rank_answers(["b", "a", "a", " b", "c", "", None, "a"]) == ["a", "b", "c"]
    assert rank_answers([]) == []
