"""GQA."""

from __future__ import annotations

from tests.data.sources.builders import _by_id, _convert


def test_gqa_short_answer_and_full_answer_kept_aside(tmp_path):
    _, _, records, _ = _convert("gqa", tmp_path, on_error="skip")
    r = _by_id(records)["gqa-201640614"]
    assert (r.question, r.answers, r.format, r.perception) == ("What color is the car?", ["red"], 1, None)
    assert r.extra["full_answer"] == "The car is red."
    assert records[0].images[0].data != records[1].images[0].data
