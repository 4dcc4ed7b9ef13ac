"""The --exclude guard: training rows that are benchmark items never reach the SFT or RL set."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from avr.data.exclude import LeakageIndex, normalize_question
from avr.data.records import read_records
from avr.data.rl import build_rl_dataset
from avr.data.sft import build_sft_dataset
from avr.eval.items import EvalItem


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("<image 1> What is the   area of the shaded region?", "what is the area of the shaded region"),
        ("What is the AREA of the shaded region?!", "What is the area of the shaded region"),
    ],
)
def test_question_normalisation(a, b):
    assert normalize_question(a) == normalize_question(b)


def _jpeg(rec) -> bytes:
    """The record's image re-encoded and resized: other bytes, same picture."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.open(io.BytesIO(rec.images[0].data)).convert("RGB").resize((200, 200)).save(buf, format="JPEG")
    return buf.getvalue()


def _index(records_path, leak_rows: list[int], long_question: str) -> LeakageIndex:
    recs, _ = read_records([records_path])
    items = [
        EvalItem(id=f"bench-{i}", benchmark="mathvista", question="unrelated", images=[recs[i].images[0].data],
                 answers=["1"])
        for i in leak_rows
    ]  # fmt: skip
    items.append(
        EvalItem(id="q", benchmark="mathvision", question=long_question, images=[b"other"], answers=["x"])
    )
    reenc = EvalItem(
        id="reenc",
        benchmark="mathvista",
        question=recs[9].question,
        images=[_jpeg(recs[9])],
        answers=recs[9].answers,
    )
    items.append(reenc)
    items.append(
        EvalItem(
            id="short", benchmark="mathvision", question="What digit is shown?", images=[b"o"], answers=["x"]
        )
    )
    return LeakageIndex().add(items)


def test_builders_drop_leaked_rows_and_report_them(tmp_path, synthetic_records):
    rows = [json.loads(x) for x in synthetic_records.read_text().splitlines()]
    long_q = "<image 1>Which   colour has the MOST shapes in this picture, counting all of them?"
    rows[5]["question"] = "What digit is shown?"
    rows[7]["question"] = "Which colour has the most shapes in this picture counting all of them"
    path = synthetic_records.with_name("leaky.jsonl")
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recs, _ = read_records([path])
    # rows 0 and 3 share an image with the benchmark; row 7's question is a benchmark question;
    # row 9's image was re-encoded in the benchmark under the same (short) question; row 5's short
    # question, and every other row asking row 9's question, match no benchmark picture: kept
    index = _index(path, [0, 3], long_q)
    leaked_images = {recs[i].images[0].sha256 for i in (0, 3)}
    expected = {r.id for r in recs if r.images[0].sha256 in leaked_images} | {recs[7].id}
    # row 9's picture (and any row drawing the very same picture) under row 9's question
    expected |= {
        r.id
        for r in recs
        if r.question == recs[9].question
        and r.answers == recs[9].answers
        and r.images[0].data == recs[9].images[0].data
    }
    same_question = [r for r in recs if r.question == recs[9].question and r.id not in expected]
    assert same_question, "the fixture needs other rows asking row 9's question about other images"

    stats = build_sft_dataset([path], tmp_path / "sft", exclude=index)
    assert stats["excluded"] == len(expected) and stats["rows"] == len(recs) - len(expected)
    report = [json.loads(x) for x in (tmp_path / "sft" / "avr_sft.excluded.jsonl").read_text().splitlines()]
    assert {r["id"] for r in report} == expected
    by_id = {r["id"]: r for r in report}
    assert by_id[recs[0].id] == {"file": str(path), "row": 1, "id": recs[0].id, "reason": "image",
                                 "benchmark_item": "mathvista/bench-0"}  # fmt: skip
    assert by_id[recs[7].id]["reason"] == "question" and by_id[recs[7].id]["benchmark_item"] == "mathvision/q"
    assert by_id[recs[9].id]["reason"] == "question, answer and similar image"

    rl = build_rl_dataset([path], tmp_path / "rl", val_fraction=0.1, exclude=index)
    assert rl["excluded"] == len(expected) and rl["train"] + rl["val"] == len(recs) - len(expected)
    kept = pq.read_table(tmp_path / "rl" / "train.parquet").to_pylist()
    assert not {r["extra_info"]["id"] for r in kept} & expected
    # without --exclude nothing is dropped and a stale report goes away
    again = build_sft_dataset([path], tmp_path / "sft")
    assert again["excluded"] == 0 and not (tmp_path / "sft" / "avr_sft.excluded.jsonl").exists()
