"""`avr data build`: a recipe over the converters' own fixtures, laid out as raw downloads, builds both
sets; the card's counts add up; a missing source and a malformed row are named; a rerun does no work;
the same recipe and raw files give byte-identical outputs."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from PIL import Image

from avr.cli import main
from avr.data.build import build_data
from avr.data.recipe import RecipeError, load_data_recipe
from avr.records import RecordError
from tests import REPO
from tests.data.sources.builders import BUILDERS  # the converters' fixtures, each in its published layout


def _png(color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 6), color).save(buf, format="PNG")
    return buf.getvalue()


def _raw(tmp_path: Path, cases: list[str]) -> tuple[Path, dict]:
    """Each fixture under raw/<case>, as `hf download ... --local-dir raw/<case>` would put it."""
    raw = tmp_path / "raw"
    return raw, {case: BUILDERS[case](raw / case) for case in cases}


def _recipe(tmp_path: Path, data: dict, name: str = "recipe.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".avr.lock"
    }


def _mtimes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def three_sources(tmp_path):
    """Vision-SR1 (full format) and CLEVR (perception) for SFT, CLEVR and ChartQA (sampled) for RL, and
    a benchmark holding one of CLEVR's images, which the leakage guard must keep out of both sets."""
    raw, fx = _raw(tmp_path, ["vision_sr1_cold", "clevr", "chartqa"])
    bench = tmp_path / "bench"
    (bench / "images").mkdir(parents=True)
    (bench / "images" / "same.png").write_bytes(_png((0, 0, 255)))  # = CLEVR_val_000001.png
    (bench / "leak.jsonl").write_text(
        json.dumps({"image": "images/same.png", "question": "Q?", "answer": "a"})
    )
    recipe = _recipe(
        tmp_path,
        {
            "seed": 3,
            "sources": {
                "vision_sr1_cold": {"split": "train"},
                "clevr": {"split": "val", "dir": "clevr/CLEVR_v1.0"},
                "chartqa": {"split": "train", "dir": "chartqa/ChartQA Dataset", "sample": 2},
            },
            "sft": {"name": "avr_sft", "sources": ["vision_sr1_cold", "clevr"]},
            "rl": {"val_fraction": 0.3, "sources": ["clevr", "chartqa"]},
            "exclude": [f"leak={bench / 'leak.jsonl'}"],
        },
    )
    return recipe, raw, fx


