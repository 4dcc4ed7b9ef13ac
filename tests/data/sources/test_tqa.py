"""TQA: diagram questions."""

from __future__ import annotations

from tests.data.sources.builders import _by_id, _convert


def test_tqa_diagram_questions(tmp_path):
    _, _, records, _ = _convert("tqa", tmp_path, on_error="skip")
    r = _by_id(records)["tqa-DQ_000001"]
    assert (r.question, r.choices, r.answer) == ("which layer is the crust?", ["b", "e", "a", "d"], "C")
    assert _by_id(records)["tqa-DQ_000002"].answer == "B"
    assert len(records) == 2  # the non-diagram question is not an image question
