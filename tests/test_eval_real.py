"""The loaders on the benchmarks' real published files: committed excerpts always, whole files when
``AVR_REFERENCE_REPOS`` points at clones of the authors' repositories.

Excerpts (tests/fixtures/real/SOURCES.md) keep the rows that broke or could break a loader: a blank
LogicVista item, MathVista options that repeat, OCRBench ids that repeat, a MATH-V letter answer
without options. Where the images are published apart from the annotations (zip files on other
hosts), a small stand-in PNG is written for each image a row names, so the annotation rows are what
is tested; MATH-V's images are real.

The whole-file counts below were measured on these commits (clone each repository into
``$AVR_REFERENCE_REPOS/<owner>+<name>``; MathVerse's testmini.json could not be obtained here):
Yijia-Xiao/LogicVista e5795f1, mathllm/MATH-V a1f5cc3, lupantech/MathVista 53d5258,
tianyi-lab/HallusionBench 744007c, Yuliang-Liu/MultimodalOCR 794c36d.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from avr.eval.benchmarks import breakdown_fields, load_benchmark
from avr.eval.metrics import compute_metrics

FIXTURES = Path(__file__).parent / "fixtures" / "real"


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (90, 90, 90)).save(buf, format="PNG")
    return buf.getvalue()


def _image_paths(name: str, root: Path) -> list[Path]:
    """Where each image a benchmark's rows name lives, under a copy rooted at ``root``."""
    if name == "logicvista":
        rows = json.loads((root / "data" / "dataset.json").read_text()).values()
        return [root / "data" / "images" / r["imagename"] for r in rows if r.get("imagename")]
    if name == "mathvision":
        rows = [
            json.loads(x) for f in (root / "data").glob("*.jsonl") for x in f.read_text().splitlines() if x
        ]
        return [root / r["image"] for r in rows]
    if name == "mathvista":
        rows = json.loads((root / "data" / "testmini.json").read_text()).values()
        return [root / "data" / r["image"] for r in rows]
    if name == "hallusionbench":
        rows = json.loads((root / "HallusionBench.json").read_text())
        return [root / r["filename"] for r in rows if r.get("filename")]
    rows = json.loads((root / "OCRBench.json").read_text())
    return [root / "OCRBench_Images" / r["image_path"] for r in rows]


def materialize(name: str, src: Path, dst: Path) -> int:
    """Copy a benchmark's files to ``dst`` and write a stand-in for each image not published with
    them; returns how many stand-ins were written."""
    if not src.is_dir():
        pytest.skip(f"no fixture at {src}")  # fetched excerpts may not be committed; see tests/fixtures
    shutil.copytree(src, dst)
    missing = [p for p in _image_paths(name, dst) if not p.is_file()]
    for p in missing:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(_png())
    return len(set(missing))


def test_logicvista_excerpt(tmp_path):
    materialize("logicvista", FIXTURES / "logicvista", tmp_path / "lv")
    items = load_benchmark(f"logicvista={tmp_path / 'lv'}")
    assert (len(items), len(items.skipped)) == (7, 1)
    (skip,) = items.skipped
    assert skip.row == 7 and "no gold answer" in skip.reason  # v1_382: question and answer both empty
    by_id = {i.id: i for i in items}
    assert by_id["v1_1"].answers == ["A, C"] and by_id["v1_1"].meta["broad_capability"] == ["diagram"]
    assert by_id["v1_1"].meta["specific_capability"] == ["rule based pattern"]
    assert {i.answers[0] for i in items} >= {"3", "G", "B, D"}
    # per-category tables come out of the real fields
    rows = [
        {"benchmark": "logicvista", "format": 1, "correct": True, "tokens": 3, "meta": i.meta} for i in items
    ]
    bd = compute_metrics(rows, {"logicvista": breakdown_fields("logicvista")})["benchmarks"]["logicvista"][
        "breakdown"
    ]
    assert (
        set(bd) == {"skill", "broad_capability", "specific_capability"}
        and bd["broad_capability"]["diagram"]["n"]
    )


