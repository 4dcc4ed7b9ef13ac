"""``convert`` and the source registry, on every converter: a malformed row raises naming the file and
row, or is skipped into the report; limits, reruns, splits, missing or unreadable input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from avr.data import sources
from avr.data.sources import (
    SOURCES,
    convert,
)
from avr.data.sources.converter import mend_lost_characters
from avr.records import RecordError, read_records
from tests.data.sources.builders import (
    BUILDERS,
    _convert,
    _img,
    _truncate,
    _write,
    build_chartqa,
    build_clevr,
    build_geometry3k,
    build_gqa,
    build_okvqa,
)


def test_every_source_has_a_fixture():
    assert {c.split("-")[0] for c in BUILDERS} == set(SOURCES)


@pytest.mark.parametrize("case", sorted(BUILDERS))
def test_malformed_row_raises_with_file_and_row(case, tmp_path):
    fx = BUILDERS[case](tmp_path / "src")
    with pytest.raises(RecordError) as err:
        convert(case.split("-")[0], fx.src, tmp_path / "out", split=fx.split)
    assert Path(err.value.file) == fx.bad_file
    assert err.value.row == fx.bad_row
    assert fx.bad_reason in str(err.value)
    assert not list((tmp_path / "out").glob("*.jsonl"))  # nothing half-written


@pytest.mark.parametrize("case", sorted(BUILDERS))
def test_skip_writes_report_and_valid_rows(case, tmp_path):
    fx, stats, records, out = _convert(case, tmp_path, on_error="skip")
    name = case.split("-")[0]
    split = fx.split or SOURCES[name].default_split
    assert stats["path"] == str(out / f"{name}-{split}.jsonl")
    assert stats["skipped_path"] == str(out / f"{name}-{split}.skipped.jsonl")
    report = [json.loads(x) for x in Path(stats["skipped_path"]).read_text().splitlines()]
    assert [(Path(r["file"]), r["row"]) for r in report] == [(fx.bad_file, fx.bad_row)]
    assert fx.bad_reason in report[0]["error"]
    assert stats["skipped"] == 1 and stats["rows"] == len(records) > 0
    assert all(r.source == name for r in records)
    assert len({r.id for r in records}) == len(records)
    for r in records:  # images were copied under out/images, content-addressed
        assert all(im.path is not None and im.path.parent == out / "images" for im in r.images)


def test_limit_and_rerun_overwrite(tmp_path):
    fx = build_chartqa(tmp_path / "src")
    out = tmp_path / "out"
    stats = convert("chartqa", fx.src, out, split="train", on_error="skip")
    assert stats["rows"] == 3 and (out / "chartqa-train.skipped.jsonl").exists()
    first = (out / "chartqa-train.jsonl").read_text()
    assert convert("chartqa", fx.src, out, split="train", on_error="skip")["rows"] == 3
    assert (out / "chartqa-train.jsonl").read_text() == first  # stable ids and image names
    stats = convert("chartqa", fx.src, out, split="train", limit=2)
    assert stats["rows"] == 2 and stats["skipped"] == 0
    assert not (out / "chartqa-train.skipped.jsonl").exists()  # a stale report is removed
    assert len((out / "chartqa-train.jsonl").read_text().splitlines()) == 2


def test_unknown_name_lists_known(tmp_path):
    with pytest.raises(ValueError, match="known: chartqa, clevr, geometry3k, gqa, okvqa, scienceqa, tqa"):
        convert("vqav2", tmp_path, tmp_path / "out")


def test_unknown_split(tmp_path):
    with pytest.raises(ValueError, match="unknown split 'dev'; known: train, val"):
        convert("clevr", tmp_path, tmp_path / "out", split="dev")


def test_bad_options(tmp_path):
    with pytest.raises(ValueError, match="on_error"):
        convert("tqa", tmp_path, tmp_path / "out", on_error="ignore")
    with pytest.raises(ValueError, match="limit"):
        convert("tqa", tmp_path, tmp_path / "out", limit=-1)


def test_sources_are_callable_readers(tmp_path):
    fx = build_gqa(tmp_path / "src")
    rows = list(SOURCES["gqa"](fx.src, "val_balanced"))
    assert [r.row for r in rows] == [1, 2, 3] and rows[0].build()["answer"] == "yes"


def test_module_exports():
    assert callable(sources.convert) and all(callable(s) for s in SOURCES.values())


def test_converted_rows_feed_the_sft_builder(tmp_path):
    """Every converter's output is a valid SFT input: the explicit format wins over partial texts."""
    from avr.data.sft import build_sft_dataset
    from avr.formats import parse

    paths = []
    for case in sorted(BUILDERS):
        fx = BUILDERS[case](tmp_path / case / "src")
        paths.append(
            convert(case.split("-")[0], fx.src, tmp_path / case / "out", split=fx.split, on_error="skip")[
                "path"
            ]
        )
    stats = build_sft_dataset(paths, tmp_path / "sft")
    examples = json.loads((tmp_path / "sft" / "avr_sft.json").read_text())
    assert stats["rows"] == len(examples) > 20 and stats["skipped"] == 0
    by_source = {}
    for ex in examples:
        by_source.setdefault(ex["source"], set()).add(parse(ex["messages"][1]["content"]).format)
    assert by_source["vision_sr1_cold"] == {3} and by_source["clevr"] == {2} and by_source["scienceqa"] == {1}


