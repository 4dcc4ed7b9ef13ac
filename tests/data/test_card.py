"""The data card's counts from a hand-made build: every number in its tables, and that they add up.

tests/data/test_build.py checks a real build's card; here each figure is set by hand, so a count
taken from the wrong field, a total that drops a column or a wrong share shows as one wrong cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from avr.data.card import MALFORMED_LISTED, render_card


@dataclass
class Spec:
    source: str
    dir: str = ""
    split: str | None = None
    limit: int | None = None
    generated: bool = False
    n: int = 0
    seed: int = 0
    options: dict[str, Any] = field(default_factory=dict)


def _info() -> dict[str, Any]:
    malformed = [{"file": "gqa/q.json", "row": i, "error": f"bad {i}"} for i in range(MALFORMED_LISTED + 3)]
    return {
        "recipe": "paper",
        "sha256": "abc123",
        "overrides": {"seed": 3},
        "seed": 3,
        "raw_dir": "/raw",
        "only": None,
        "exclude": ["mathvista", "mathvision"],
        "heldout": {"digits": "held.jsonl"},
        "sources": {
            "gqa": {
                "spec": Spec("gqa", dir="gqa", split="train", limit=100),
                # read = 90 kept + 23 malformed + 7 left out by design = 120
                "pool": {
                    "rows": 90,
                    "skipped": 23,
                    "filtered": 7,
                    "malformed": malformed,
                    "report": "gqa.skipped",
                },
                "select": {"selected": 40, "read": 90, "by_format": {"answer": 10, "full": 30}},
                "annotate": None,
            },
            "synth": {
                "spec": Spec("synthetic", generated=True, n=50, seed=1, options={"world": "digits", "a": 2}),
                "pool": {"rows": 50, "skipped": 0, "filtered": 0, "malformed": [], "report": None},
                "select": {"selected": 50, "read": 50, "by_format": {}},
                "annotate": {
                    "model": "tiny",
                    "by_format": {"perception": 20, "answer": 25},
                    "teacher_failed": 4,
                    "bad_rows": 1,
                },
            },
        },
        "sets": {
            "sft": {
                "name": "avr_sft",
                "rows": 80,
                "skipped": 2,
                "reports": {"excluded": "sft/avr_sft.excluded.jsonl", "skipped": "sft/avr_sft.skipped.jsonl"},
                "by_source": {
                    "gqa": {
                        "by_format": {"answer": 10, "full": 28},
                        "dropped_format": 1,
                        "excluded": 1,
                        "skipped": 2,
                        "rows": 38,
                    },
                    "synth": {
                        "by_format": {"answer": 22, "perception": 20},
                        "dropped_format": 3,
                        "excluded": 0,
                        "skipped": 0,
                        "rows": 42,
                    },
                },
            },
            "rl": {
                "train": 76,
                "val": 4,
                "val_fraction": 0.05,
                "reports": {},
                "by_source": {
                    "gqa": {"excluded": 2, "skipped": 0, "rows": 38},
                    "synth": {"excluded": 0, "skipped": 1, "rows": 42},
                },
            },
        },
    }


def test_the_sources_table():
    lines = render_card(_info()).splitlines()
    i = lines.index("## Sources")
    assert lines[i + 2 : i + 6] == [
        "| source | read from | rows read | malformed | left out by the converter | converted | selected | formats |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
        "| gqa | gqa, train, `/raw/gqa`, first 100 | 120 | 23 | 7 | 90 | 40 (seeded sample of 90) "
        "| from the source: answer 10, full 30 |",
        "| synth | synthetic, n=50, seed 1, a=2, world=digits | 50 | 0 | 0 | 50 | 50 "
        "| annotated (tiny): answer 25, perception 20; teacher never right: 4; malformed: 1 |",
    ]


def test_the_sft_table_adds_up_per_column():
    lines = render_card(_info()).splitlines()
    i = lines.index("## SFT set: `sft/avr_sft.json`, 80 rows")
    assert lines[i + 2 : i + 7] == [
        "| source | answer | perception | full | format not taken | excluded (leakage) | malformed | rows |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        "| gqa | 10 | 0 | 28 | 1 | 1 | 2 | 38 |",
        "| synth | 22 | 20 | 0 | 3 | 0 | 0 | 42 |",
        "| **total** | **32** | **20** | **28** | **4** | **1** | **2** | **80** |",
    ]
    assert "LLaMA-Factory: `dataset_dir: sft`, `dataset: avr_sft` (under the output directory)." in lines


def test_the_rl_table_and_its_validation_share():
    lines = render_card(_info()).splitlines()
    i = lines.index("## RL set: `rl/train.parquet` 76 prompts, `rl/val.parquet` 4 (validation share 5%)")
    assert lines[i + 4 : i + 7] == [
        "| gqa | 2 | 0 | 38 |",
        "| synth | 0 | 1 | 42 |",
        "| **total** | **2** | **1** | **80** |",
    ]
    info = _info()
    info["sets"]["rl"]["val_fraction"] = 0
    assert "(validation share none)" in render_card(info)


def test_the_header_guard_and_malformed_rows():
    text = render_card(_info())
    assert (
        "Built by `avr data build paper`: recipe sha256 `abc123`, overrides `seed=3`, seed 3, raw data `/raw`."
    ) in text
    assert (
        "Benchmarks excluded: mathvista, mathvision. Held-out sets excluded: digits (`held.jsonl`)." in text
    )
    assert "Excluded rows are listed in `sft/avr_sft.excluded.jsonl`." in text
    lines = text.splitlines()
    i = lines.index("gqa (23, all in `gqa.skipped`; files under the raw directory):")
    assert lines[i + 1] == "- `gqa/q.json` row 0: bad 0"
    assert (
        lines[i + MALFORMED_LISTED]
        == f"- `gqa/q.json` row {MALFORMED_LISTED - 1}: bad {MALFORMED_LISTED - 1}"
    )
    assert lines[i + MALFORMED_LISTED + 1] == "- and 3 more"
    assert "sft set: 2 rows failed validation, listed in `sft/avr_sft.skipped.jsonl`." in lines
    assert "synth (" not in text  # a source without malformed rows is not listed


def test_a_build_with_nothing_to_report():
    info = _info()
    info.update(overrides={}, raw_dir=None, only="rl", exclude=[], heldout={})
    info["sources"]["gqa"]["pool"]["malformed"] = []
    del info["sets"]["sft"]
    text = render_card(info)
    assert "overrides none, seed 3, raw data `(none: built-in data only)`." in text
    assert "Only the rl set was built in this run (`--only rl`)." in text
    assert "## SFT set" not in text and "## RL set" in text
    assert "Benchmarks excluded: none. Held-out sets excluded: none.\nNo row matched." in text
    assert text.endswith("## Malformed rows\n\nNone.\n")
    assert "| gqa | gqa, train, `gqa`, first 100 |" in text  # no raw directory: the source's own folder