def test_mathvision_excerpt_with_real_images(tmp_path):
    assert materialize("mathvision", FIXTURES / "mathvision", tmp_path / "mv") == 1
    items = load_benchmark(f"mathvision={tmp_path / 'mv'}")
    assert (len(items), len(items.skipped)) == (6, 0)
    by_id = {i.id: i for i in items}
    assert by_id["19"].choices[3] == "$2 \\cdot 4 \\cdot 3$" and by_id["19"].answers == ["D"]
    assert by_id["59"].choices is None and by_id["59"].answers == ["C"]  # options drawn in the figure
    assert by_id["2796"].answers == ["$\\frac{\\sqrt{6}}{6}$"] and by_id["2796"].meta == {
        "split": "test",
        "subject": "metric geometry - area",
        "level": 5,
    }
    assert Image.open(io.BytesIO(by_id["16"].images[0])).format == "JPEG"


def test_mathvista_excerpt(tmp_path):
    materialize("mathvista", FIXTURES / "mathvista", tmp_path / "mv")
    items = load_benchmark(f"mathvista={tmp_path / 'mv'}")
    assert (len(items), len(items.skipped)) == (5, 0)
    by_id = {i.id: i for i in items}
    assert by_id["781"].choices == ["9", "12", "18", "18"] and by_id["781"].answers == ["18"]
    assert by_id["916"].answers == ["√{2}"] and by_id["225"].meta["answer_type"] == "list"
    assert by_id["1"].meta["task"] and by_id["1"].meta["skills"]


def test_hallusionbench_excerpt(tmp_path):
    materialize("hallusionbench", FIXTURES / "hallusionbench", tmp_path / "hb")
    items = load_benchmark(f"hallusionbench={tmp_path / 'hb'}")
    assert (len(items), len(items.skipped)) == (8, 0)  # the 2 rows with no figure are the non-image split
    assert Counter(i.meta["category"] for i in items) == {"VS": 4, "VD": 4}
    assert {i.answers[0] for i in items} == {"yes", "no"}


def test_ocrbench_excerpt(tmp_path):
    materialize("ocrbench", FIXTURES / "ocrbench", tmp_path / "ocr")
    items = load_benchmark(f"ocrbench={tmp_path / 'ocr'}")
    assert (len(items), len(items.skipped)) == (7, 0)  # id 211 appears twice: items are numbered by row
    assert [i.meta["source_id"] for i in items[1:3]] == [211, 211]
    assert max(len(i.answers) for i in items) > 1
    assert sum(i.meta["dataset"] == "HME100k" for i in items) == 2


# --- whole files ---------------------------------------------------------------------------------------

REPOS = os.environ.get("AVR_REFERENCE_REPOS")
WHOLE = [
    # (benchmark spec, repository folder, files to copy, loaded, skipped)
    ("logicvista", "Yijia-Xiao+LogicVista", ["data"], 447, 1),
    ("mathvision", "mathllm+MATH-V", ["data", "images"], 3040, 0),
    ("mathvision:testmini", "mathllm+MATH-V", ["data", "images"], 304, 0),
    ("mathvista", "lupantech+MathVista", ["data/testmini.json"], 1000, 0),
    ("hallusionbench", "tianyi-lab+HallusionBench", ["HallusionBench.json"], 951, 0),
    ("ocrbench", "Yuliang-Liu+MultimodalOCR", ["OCRBench/OCRBench/OCRBench.json"], 1000, 0),
]


@pytest.mark.skipif(not REPOS, reason="set AVR_REFERENCE_REPOS to a folder of the authors' repositories")
@pytest.mark.parametrize(("spec", "repo", "files", "loaded", "skipped"), WHOLE)
def test_whole_published_files(tmp_path, spec, repo, files, loaded, skipped):
    name = spec.split(":")[0]
    src = Path(REPOS) / repo
    staged = tmp_path / "src"
    for f in files:  # the loader's layout: OCRBench.json at the root, MathVista's JSON under data/
        target = staged / (Path(f).name if name == "ocrbench" else f)
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if (src / f).is_dir() else shutil.copy)(src / f, target)
    materialize(name, staged, tmp_path / "bench")
    items = load_benchmark(f"{spec}={tmp_path / 'bench'}")
    assert (len(items), len(items.skipped)) == (loaded, skipped), items.skipped[:3]
