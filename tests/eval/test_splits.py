"""One VLMEvalKit TSV may hold several splits (``MMMU_DEV_VAL.tsv``: dev and validation).

VLMEvalKit reads each row's ``split`` column: ``report_acc`` (utils/multiple_choice.py) reports every
split apart, and ``MMMUDataset.report_primary_metric`` (dataset/image_mcq.py) makes
"split=validation|Overall" the headline (the test split first, were its answers public).
"""

from __future__ import annotations

import json

import pytest

from avr.eval.benchmarks import load_benchmark
from avr.eval.runner import PREDICTIONS, score_run
from tests.eval.vlmevalkit_layout import b64, prediction, write_tsv

HEADER = ["index", "question", "A", "B", "C", "D", "answer", "category", "l2-category", "split", "image"]
ROWS = [
    ["1", "<image 1> Which style?", "Baroque", "Gothic", "Rococo", "Modern", "B", "Art", "Art & Design", "dev", b64()],
    ["31", "<image 1> Which period?", "1800s", "1900s", "", "", "A", "Art", "Art & Design", "validation", b64()],
    ["32", "<image 1> The cost?", "$6", "$7", "$8", "$9", "D", "Accounting", "Business", "validation", b64()],
]  # fmt: skip


@pytest.fixture
def dev_val(tmp_path):
    return write_tsv(tmp_path / "MMMU_DEV_VAL.tsv", HEADER, ROWS)


def test_each_rows_split_column_decides_its_split(dev_val):
    items = load_benchmark(f"mmmu={dev_val}")
    assert [(i.id, i.meta["split"]) for i in items] == [
        ("1", "dev"),
        ("31", "validation"),
        ("32", "validation"),
    ]


@pytest.mark.parametrize(
    ("split", "ids"), [("dev", ["1"]), ("validation", ["31", "32"]), ("val", ["31", "32"])]
)
def test_benchmark_split_selects_its_rows(dev_val, split, ids):
    items = load_benchmark(f"mmmu:{split}={dev_val}")
    assert [i.id for i in items] == ids and not items.skipped
    assert {i.meta["split"] for i in items} == {"dev" if split == "dev" else "validation"}


def test_headline_is_the_split_vlmevalkit_reports_and_the_other_is_in_the_breakdown(dev_val, tmp_path):
    items = load_benchmark(f"mmmu={dev_val}")
    answers = {"1": "B", "31": "B", "32": "D"}  # dev right; validation one of two
    run = tmp_path / "run"
    run.mkdir()
    (run / PREDICTIONS).write_text("".join(json.dumps(prediction(i, answers[i.id])) + "\n" for i in items))
    m = score_run(run)
    mmmu = m["benchmarks"]["mmmu"]
    assert mmmu["headline_split"] == "validation"
    assert mmmu["n"] == 2 and mmmu["accuracy"] == pytest.approx(0.5)
    assert m["overall"]["n"] == 2 and m["overall"]["accuracy"] == pytest.approx(0.5)
    by_split = mmmu["breakdown"]["split"]
    assert by_split["dev"]["n"] == 1 and by_split["dev"]["accuracy"] == 1.0
    assert by_split["validation"]["n"] == 2
    report = (run / "report.md").read_text()
    assert "mmmu: headline split `validation` (2 items); other splits in the breakdown: dev (1)" in report
