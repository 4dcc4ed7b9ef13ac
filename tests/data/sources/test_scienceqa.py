"""ScienceQA: image questions only, from the hub parquet or the official release."""

from __future__ import annotations

from tests.data.sources.builders import _convert


def test_scienceqa_image_questions_only(tmp_path):
    _, stats, records, _ = _convert("scienceqa", tmp_path, on_error="skip")
    assert stats["filtered"] == 1  # the text-only question
    a, b = records
    assert (a.question, a.choices, a.answer, a.format) == (
        "Which state is highlighted?",
        ["Texas", "Ohio", "Utah"],
        "B",
        1,
    )
    assert a.reasoning == "This state is Ohio." and a.perception is None
    assert a.extra["lecture"] == "States are areas of a country." and a.extra["subject"] == "natural science"
    assert b.question == "Which is a solid?\nContext: Look at the picture." and b.answer == "B"


def test_scienceqa_official_split_field(tmp_path):
    _, stats, records, _ = _convert("scienceqa-official", tmp_path, on_error="skip")
    assert [r.id for r in records] == ["scienceqa-5"] and stats["filtered"] == 1
    assert records[0].answer == "B" and records[0].reasoning == "Ohio."