def test_cli_convert_then_build(tmp_path, capsys):
    """`avr data convert` then `avr data sft`: the command line a user runs, bad row and all."""
    from avr.cli import main

    fx = build_okvqa(tmp_path / "src")
    out = tmp_path / "okvqa"
    argv = ["data", "convert", "okvqa", "--src", str(fx.src), "--out", str(out), "--split", "val"]
    assert main(argv) == 2  # the malformed row stops it, named
    assert f"{fx.bad_file}: row {fx.bad_row}" in capsys.readouterr().err
    assert main([*argv, "--on-error", "skip"]) == 0
    printed = capsys.readouterr().out
    assert "okvqa: 2 records written" in printed and "okvqa-val.skipped.jsonl" in printed
    assert main(["data", "sft", "--input", str(out / "okvqa-val.jsonl"), "--out", str(tmp_path / "sft")]) == 0
    assert (tmp_path / "sft" / "avr_sft.json").is_file()


def test_a_relative_src_finds_the_images(tmp_path, monkeypatch):
    """Readers name images relative to the file listing them; a relative --src once doubled the root."""
    build_okvqa(tmp_path / "raw" / "okvqa")
    monkeypatch.chdir(tmp_path)
    stats = convert("okvqa", "raw/okvqa", "out", split="val", on_error="skip")
    assert stats["rows"] == 2
    records, _ = read_records([stats["path"]])
    assert all(r.images for r in records)


def test_two_splits_into_one_out_keep_both(tmp_path):
    fx = build_geometry3k(tmp_path / "src")
    val = fx.src / "val" / "7"
    _write(val / "data.json", {"id": 7, "problem_text": "Find z.", "choices": ["1", "2"], "answer": "A"})
    _write(val / "img_diagram.png", _img((9, 9, 9)))
    out = tmp_path / "out"
    train = convert("geometry3k", fx.src, out, split="train", on_error="skip")
    valid = convert("geometry3k", fx.src, out, split="val", on_error="skip")
    assert (
        Path(train["path"]).name == "geometry3k-train.jsonl"
        and Path(valid["path"]).name == "geometry3k-val.jsonl"
    )
    assert len(read_records([train["path"]])[0]) == 2 and [
        r.id for r in read_records([valid["path"]])[0]
    ] == ["geometry3k-7"]


