"""The loaders on the benchmarks' published layouts: hand-written fixtures always, the real whole
files when ``AVR_REFERENCE_REPOS`` points at clones of the authors' repositories.

The fixtures (tests/fixtures/real/SOURCES.md) are written by hand in the layout of each published
file (same file names, key names and value types; invented rows), and keep the rows that broke or
could break a loader: a blank LogicVista item, MathVista options that repeat, OCRBench ids that
repeat, a MATH-V letter answer without options, HallusionBench figures named "./VD/..." that lie
under hallusion_bench/. No image is committed: a small stand-in (JPEG for a .jpg name, else PNG,
each a different colour) is written for each image a row names, so the annotation rows are what is
tested, and each item can be checked to carry its own row's image.

The whole-file counts below were measured on these commits (clone each repository into
``$AVR_REFERENCE_REPOS/<owner>+<name>``; MathVerse's testmini.json could not be obtained here):
Yijia-Xiao/LogicVista e5795f1, mathllm/MATH-V a1f5cc3, lupantech/MathVista 53d5258,
tianyi-lab/HallusionBench 744007c, Yuliang-Liu/MultimodalOCR 794c36d.
"""

from __future__ import annotations

import hashlib
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
from tests import REPO

FIXTURES = REPO / "tests" / "fixtures" / "real"


def _standin(path: Path) -> bytes:
    """A tiny image in the format its name says, coloured by its name so that no two look alike."""
    colour = tuple(hashlib.sha256(path.as_posix().encode()).digest()[:3])
    jpeg = path.suffix.lower() in (".jpg", ".jpeg")
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), colour).save(buf, format="JPEG" if jpeg else "PNG")
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
    shutil.copytree(src, dst)
    missing = sorted({p for p in _image_paths(name, dst) if not p.is_file()})
    for p in missing:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(_standin(p.relative_to(dst)))
    return len(missing)


def test_logicvista_excerpt(tmp_path):
    root = tmp_path / "lv"
    assert materialize("logicvista", FIXTURES / "logicvista", root) == 8
    items = load_benchmark(f"logicvista={root}")
    assert (len(items), len(items.skipped)) == (7, 1)
    (skip,) = items.skipped
    assert skip.row == 6 and "no gold answer" in skip.reason  # v1_5: question and answer both empty
    by_id = {i.id: i for i in items}
    assert sorted(by_id) == [f"v1_{n}" for n in (0, 1, 2, 3, 4, 6, 7)]
    assert by_id["v1_1"].answers == ["A, C"] and by_id["v1_1"].meta["broad_capability"] == ["diagram"]
    assert by_id["v1_1"].meta["specific_capability"] == ["rule based pattern"]
    assert by_id["v1_1"].answer_type == "letters" and by_id["v1_2"].answer_type is None  # "3" is no letter
    assert {i.answers[0] for i in items} == {"D", "A, C", "3", "G", "B, D", "E", "B"}
    assert by_id["v1_3"].images == [(root / "data" / "images" / "v1_3.png").read_bytes()]
    # per-category tables come out of the real fields
    rows = [
        {"benchmark": "logicvista", "format": 1, "correct": True, "tokens": 3, "meta": i.meta} for i in items
    ]
    bd = compute_metrics(rows, {"logicvista": breakdown_fields("logicvista")})["benchmarks"]["logicvista"][
        "breakdown"
    ]
    assert set(bd) == {"skill", "broad_capability", "specific_capability"}
    assert {k: v["n"] for k, v in bd["broad_capability"].items()} == {
        "diagram": 4,
        "ocr": 2,
        "diagram and ocr": 1,
    }


