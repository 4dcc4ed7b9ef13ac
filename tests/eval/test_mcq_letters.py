"""Multiple choice is decided by letter, as VLMEvalKit decides it.

VLMEvalKit ``vlmeval/dataset/utils/multiple_choice.py`` ``eval_vanilla``: ``can_infer`` (matching_util)
infers one option letter from the response (the letter first, ``can_infer_option``; an option's text
only when no letter is found, ``can_infer_text``), and the hit is ``opt == item['GT']``: the gold
letter of the ``answer`` column. MathVista (``utils/mathvista.py`` ``post_check``) compares with
``answer_option``. So an option whose *text* is a letter (AI2D's "which label is ...?" items) or
repeats another option's text (MathVista) never changes which letter is right.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from avr.eval.benchmarks import load_benchmark
from tests.eval.vlmevalkit_layout import b64, png, scored, write_tsv

MCQ_HEADER = ["index", "question", "hint", "A", "B", "C", "D", "answer", "category", "l2-category", "image"]
# AI2D "which label ...?": the options are themselves letters; the gold letter B names option B ("C")
LABELS = ["Which label shows the larva?", "", "K", "C", "J", "B", "B", "life cycles", "", b64()]


@pytest.mark.parametrize("profile", ["vlmevalkit", "official"])
def test_ai2d_tsv_letter_options_right_letter_is_right(tmp_path, profile):
    f = write_tsv(tmp_path / "AI2D_TEST.tsv", MCQ_HEADER, [["0", *LABELS]])
    (item,) = load_benchmark(f"ai2d={f}")
    assert scored(item, "B", profile)["correct"]  # the gold letter
    assert scored(item, "(B)", profile)["correct"]


@pytest.mark.parametrize("profile", ["vlmevalkit", "official", "strict"])
def test_ai2d_tsv_letter_options_wrong_letter_is_wrong(tmp_path, profile):
    f = write_tsv(tmp_path / "AI2D_TEST.tsv", MCQ_HEADER, [["0", *LABELS]])
    (item,) = load_benchmark(f"ai2d={f}")
    wrong = scored(item, "D", profile)  # option D's text is "B": the gold letter, not the gold option
    assert not wrong["correct"] and not wrong["needs_judge"]


def test_ai2d_parquet_letter_options(tmp_path):
    """lmms-lab/ai2d: the gold is the 0-based option index ("1" = B)."""
    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    schema = pa.schema(
        [
            ("question", pa.string()),
            ("options", pa.list_(pa.string())),
            ("answer", pa.string()),
            ("image", image),
        ]
    )
    row = {
        "question": LABELS[0],
        "options": ["K", "C", "J", "B"],
        "answer": "1",
        "image": {"bytes": png(), "path": "x.png"},
    }
    (tmp_path / "data").mkdir()
    pq.write_table(
        pa.Table.from_pylist([row], schema=schema), tmp_path / "data" / "test-00000-of-00001.parquet"
    )
    (item,) = load_benchmark(f"ai2d={tmp_path}")
    for profile in ("vlmevalkit", "official"):
        assert scored(item, "B", profile)["correct"]
        assert not scored(item, "D", profile)["correct"]


def test_mmstar_tsv_letter_options(tmp_path):
    f = write_tsv(tmp_path / "MMStar.tsv", MCQ_HEADER, [
        ["3", "Which mark is the anchor?", "", "D", "A", "B", "C", "A", "coarse perception", "image scene", b64()],
    ])  # fmt: skip
    (item,) = load_benchmark(f"mmstar={f}")
    for profile in ("vlmevalkit", "official"):
        assert scored(item, "A", profile)["correct"]
        assert not scored(item, "B", profile)["correct"]  # option B's text is "A"


MATHVISTA_HEADER = [
    "index", "question", "answer", "choices", "answer_option", "question_type", "answer_type",
    "precision", "unit", "task", "skills", "image",
]  # fmt: skip
# testmini pid 781's shape: two options read "18"; answer_option says which one is the gold
REPEATED = ["781", "How many?", "18", "['9', '12', '18', '18']", "C", "multi_choice", "text", "", "",
            "figure question answering", "['arithmetic reasoning']", b64()]  # fmt: skip


def test_mathvista_tsv_answer_option_decides_between_repeated_options(tmp_path):
    f = write_tsv(tmp_path / "MathVista_MINI.tsv", MATHVISTA_HEADER, [REPEATED])
    (item,) = load_benchmark(f"mathvista={f}")
    assert scored(item, "C")["correct"]
    other = scored(item, "D")  # the same text, the other letter: post_check compares answer_option
    assert not other["correct"] and not other["needs_judge"]


def test_mathvista_official_stays_text_based(tmp_path):
    """lupantech/MathVista calculate_score.py: the letter becomes its option's text, compared with the
    gold text, so either "18" is right there: the authors' rule is not letter-based."""
    f = write_tsv(tmp_path / "MathVista_MINI.tsv", MATHVISTA_HEADER, [REPEATED])
    (item,) = load_benchmark(f"mathvista={f}")
    assert scored(item, "C", "official")["correct"] and scored(item, "D", "official")["correct"]
