"""`avr data sft`: records in, a LLaMA-Factory dataset_dir out; every bad row named, nothing half-written."""

import io
import json
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from avr.data.sft import build_sft_dataset
from avr.formats import parse
from avr.records import RecordError


def _png(color=(255, 0, 0)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def rows_dir(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(_png())
    (tmp_path / "img" / "b.png").write_bytes(_png((0, 0, 255)))
    return tmp_path


def _write_jsonl(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


GOOD = [
    {"image": "img/a.png", "question": "Colour?", "answer": "red", "source": "s1"},
    {
        "image": "img/b.png",
        "question": "Count?",
        "answer": 2,
        "perception": "two blue squares",
        "source": "s1",
    },
    {
        "image": "img/a.png",
        "question": "More?",
        "answer": "1",
        "perception": "p",
        "reasoning": "2-1=1",
        "source": "s2",
    },
    {
        "image": "img/b.png",
        "question": "Which?",
        "answer": "B",
        "choices": ["red", "blue"],
        "format": 1,
        "perception": "blue square",
        "source": "s2",
    },
]


def test_builds_a_llamafactory_dataset_dir(rows_dir, tmp_path):
    src = _write_jsonl(rows_dir / "recs.jsonl", GOOD)
    out = tmp_path / "sft"
    stats = build_sft_dataset([src], out, name="mine")
    assert stats["rows"] == 4 and stats["skipped"] == 0
    assert stats["by_format"] == {"answer": 2, "perception": 1, "full": 1}
    assert stats["by_source"] == {"s1": 2, "s2": 2}
    info = json.loads((out / "dataset_info.json").read_text())
    assert info["mine"]["formatting"] == "sharegpt" and info["mine"]["file_name"] == "mine.json"
    data = json.loads((out / "mine.json").read_text())
    assert [parse(ex["messages"][1]["content"]).format for ex in data] == [1, 2, 3, 1]
    assert data[3]["messages"][0]["content"] == "<image>\nQuestion: Which?\nOptions:\nA. red\nB. blue"
    for ex in data:
        assert ex["messages"][0]["content"].count("<image>") == len(ex["images"]) == 1
        assert (out / ex["images"][0]).is_file()
    # two rows share an image: stored once, under its content hash
    assert len(list((out / "images").iterdir())) == 2
    # a second data set in the same dir keeps the first registered
    build_sft_dataset([src], out, name="other")
    assert set(json.loads((out / "dataset_info.json").read_text())) == {"mine", "other"}


def test_parquet_with_inline_image_bytes(tmp_path):
    table = pa.table(
        {
            "image": [{"bytes": _png(), "path": None}, {"bytes": _png((0, 255, 0)), "path": None}],
            "question": ["q1", "q2"],
            "answer": ["red", "green"],
        }
    )
    pq.write_table(table, tmp_path / "r.parquet")
    stats = build_sft_dataset([tmp_path / "r.parquet"], tmp_path / "out")
    assert stats["rows"] == 2 and stats["by_source"] == {"r": 2}


@pytest.mark.parametrize(
    "bad_row, message",
    [
        ({"image": "img/missing.png", "question": "q", "answer": "a"}, "image not found"),
        ({"image": "img/corrupt.png", "question": "q", "answer": "a"}, "image does not decode"),
        ({"image": "img/a.png", "question": "q", "answer": ""}, "missing or empty 'answer'"),
        ({"image": "img/a.png", "question": "q"}, "missing or empty 'answer'"),
        ({"image": "img/a.png", "answer": "a"}, "missing or empty 'question'"),
        ({"question": "q", "answer": "a"}, "no image"),
        ({"image": "img/a.png", "question": "q", "answer": "a", "format": 2}, "format inconsistent"),
        ({"image": "img/a.png", "question": "q", "answer": "a", "reasoning": "r"}, "format inconsistent"),
        ({"image": "img/a.png", "question": "q", "answer": "a", "format": "x"}, "format inconsistent"),
        ('{"image": "img/a.png", "question": ', "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_bad_rows_are_named_and_nothing_is_written(rows_dir, tmp_path, bad_row, message):
    # a truncated PNG: a valid header, then the data stops
    (rows_dir / "img" / "corrupt.png").write_bytes(_png()[:60])
    src = _write_jsonl(rows_dir / "recs.jsonl", [GOOD[0], GOOD[1], bad_row, GOOD[2]])
    out = tmp_path / "sft"
    with pytest.raises(RecordError) as e:
        build_sft_dataset([src], out)
    assert str(e.value).startswith(f"{src}: row 3: ") and message in str(e.value)
    assert not (out / "dataset_info.json").exists() and not (out / "avr_sft.json").exists()

    stats = build_sft_dataset([src], out, on_error="skip")
    assert stats["rows"] == 3 and stats["skipped"] == 1
    skipped = [json.loads(line) for line in (out / "avr_sft.skipped.jsonl").read_text().splitlines()]
    assert skipped == [{"file": str(src), "row": 3, "error": skipped[0]["error"]}]
    assert message in skipped[0]["error"]


def test_a_failed_rebuild_keeps_the_previous_output(rows_dir, tmp_path):
    src = _write_jsonl(rows_dir / "recs.jsonl", GOOD)
    out = tmp_path / "sft"
    build_sft_dataset([src], out)
    before = (out / "avr_sft.json").read_bytes()
    _write_jsonl(rows_dir / "recs.jsonl", [*GOOD, {"image": "img/nope.png", "question": "q", "answer": "a"}])
    with pytest.raises(RecordError):
        build_sft_dataset([src], out)
    assert (out / "avr_sft.json").read_bytes() == before
    assert not list(out.glob(".*.tmp"))


def test_cli_prints_counts_and_fails_cleanly(rows_dir, tmp_path, env):
    src = _write_jsonl(rows_dir / "recs.jsonl", GOOD)
    ok = subprocess.run(
        [sys.executable, "-m", "avr.cli", "data", "sft", "-i", str(src), "-o", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert ok.returncode == 0, ok.stderr
    assert "4 rows written" in ok.stdout and "format full" in ok.stdout and "source s2" in ok.stdout
    _write_jsonl(rows_dir / "bad.jsonl", [{"image": "img/zzz.png", "question": "q", "answer": "a"}])
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "avr.cli",
            "data",
            "sft",
            "-i",
            str(rows_dir / "bad.jsonl"),
            "-o",
            str(tmp_path / "p"),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert bad.returncode == 2
    assert "bad.jsonl: row 1: image not found" in bad.stderr and "Traceback" not in bad.stderr


def test_synthetic_records_build(synthetic_records, tmp_path):
    stats = build_sft_dataset([synthetic_records], tmp_path / "sft")
    assert stats["rows"] == 48
    assert stats["by_format"] == {"answer": 16, "perception": 16, "full": 16}


def test_one_sharegpt_example_and_the_registry_entry_by_hand(rows_dir, tmp_path):
    from avr.data.sft import format_stats, to_sharegpt
    from avr.records import read_records

    (rec,) = read_records([_write_jsonl(rows_dir / "one.jsonl", GOOD[1:2])])[0]
    assert to_sharegpt(rec, ["images/x.png"]) == {
        "messages": [
            {"role": "user", "content": "<image>\nQuestion: Count?"},
            {
                "role": "assistant",
                "content": "<perception>\ntwo blue squares\n</perception>\n\n<answer>\n2\n</answer>",
            },
        ],
        "images": ["images/x.png"],
        "id": rec.id,
        "source": "s1",
        "format": 2,
    }
    assert to_sharegpt(rec, ["i.png"], instruction=True)["messages"][0]["content"].endswith(
        "<answer>...</answer>"
    )
    out = tmp_path / "sft"
    stats = build_sft_dataset([rows_dir / "one.jsonl"], out, name="one", images="hardlink")
    assert json.loads((out / "dataset_info.json").read_text()) == {
        "one": {
            "file_name": "one.json",
            "formatting": "sharegpt",
            "columns": {"messages": "messages", "images": "images"},
            "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                     "assistant_tag": "assistant", "system_tag": "system"},
        }
    }  # fmt: skip
    assert json.loads((out / "one.stats.json").read_text()) == stats
    assert format_stats({**stats, "excluded": 3}).splitlines() == [
        "one: 1 rows written, 0 skipped, 3 excluded as benchmark items",
        "  format perception               1",  # names in 18 columns, counts in 7
        "  source s1                       1",
    ]
    with pytest.raises(
        ValueError, match=r"images must be one of \('copy', 'hardlink', 'symlink'\), got 'move'"
    ):
        build_sft_dataset([rows_dir / "one.jsonl"], out, images="move")


def test_image_root_resolves_relative_images_and_the_stats_file_names_the_inputs(rows_dir, tmp_path):
    """Records kept apart from their images (``--image-root``): paths resolve against the root, not the
    records file's folder; the stats written beside the data set say which files were read."""
    recs_dir = tmp_path / "records"
    recs_dir.mkdir()
    src = _write_jsonl(recs_dir / "recs.jsonl", GOOD[:2])
    with pytest.raises(RecordError, match=r"img/a\.png"):  # next to the records: no img/ there
        build_sft_dataset([src], tmp_path / "no_root")
    out = tmp_path / "sft"
    stats = build_sft_dataset([src], out, image_root=rows_dir)
    assert stats["rows"] == 2 and stats["inputs"] == [str(src)]
    assert json.loads((out / "avr_sft.stats.json").read_text()) == stats
    data = json.loads((out / "avr_sft.json").read_text())
    assert (out / data[0]["images"][0]).read_bytes() == (rows_dir / "img" / "a.png").read_bytes()


def test_no_valid_row_is_an_error_naming_the_inputs_and_the_counts(rows_dir, tmp_path):
    src = _write_jsonl(rows_dir / "bad.jsonl", [{"image": "img/a.png", "question": "q?"}, "{not json"])
    with pytest.raises(ValueError) as e:
        build_sft_dataset([src], tmp_path / "sft", on_error="skip")
    assert str(e.value) == f"no valid rows in {src} (2 skipped, 0 excluded)"
    assert not (tmp_path / "sft" / "avr_sft.json").exists()


def test_instruction_puts_the_format_description_into_every_prompt(rows_dir, tmp_path):
    from avr.formats import build_prompt

    src = _write_jsonl(rows_dir / "recs.jsonl", GOOD[:1])
    build_sft_dataset([src], tmp_path / "plain")
    build_sft_dataset([src], tmp_path / "instr", instruction=True)
    plain = json.loads((tmp_path / "plain" / "avr_sft.json").read_text())[0]["messages"][0]["content"]
    instr = json.loads((tmp_path / "instr" / "avr_sft.json").read_text())[0]["messages"][0]["content"]
    assert plain == build_prompt("Colour?", None, n_images=1, instruction=False)
    assert instr == build_prompt("Colour?", None, n_images=1, instruction=True) != plain
