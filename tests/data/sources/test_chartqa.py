"""ChartQA: the official release and the hub parquet, labels with several values."""

from __future__ import annotations

import pytest

from avr.data.sources import (
    chartqa,
    convert,
)
from avr.records import read_records
from tests.data.sources.builders import _convert, _img, _write


def test_chartqa_official_and_parquet(tmp_path):
    _, _, records, out = _convert("chartqa", tmp_path, on_error="skip")
    assert [(r.question, r.answer, r.extra["origin"]) for r in records] == [
        ("How many food item is shown in the bar graph?", "14", "human"),
        ("What's the value of the lowest bar?", "23", "human"),
        ("Is the value of Lamb more than Corn?", "Yes", "augmented"),
    ]
    assert len(list((out / "images").iterdir())) == 2  # two charts shared by three questions
    _, _, records, _ = _convert("chartqa-parquet", tmp_path / "p", on_error="skip")
    assert [(r.answers, r.extra["origin"]) for r in records] == [
        (["23"], "human"),
        (["2014", "2014.0"], "augmented"),
    ]


@pytest.mark.parametrize(
    ("label", "values"),
    [
        ("[2013, 2016]", ["2013", "2016"]),
        ("[2003,2009]", ["2003", "2009"]),  # no space after the comma in the real file
        ("[Poll workers in your community, Officials who run elections]", ["Poll workers in your community", "Officials who run elections"]),
        ("[1,000, 2,000]", ["1,000", "2,000"]),  # thousands separators survive
        ("[2014]", ["2014"]),
        ("2014", None),
        ("[1, ]", None),
        ("Over 30 mins", None),
    ],
)  # fmt: skip
def test_chartqa_label_values(label, values):
    assert chartqa.label_values(label) == values


def test_chartqa_labels_with_several_values(tmp_path):
    d = tmp_path / "src" / "test"
    _write(d / "png" / "1.png", _img())
    _write(
        d / "test_human.json",
        [
            {"imgname": "1.png", "query": "Which year(s) recorded the maximum?", "label": "[2013, 2016]"},
            {"imgname": "1.png", "query": "Which three countries are compared?", "label": "[A, B, C]"},
            {"imgname": "1.png", "query": "How many bars?", "label": "[3]"},
            {"imgname": "1.png", "query": "What is the value?", "label": "14"},
        ],
    )
    stats = convert("chartqa", tmp_path / "src", tmp_path / "out", split="test")
    years, countries, bars, plain = read_records([stats["path"]])[0]
    assert years.answers == ["2013, 2016", "2016, 2013"] and years.extra["answer_values"] == ["2013", "2016"]
    assert years.target() == "<answer>\n2013, 2016\n</answer>"
    assert len(countries.answers) == 6 and countries.answer == "A, B, C"  # every order of three values
    assert (bars.answers, plain.answers) == (["3"], ["14"]) and "answer_values" not in plain.extra
    from avr.grading import is_correct

    assert is_correct("2016, 2013", years.answers) and not is_correct("2013", years.answers)