def test_lost_characters_are_mended_in_texts_and_refused_in_answers(tmp_path):
    d = tmp_path / "src" / "test"
    _write(d / "png" / "1.png", _img())
    _write(
        d / "test_human.json",
        [
            {"imgname": "1.png", "query": "What is the chancellor\ufffds approval share?", "label": "52"},
            {"imgname": "1.png", "query": "Which country got the most\ufffd aid?", "label": "Tonga"},
            {"imgname": "1.png", "query": "Which country?", "label": "C\ufffdte d'Ivoire"},
        ],
    )  # fmt: skip
    stats = convert("chartqa", tmp_path / "src", tmp_path / "out", split="test", on_error="skip")
    merkel, aid = read_records([stats["path"]])[0]
    assert merkel.question == "What is the chancellor s approval share?"
    assert aid.question == "Which country got the most aid?"
    assert merkel.extra["repaired"] == ["question"] and stats["repaired"] == 2
    report = [json.loads(x) for x in Path(stats["skipped_path"]).read_text().splitlines()]
    assert [(r["row"], "U+FFFD" in r["error"]) for r in report] == [(3, True)]
    assert not any("\ufffd" in line for line in Path(stats["path"]).read_text().splitlines())


def test_mend_lost_characters_in_every_text_field():
    raw = {"question": "a\ufffd\ufffd b", "choices": ["x\ufffdy", "z"], "reasoning": "r", "answer": ["ok"]}
    assert mend_lost_characters(raw) == ["question", "choices"]
    assert raw["question"] == "a b" and raw["choices"] == ["x y", "z"] and raw["reasoning"] == "r"
    with pytest.raises(ValueError, match="U\\+FFFD"):
        mend_lost_characters({"question": "q", "answer": ["fine", "b\ufffdd"]})


@pytest.mark.parametrize(
    "case", ["vision_sr1_cold", "okvqa", "gqa", "scienceqa-official", "chartqa", "clevr", "tqa"]
)
def test_json_sources_are_streamed_not_read_whole(case, tmp_path, monkeypatch):
    """GQA's and CLEVR's train files run to gigabytes: no reader may load a JSON file whole."""

    def whole(*args, **kwargs):
        raise AssertionError("a JSON file was read whole")

    fx = BUILDERS[case](tmp_path / "src")
    monkeypatch.setattr(json, "load", whole)
    monkeypatch.setattr(json, "loads", whole)
    monkeypatch.setattr(Path, "read_text", whole)
    stats = convert(case.split("-")[0], fx.src, tmp_path / "out", split=fx.split, on_error="skip")
    assert stats["rows"] > 0 and stats["skipped"] == 1


def test_truncated_file_keeps_the_rows_before_it(tmp_path):
    fx = build_clevr(tmp_path / "src")
    _truncate(fx.bad_file, 2, '"question_index"')
    out = tmp_path / "out"
    with pytest.raises(RecordError) as err:
        convert("clevr", fx.src, out, split="val")
    assert Path(err.value.file) == fx.bad_file and err.value.row == 3
    assert "not valid JSON after row 2" in str(err.value) and not list(out.glob("*.jsonl"))
    stats = convert("clevr", fx.src, out, split="val", on_error="skip")
    assert stats["rows"] == 2 and stats["skipped"] == 1
    report = json.loads(Path(stats["skipped_path"]).read_text())
    assert (Path(report["file"]), report["row"]) == (fx.bad_file, 3)


def test_unreadable_from_the_start_is_an_error_even_when_skipping(tmp_path):
    fx = build_gqa(tmp_path / "src")
    fx.bad_file.write_text('["a list, where GQA has an object of questions"]')
    with pytest.raises(RecordError, match="expected a JSON object at the top level, found '\\['"):
        convert("gqa", fx.src, tmp_path / "out", split="val_balanced", on_error="skip")
    fx.bad_file.write_text("")
    with pytest.raises(RecordError, match="expected a JSON object at the top level, found an empty file"):
        convert("gqa", fx.src, tmp_path / "out", split="val_balanced", on_error="skip")
    fx.bad_file.write_text('{"1": {"question": ')
    with pytest.raises(RecordError, match="row 1: not valid JSON after row 0"):
        convert("gqa", fx.src, tmp_path / "out", split="val_balanced", on_error="skip")


def test_a_byte_order_mark_is_read_past(tmp_path):
    fx = build_chartqa(tmp_path / "src")
    human = fx.src / "train" / "train_human.json"
    human.write_bytes(b"\xef\xbb\xbf" + human.read_bytes())
    stats = convert("chartqa", fx.src, tmp_path / "out", split="train", on_error="skip")
    assert stats["rows"] == 3 and stats["skipped"] == 1