def test_three_sources_build_both_sets_and_the_card_adds_up(three_sources, tmp_path):
    recipe, raw, fx = three_sources
    out = tmp_path / "out"
    r = build_data(recipe, raw, out, log=lambda _: None)

    # the SFT set: 2 full-format Vision-SR1 rows, 2 CLEVR perception rows less the leaked one
    sft = r["sets"]["sft"]
    examples = json.loads((out / "sft" / "avr_sft.json").read_text())
    assert len(examples) == sft["rows"] == 3
    assert sorted(e["format"] for e in examples) == [2, 3, 3]
    assert (
        json.loads((out / "sft" / "dataset_info.json").read_text())["avr_sft"]["file_name"] == "avr_sft.json"
    )
    assert sft["by_source"]["clevr"] == {"taken": 2, "dropped_format": 0, "excluded": 1, "skipped": 0,
                                         "rows": 1, "by_format": {"perception": 1}}  # fmt: skip
    # the RL set: CLEVR's other row and a seeded 2 of ChartQA's 3 valid rows
    rl = r["sets"]["rl"]
    train, val = pq.read_table(out / "rl" / "train.parquet"), pq.read_table(out / "rl" / "val.parquet")
    assert (train.num_rows, val.num_rows) == (rl["train"], rl["val"]) == (2, 1)
    assert rl["excluded"] == 1 and r["sources"]["chartqa"]["select"] == {
        "read": 3, "selected": 2, "by_format": {"answer": 2}}  # fmt: skip
    excluded = [json.loads(x) for x in (out / "rl" / "excluded.jsonl").read_text().splitlines()]
    assert [e["id"] for e in excluded] == ["clevr-val-1"] and excluded[0]["benchmark_item"].startswith(
        "leak/"
    )

    # every source's rows add up: read = malformed + selected; taken = kept + dropped + excluded + malformed
    for st in r["sources"].values():
        pool = st["pool"]
        assert pool["skipped"] == 1 and st["select"]["read"] == pool["rows"]
    for kind in ("sft", "rl"):
        s = r["sets"][kind]
        assert sum(b["rows"] for b in s["by_source"].values()) == s["rows"]
        for key, b in s["by_source"].items():
            assert b["taken"] == b["rows"] + b["dropped_format"] + b["excluded"] + b["skipped"]
            assert b["taken"] == r["sources"][key]["select"]["selected"]

    # the card: counts, the leak, the recipe's hash, and each malformed row by file and row
    card = (out / "data_card.md").read_text()
    assert hashlib.sha256(recipe.read_bytes()).hexdigest() in card
    assert "| clevr | 0 | 1 | 0 | 0 | 1 | 0 | 1 |" in card
    assert "| **total** | **0** | **1** | **2** | **0** | **1** | **0** | **3** |" in card
    assert "`rl/train.parquet` 2 prompts, `rl/val.parquet` 1" in card
    for case, f in fx.items():  # named relative to the raw directory
        bad = r["sources"][case]["pool"]["malformed"]
        assert [(m["row"], f.bad_reason in m["error"]) for m in bad] == [(f.bad_row, True)]
        assert raw / bad[0]["file"] == f.bad_file
        assert f"`{bad[0]['file']}` row {f.bad_row}:" in card
    assert str(out) not in card  # a card names no output path: identical builds, identical cards


def test_rerun_does_no_work_and_steps_resume(three_sources, tmp_path, monkeypatch):
    recipe, _, _ = three_sources
    monkeypatch.chdir(tmp_path)  # relative --raw-dir and --out, as the CLI's defaults are
    raw, out = Path("raw"), Path("out")
    first = build_data(recipe, raw, out, only="sft", log=lambda _: None)
    assert first["sets"]["sft"]["rows"] == 3
    assert "sft" in first["ran"] and "rl" not in first["ran"] and not (out / "rl").exists()
    second = build_data(recipe, raw, out, log=lambda _: None)  # picks up after the SFT steps
    assert "rl" in second["ran"] and not {"sft", "mix.sft", "select.vision_sr1_cold"} & set(second["ran"])
    before = _mtimes(out)
    third = build_data(recipe, raw, out, log=lambda _: None)
    assert third["ran"] == [] and "sft" in third["skipped_steps"] and "rl" in third["skipped_steps"]
    assert {k: v for k, v in _mtimes(out).items() if not k.endswith(".avr.lock")} == {
        k: v for k, v in before.items() if not k.endswith(".avr.lock")
    }
    # a changed raw file makes its source, and what depends on it, current no more
    (raw / "vision_sr1_cold" / "cold_start" / "7.jpg").write_bytes(_png((9, 9, 9)))
    fourth = build_data(recipe, raw, out, log=lambda _: None)
    assert "sft" in fourth["ran"] and "rl" not in fourth["ran"]


def test_same_recipe_and_raw_files_give_byte_identical_outputs(three_sources, tmp_path):
    recipe, raw, _ = three_sources
    out = tmp_path / "out"
    build_data(recipe, raw, out, log=lambda _: None)
    first = _tree(out)
    shutil.rmtree(out)
    build_data(recipe, raw, out, log=lambda _: None)
    assert _tree(out) == first
    # elsewhere too: the data sets and the card do not depend on where they are written
    other = tmp_path / "elsewhere"
    build_data(recipe, raw, other, log=lambda _: None)
    moved = _tree(other)
    for name in (
        "sft/avr_sft.json",
        "sft/dataset_info.json",
        "rl/train.parquet",
        "rl/val.parquet",
        "data_card.md",
    ):
        assert moved[name] == first[name], name
    assert {k for k in first if k.startswith("sft/images/")} == {
        k for k in moved if k.startswith("sft/images/")
    }