def test_mathvision_excerpt(tmp_path):
    root = tmp_path / "mv"
    assert materialize("mathvision", FIXTURES / "mathvision", root) == 6
    items = load_benchmark(f"mathvision={root}")
    assert (len(items), len(items.skipped)) == (6, 0)
    by_id = {i.id: i for i in items}
    assert by_id["12"].choices[3] == "$2 \\cdot 2 \\cdot 3$" and by_id["12"].answers == ["D"]
    assert by_id["12"].answer_type == "multi_choice" and len(by_id["12"].choices) == 5
    assert by_id["31"].choices is None and by_id["31"].answers == ["B"]  # options drawn in the figure
    assert by_id["31"].answer_type is None
    assert by_id["58"].answers == ["$\\frac{\\sqrt{3}}{8}$"] and by_id["58"].meta == {
        "split": "test",
        "subject": "metric geometry - area",
        "level": 5,
    }
    assert by_id["4"].question.endswith("<image1>")
    assert Image.open(io.BytesIO(by_id["96"].images[0])).format == "JPEG"
    assert by_id["96"].images == [(root / "images" / "96.jpg").read_bytes()]


def test_mathvista_excerpt(tmp_path):
    root = tmp_path / "mv"
    assert materialize("mathvista", FIXTURES / "mathvista", root) == 5
    items = load_benchmark(f"mathvista={root}")
    assert (len(items), len(items.skipped)) == (5, 0)
    by_id = {i.id: i for i in items}
    assert by_id["23"].choices == ["9", "12", "18", "18"] and by_id["23"].answers == ["18"]
    assert by_id["23"].answer_type == "multi_choice"
    assert by_id["150"].answers == ["√{2}"] and by_id["402"].meta["answer_type"] == "list"
    assert by_id["7"].precision == 1 and by_id["7"].answer_type == "float" and by_id["688"].unit == "cm"
    assert by_id["7"].meta["task"] == "textbook question answering"
    assert by_id["23"].meta["skills"] == ["geometry reasoning", "arithmetic reasoning"]
    assert by_id["688"].meta["language"] == "chinese" and by_id["688"].question.startswith("图中")
    assert by_id["150"].images == [(root / "data" / "images" / "150.jpg").read_bytes()]


def test_hallusionbench_excerpt(tmp_path):
    root = tmp_path / "hb"
    assert materialize("hallusionbench", FIXTURES / "hallusionbench", root) == 6
    items = load_benchmark(f"hallusionbench={root}")
    assert (len(items), len(items.skipped)) == (8, 0)  # the 2 rows with no figure are the non-image split
    assert Counter(i.meta["category"] for i in items) == {"VS": 4, "VD": 4}
    assert Counter(i.answers[0] for i in items) == {"yes": 4, "no": 4}
    by_id = {i.id: i for i in items}
    assert by_id["VD_illusion_0_0_0"].images == [
        (root / "hallusion_bench" / "VD" / "illusion" / "0_0.png").read_bytes()
    ]
    # the JSON names most figures "./VD/..." while hallusion_bench.zip unzips them under
    # hallusion_bench/: with every figure moved there, each row still finds its own
    for top in ("VS", "VD"):
        for f in sorted((root / top).rglob("*.png")):
            target = root / "hallusion_bench" / f.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            f.rename(target)
        shutil.rmtree(root / top)
    moved = load_benchmark(f"hallusionbench={root}")
    assert (len(moved), len(moved.skipped)) == (8, 0)
    assert [(i.id, i.images) for i in moved] == [(i.id, i.images) for i in items]
    assert by_id["VD_ocr_2_0_1"].images == [
        (root / "hallusion_bench" / "VD" / "ocr" / "2_0.png").read_bytes()
    ]


def test_ocrbench_excerpt(tmp_path):
    root = tmp_path / "ocr"
    assert materialize("ocrbench", FIXTURES / "ocrbench", root) == 7
    items = load_benchmark(f"ocrbench={root}")
    assert (len(items), len(items.skipped)) == (7, 0)  # id 211 appears twice: items are numbered by row
    assert [i.id for i in items] == [str(n) for n in range(7)]
    assert [i.meta["source_id"] for i in items[1:3]] == [211, 211]
    assert items[2].answers == ["acme", "acme mugs"] and items[0].answers == ["HARBOUR"]
    assert sum(i.meta["dataset"] == "HME100k" for i in items) == 2
    assert items[6].images == [(root / "OCRBench_Images" / "WordArt" / "fixture_47.JPEG").read_bytes()]
    assert Image.open(io.BytesIO(items[6].images[0])).format == "JPEG"


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
