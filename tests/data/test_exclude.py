"""The --exclude guard: training rows that are benchmark items never reach the SFT or RL set."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from avr.data.exclude import LeakageIndex, normalize_question
from avr.data.rl import build_rl_dataset
from avr.data.sft import build_sft_dataset
from avr.eval.items import EvalItem
from avr.records import read_records


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


# ---------------------------------------------------------------------------------------------------
# The guard's two checks, each on its own: a look-alike must really look alike, and every image of a
# multi-image record (and of a multi-image benchmark item) is checked, not only the first.


def _picture(direction: str, size: int = 64, fmt: str = "PNG") -> bytes:
    """A grey ramp, darker to the right ("h") or to the bottom ("v"): two pictures a difference hash
    tells apart at once (64 bits apart), each surviving re-encoding and resizing."""
    import io

    from PIL import Image

    im = Image.new("L", (size, size))
    im.putdata(
        [255 - 255 * (x if direction == "h" else y) // (size - 1) for y in range(size) for x in range(size)]
    )
    buf = io.BytesIO()
    im.convert("RGB").save(buf, format=fmt)
    return buf.getvalue()


def _rec(question: str, answer: str, *images: bytes):
    import hashlib

    from avr.records import Image, Record

    ims = [Image(data=b, ext="png", sha256=hashlib.sha256(b).hexdigest()) for b in images]
    return Record(question=question, answers=[answer], images=ims, format=1, id="r")


SHORT_Q = "How many red shapes are there?"  # short: a question match alone does not count


def test_fixture_pictures_are_apart_and_reencodings_alike():
    from avr.data.exclude import MAX_HASH_DISTANCE, dhash

    ramp_h, ramp_v = dhash(_picture("h")), dhash(_picture("v"))
    reencoded = dhash(_picture("h", size=200, fmt="JPEG"))
    assert (ramp_h ^ ramp_v).bit_count() > MAX_HASH_DISTANCE
    assert (ramp_h ^ reencoded).bit_count() <= MAX_HASH_DISTANCE
    assert _picture("h") != _picture("h", size=200, fmt="JPEG")


def test_same_question_and_answer_on_another_picture_is_kept():
    """Catches a look-alike check that says "similar" for any two pictures."""
    index = LeakageIndex().add(
        [EvalItem(id="b1", benchmark="mathvista", question=SHORT_Q, images=[_picture("h")], answers=["3"])]
    )
    assert index.match(_rec(SHORT_Q, "3", _picture("v"))) is None
    hit = index.match(_rec(SHORT_Q, "3", _picture("h", size=200, fmt="JPEG")))
    assert hit == {"reason": "question, answer and similar image", "benchmark_item": "mathvista/b1"}
    assert index.match(_rec(SHORT_Q, "4", _picture("h", size=200, fmt="JPEG"))) is None  # other answer


def test_every_image_of_a_multi_image_record_is_checked():
    other = _picture("v")
    leaked = _picture("h")
    index = LeakageIndex().add(
        [EvalItem(id="b1", benchmark="mathvision", question="unrelated", images=[leaked], answers=["x"])]
    )
    assert index.match(_rec("What is shown?", "y", other)) is None
    assert index.match(_rec("What is shown?", "y", other, leaked)) == {
        "reason": "image",
        "benchmark_item": "mathvision/b1",
    }
    # the look-alike check too: the re-encoded benchmark picture is the record's second image
    index = LeakageIndex().add(
        [EvalItem(id="b2", benchmark="mathvista", question=SHORT_Q, images=[leaked], answers=["3"])]
    )
    second = _rec(SHORT_Q, "3", other, _picture("h", size=200, fmt="JPEG"))
    assert index.match(second) == {
        "reason": "question, answer and similar image",
        "benchmark_item": "mathvista/b2",
    }


def test_every_image_of_a_multi_image_benchmark_item_is_indexed():
    first, second = _picture("v"), _picture("h")
    index = LeakageIndex().add(
        [EvalItem(id="b3", benchmark="mmmu", question=SHORT_Q, images=[first, second], answers=["3"])]
    )
    assert index.match(_rec("Another question?", "z", second)) == {
        "reason": "image",
        "benchmark_item": "mmmu/b3",
    }
    hit = index.match(_rec(SHORT_Q, "3", _picture("h", size=200, fmt="JPEG")))
    assert hit == {"reason": "question, answer and similar image", "benchmark_item": "mmmu/b3"}


# ---------------------------------------------------------------------------------------------------
# The thresholds, on both sides: a question of MIN_QUESTION_WORDS words is enough alone, one word
# fewer is not; a difference hash MAX_HASH_DISTANCE bits away is the same picture, one bit more is not.


def _words(n: int) -> str:
    return " ".join(f"w{i}" for i in range(n)) + "?"


@pytest.mark.parametrize(("words", "dropped"), [(12, True), (11, False), (13, True)])
def test_a_question_alone_leaks_from_twelve_words(words, dropped):
    from avr.data.exclude import MIN_QUESTION_WORDS

    assert MIN_QUESTION_WORDS == 12
    index = LeakageIndex().add(
        [
            EvalItem(
                id="b", benchmark="mathvista", question=_words(words), images=[_picture("h")], answers=["1"]
            )
        ]
    )
    # another picture, another answer: only the question is the same
    hit = index.match(_rec("<image 1> " + _words(words).upper(), "2", _picture("v")))
    assert hit == ({"reason": "question", "benchmark_item": "mathvista/b"} if dropped else None)


@pytest.mark.parametrize(("bits", "dropped"), [(0, True), (4, True), (5, False), (64, False)])
def test_a_look_alike_is_within_four_bits(monkeypatch, bits, dropped):
    import avr.data.exclude as exclude

    assert exclude.MAX_HASH_DISTANCE == 4
    theirs, mine = b"benchmark picture", b"training picture"
    hashes = {theirs: 0xFFFF_FFFF_FFFF_FFFF, mine: 0xFFFF_FFFF_FFFF_FFFF ^ ((1 << bits) - 1)}
    monkeypatch.setattr(exclude, "dhash", lambda data: hashes.get(data))
    index = LeakageIndex().add(
        [EvalItem(id="b", benchmark="mathvista", question=SHORT_Q, images=[theirs], answers=["3"])]
    )
    hit = index.match(_rec(SHORT_Q, "3", mine))
    assert hit == (
        {"reason": "question, answer and similar image", "benchmark_item": "mathvista/b"} if dropped else None
    )
    assert index.match(_rec(SHORT_Q, "3", b"undecodable")) is None  # no hash: never alike


def test_an_answer_shared_with_any_acceptable_answer_counts(monkeypatch):
    import avr.data.exclude as exclude

    monkeypatch.setattr(exclude, "dhash", lambda data: 7)
    index = LeakageIndex().add(
        [EvalItem(id="b", benchmark="mathvista", question=SHORT_Q, images=[b"x"], answers=["three", "3"])]
    )
    rec = _rec(SHORT_Q, "The 3", b"y")  # normalised: "3"
    assert index.match(rec) == {
        "reason": "question, answer and similar image",
        "benchmark_item": "mathvista/b",
    }
    assert index.match(_rec(SHORT_Q, "4", b"y")) is None
    assert index.match(_rec("How many blue shapes are there?", "3", b"y")) is None  # another question


def test_the_first_benchmark_item_with_an_image_is_named():
    picture = _picture("h")
    index = LeakageIndex().add(
        [
            EvalItem(id="1", benchmark="mathvista", question="a", images=[picture], answers=["x"]),
            EvalItem(id="2", benchmark="mathvision", question="b", images=[picture], answers=["y"]),
        ]
    )
    assert index.match(_rec("c", "z", picture)) == {"reason": "image", "benchmark_item": "mathvista/1"}


def test_drop_leaks_reports_file_row_and_id():
    from avr.data.exclude import drop_leaks

    picture = _picture("h")
    index = LeakageIndex().add(
        [EvalItem(id="1", benchmark="mmmu", question="a", images=[picture], answers=["x"])]
    )
    leak, keep = _rec("q", "a", picture), _rec("q", "a", _picture("v"))
    leak.file, leak.row, leak.id = "train.jsonl", 7, "r7"
    assert drop_leaks([leak, keep], index) == (
        [keep],
        [{"file": "train.jsonl", "row": 7, "id": "r7", "reason": "image", "benchmark_item": "mmmu/1"}],
    )
    assert drop_leaks([leak], None) == ([leak], [])


def _png_of(pixels: list[tuple[int, int, int]], size: tuple[int, int]) -> bytes:
    import io

    from PIL import Image

    im = Image.new("RGB", size)
    im.putdata(pixels)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def test_dhash_bits_by_hand():
    """A 9 x 8 picture (no resizing) whose columns alternate green (grey 117) and red (grey 30): each
    pixel brighter than its right neighbour gives a 1, row by row from the top left: 10101010 x 8.
    In RGB order instead of grey, red would be the "larger" pixel and the bits would be 01010101."""
    from avr.data.exclude import dhash

    green, red = (0, 200, 0), (100, 0, 0)
    row = [green if c % 2 == 0 else red for c in range(9)]
    assert dhash(_png_of(row * 8, (9, 8))) == 0xAAAA_AAAA_AAAA_AAAA
    assert dhash(_png_of([(9, 9, 9)] * 72, (9, 8))) == 0  # flat: no pixel brighter than the next
    assert dhash(b"not an image") is None


def test_dhash_of_a_larger_picture_is_the_bilinear_9_by_8_grey_difference():
    """A reference computation written out here: grey, bilinear to 9 x 8, left brighter than right."""
    import io
    import random

    from PIL import Image

    from avr.data.exclude import dhash

    rng = random.Random(4)
    data = _png_of([tuple(rng.randrange(256) for _ in range(3)) for _ in range(40 * 30)], (40, 30))
    grey = Image.open(io.BytesIO(data)).convert("L").resize((9, 8), Image.Resampling.BILINEAR)
    px = list(grey.getdata())
    expected = int(
        "".join("1" if px[r * 9 + c] > px[r * 9 + c + 1] else "0" for r in range(8) for c in range(8)), 2
    )
    assert dhash(data) == expected
    other = Image.open(io.BytesIO(data)).convert("L").resize((9, 8), Image.Resampling.NEAREST)
    px = list(other.getdata())
    nearest = int(
        "".join("1" if px[r * 9 + c] > px[r * 9 + c + 1] else "0" for r in range(8) for c in range(8)), 2
    )
    assert nearest != expected  # the resampling filter shows in the bits of this picture


def test_load_index_reads_each_named_benchmark(tmp_path):
    from avr.data.exclude import load_index
    from tests.eval.vlmevalkit_layout import b64, write_tsv

    header = ["index", "question", "choices", "answer", "category", "level", "image"]
    f = write_tsv(tmp_path / "MathVision.tsv", header, [["4", "Area?", "[]", "12", "area", "2", b64()]])
    index = load_index([f"mathvision={f}"])
    assert list(index.questions) == ["area"] and index.questions["area"][0][0] == "mathvision/4"
    assert list(index.images.values()) == ["mathvision/4"]
    assert load_index([]).images == {}