def test_missing_source_is_named_with_its_download_command(tmp_path, capsys):
    raw, _ = _raw(tmp_path, ["vision_sr1_cold"])
    recipe = _recipe(
        tmp_path,
        {
            "sources": {"vision_sr1_cold": {}, "okvqa": {"split": "val"}},
            "sft": {"sources": ["vision_sr1_cold", "okvqa"]},
        },
    )
    rc = main(["data", "build", str(recipe), "--raw-dir", str(raw), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"source 'okvqa': okvqa: no such directory {raw.resolve() / 'okvqa'}" in err
    assert f"hf download lmms-lab/OK-VQA --repo-type dataset --local-dir {raw / 'okvqa'}" in err
    assert "vision_sr1_cold" not in err  # the one that is there is not reported
    assert not (tmp_path / "out").exists()  # nothing is built before every source is there


def test_malformed_row_stops_the_build_with_file_and_row_when_asked(three_sources, tmp_path):
    recipe, raw, fx = three_sources
    with pytest.raises(RecordError) as err:
        build_data(recipe, raw, tmp_path / "out", overrides={"on_error": "raise"}, log=lambda _: None)
    assert (
        Path(err.value.file) == fx["vision_sr1_cold"].bad_file
        and err.value.row == fx["vision_sr1_cold"].bad_row
    )


def test_synthetic_recipe_through_the_cli(tmp_path, capsys):
    out = tmp_path / "data"
    argv = [
        "data",
        "build",
        "synthetic",
        "--out",
        str(out),
        "--set",
        "sources.train.n=12",
        "--set",
        "sources.heldout.n=6",
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert f"LLaMA-Factory: dataset_dir={out / 'sft'} dataset=avr_sft" in printed
    assert f"avr eval --benchmarks heldout={out / 'heldout' / 'heldout.jsonl'}" in printed
    assert "`sources.train.n=12`" in (out / "data_card.md").read_text()
    assert len(json.loads((out / "sft" / "avr_sft.json").read_text())) == 12
    held = [json.loads(x) for x in (out / "heldout" / "heldout.jsonl").read_text().splitlines()]
    assert len(held) == 6 and all((out / "heldout" / h["image"]).is_file() for h in held)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (
            {"sources": {"a": {"source": "synthetic", "n": 2, "limt": 3}}},
            r"sources\.a: unknown key\(s\) \['limt'\]",
        ),
        ({"sources": {"a": {"source": "nope"}}}, r"sources\.a\.source: unknown converter 'nope'"),
        (
            {"sources": {"a": {"source": "okvqa", "split": "test"}}},
            r"sources\.a\.split: okvqa: unknown split 'test'",
        ),
        ({"sft": {"sources": ["b"]}}, r"sft\.sources\.b: not a key of sources"),
        ({"heldout": ["a"]}, r"heldout: 'a' is held out but the sft set takes it"),
        (
            {"sources": {"a": {"source": "synthetic", "n": 2, "sample": 1, "share": 0.5}}},
            "sample .rows. or share, not both",
        ),
    ],
)
def test_recipe_errors_name_the_file_and_key(tmp_path, patch, message):
    data = {"sources": {"a": {"source": "synthetic", "n": 2}}, "sft": {"sources": ["a"]}}
    data.update(patch)
    path = _recipe(tmp_path, data)
    with pytest.raises(RecipeError, match=message) as err:
        load_data_recipe(path)
    assert str(err.value).startswith(str(path))


def test_paper_recipe_sizes_and_sources():
    """The paper recipe as shipped: the SFT sources the paper names, RL sized to ~44k, benchmarks kept out."""
    r = load_data_recipe("paper")
    assert [t.key for t in r.sft.takes] == ["vision_sr1_cold", "okvqa", "gqa"]
    assert r.sources["okvqa"].formats == r.sources["gqa"].formats == "annotate"
    assert {t.keep_formats for t in r.sft.takes[1:]} == {(1, 2)}
    known = {"geometry3k": 2101, "scienceqa": 6218, "tqa": 6501, "chartqa": 28299, "clevr": 699989}
    rl = sum(min(known[t.key], r.sources[t.key].sample or known[t.key]) for t in r.rl.takes)
    assert rl == 43820
    assert {"mathvista", "mathvision"} <= set(r.exclude)
    text = (REPO / "train_configs" / "data" / "paper.yaml").read_text()
    for line in text.splitlines():  # every number says whose it is
        code = line.split("#")[0]
        if ":" in code and any(c.isdigit() for c in code.split(":", 1)[1]):
            assert "[paper" in line or "[ours" in line, line


@pytest.mark.e2e
def test_paper_recipe_end_to_end_on_the_fixtures(tmp_path, tiny_model):
    """paper.yaml on every converter's fixture laid out as its raw download, annotation by the tiny model.

    The fixtures hold val splits of GQA and CLEVR, and the benchmarks are a stand-in file: both are
    overrides, named here; everything else is the recipe as shipped."""
    cases = {"vision_sr1_cold": "vision_sr1_cold", "okvqa": "okvqa", "gqa": "gqa", "geometry3k": "geometry3k",
             "scienceqa": "scienceqa", "tqa": "tqa", "chartqa": "chartqa", "clevr": "clevr"}  # fmt: skip
    raw = tmp_path / "raw"
    for key, case in cases.items():
        BUILDERS[case](raw / key)
    leak = tmp_path / "leak.jsonl"
    (tmp_path / "x.png").write_bytes(_png((1, 2, 3)))  # = the TQA fixture's layers_2.png
    leak.write_text(json.dumps({"image": "x.png", "question": "what does label d show?", "answer": "b"}))
    overrides = {
        "sources.gqa.split": "val_balanced",
        "sources.clevr.split": "val",
        "exclude": [f"leak={leak}"],
        "annotate.model": str(tiny_model),
        "annotate.backend": "hf",
        "annotate.overrides": {"samples": 1, "max_new_tokens": 8, "teacher_attempts": 1},
    }
    out = tmp_path / "data"
    r = build_data("paper", raw, out, overrides=overrides, log=lambda _: None)
    sft, rl = r["sets"]["sft"], r["sets"]["rl"]
    assert sft["by_source"]["vision_sr1_cold"]["by_format"] == {"full": 2}
    for key in ("okvqa", "gqa"):  # annotated: every selected row is accounted for
        ann = r["sources"][key]["annotate"]
        assert (
            ann["rows"] + ann["teacher_failed"] + ann["bad_rows"]
            == r["sources"][key]["select"]["selected"]
            == 2
        )
        assert sft["by_source"][key]["taken"] == ann["rows"]
        assert not set(sft["by_source"][key]["by_format"]) - {"answer", "perception"}
    assert set(rl["by_source"]) == {"geometry3k", "scienceqa", "tqa", "chartqa", "clevr"}
    assert rl["excluded"] == 1 and rl["by_source"]["tqa"]["excluded"] == 1
    assert rl["rows"] == sum(b["rows"] for b in rl["by_source"].values()) == rl["train"] + rl["val"]
    assert len(json.loads((out / "sft" / "avr_sft.json").read_text())) == sft["rows"]
    card = (out / "data_card.md").read_text()
    assert f"annotated ({tiny_model})" in card and "## RL set" in card
    again = build_data("paper", raw, out, overrides=overrides, log=lambda _: None)
    assert again["ran"] == []  # no model is even loaded: every step, annotation included, is current
