"""The converters on real published files, when this machine has them: ``AVR_REAL_DATA=DIR pytest -s
tests/test_data_sources_real.py``. Without ``AVR_REAL_DATA`` every case is skipped.

The real sets are not committed: the tools that fetched them here keep fetched files out of commits,
and several licences (ScienceQA's CC BY-NC-SA, ChartQA's GPL) would not allow it anyway. ``DIR``
holds each set under its registry name in the layout its converter reads, e.g.
``DIR/geometry3k/train/<id>/data.json`` (+ ``img_diagram.png``), ``DIR/chartqa/test/test_human.json``
(+ ``test_augmented.json``, ``png/``), ``DIR/scienceqa/problems.json`` (+ ``images/``).

What is checked: nothing aborts with ``on_error="skip"``; every row read is written, skipped or left
out on purpose; a skipped row is only ever a missing image or a file that stops being JSON part way;
every written record reads back. The counts are printed, one line per set and split.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from avr.data.sources import SOURCES, convert
from avr.records import read_records

REAL = Path(os.environ["AVR_REAL_DATA"]) if os.environ.get("AVR_REAL_DATA") else None
CASES = [(name, split) for name in sorted(SOURCES) for split in SOURCES[name].splits]


@pytest.mark.parametrize(("name", "split"), CASES)
def test_real_files_convert_without_abort(name, split, tmp_path):
    if REAL is None or not (REAL / name).is_dir():
        pytest.skip(f"no real {name} here (set AVR_REAL_DATA)")
    try:
        stats = convert(name, REAL / name, tmp_path, split=split, on_error="skip")
    except Exception as e:  # a layout without this split is not an abort of a real file
        if "layout" in str(e) and "looked for" in str(e):
            pytest.skip(f"{name}: no {split} split here")
        raise
    report = (
        [json.loads(x) for x in Path(stats["skipped_path"]).read_text().splitlines()]
        if stats["skipped"]
        else []
    )
    reasons = sorted({r["error"].split(":")[0].split(" (")[0] for r in report})
    assert all(r["error"].startswith("image not found") for r in report[:-1])
    assert not report or report[-1]["error"].startswith(("image not found", "not valid JSON after row"))
    records, errors = read_records([stats["path"]])
    assert not errors and len(records) == stats["rows"]
    several = sum("answer_values" in r.extra for r in records)
    print(
        f"\n{name} {split}: {stats['rows']} rows, {stats['skipped']} skipped {reasons}, "
        f"{stats['filtered']} left out on purpose, {stats['repaired']} repaired (U+FFFD), "
        f"{several} with several values, by format {stats['by_format']}"
    )
