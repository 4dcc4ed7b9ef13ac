"""The VLMEvalKit TSV read as VLMEvalKit reads it.

- ``vlmeval/smp/file.py`` ``load``: ``pd.read_csv(f, sep='\\t')``, so pandas' default NA strings
  ("None", "NA", "nan", "N/A", "NULL", ...) are missing values, like an empty cell.
- ``vlmeval/dataset/image_base.py`` ``ImageBaseDataset.__init__``: an image cell of 64 characters or
  fewer is the ``index`` of the row holding the image, anywhere in the file.
- ``utils/multiple_choice.py`` ``build_choices`` and ``ImageMCQDataset.build_prompt``: every letter
  column that is not NaN is an option; an empty letter does not end the list.
- ``eval_vanilla``: the hit is ``opt == GT``; a gold letter that is no option is a miss, and the row
  stays in the accuracy's denominator.
- lupantech/MathVista ``evaluation/extract_answer.py``: the GPT extractor returns the value without
  the item's unit ("5 cm" -> "5"), which ``calculate_score.py`` then compares.
"""

from __future__ import annotations

from avr.eval.benchmarks import load_benchmark
from avr.eval.modes import _request
from avr.formats import build_prompt
from tests.eval.vlmevalkit_layout import b64, scored, write_tsv

HEADER = ["index", "question", "hint", "A", "B", "C", "D", "E", "answer", "category", "image"]


def test_an_image_may_be_the_index_of_a_later_row(tmp_path):
    f = write_tsv(tmp_path / "MMStar.tsv", HEADER, [
        ["10", "First?", "", "x", "y", "", "", "", "A", "c", "11"],  # the image of row 11, below
        ["11", "Second?", "", "x", "y", "", "", "", "B", "c", b64((0, 0, 255))],
        ["12", "Third?", "", "x", "y", "", "", "", "B", "c", "10"],  # a reference to a reference
    ])  # fmt: skip
    items = load_benchmark(f"mmstar={f}")
    assert [i.id for i in items] == ["10", "11"] and items[0].images == items[1].images
    (bad,) = items.skipped
    assert bad.row == 4 and "'10'" in bad.reason


def test_every_option_column_that_is_not_nan_counts(tmp_path):
    f = write_tsv(tmp_path / "MMStar.tsv", HEADER, [
        ["0", "Which?", "", "red", "blue", "", "green", "", "D", "c", b64()],
    ])  # fmt: skip
    (item,) = load_benchmark(f"mmstar={f}")
    assert item.choices == ["red", "blue", "green"] and item.option_letters == ["A", "B", "D"]
    req = _request(item, False)
    prompt = build_prompt(req.question, req.choices)
    assert prompt.endswith("Question: Which?\nOptions:\nA. red\nB. blue\nD. green")
    assert scored(item, "D")["correct"] and scored(item, "green")["correct"]
    assert not scored(item, "C")["correct"] and not scored(item, "A")["correct"]
    assert scored(item, "D", "strict")["correct"] and not scored(item, "A", "strict")["correct"]


def test_pandas_na_strings_are_empty_cells(tmp_path):
    f = write_tsv(tmp_path / "AI2D_TEST.tsv", HEADER, [
        ["0", "Which?", "None", "x", "y", "NA", "nan", "N/A", "B", "NULL", b64()],
    ])  # fmt: skip
    (item,) = load_benchmark(f"ai2d={f}")
    assert item.question == "Which?"  # no "Hint: None"
    assert item.choices == ["x", "y"] and "category" not in item.meta


def test_a_gold_letter_that_is_no_option_is_a_miss_not_a_skipped_row(tmp_path):
    f = write_tsv(tmp_path / "MMStar.tsv", HEADER, [
        ["0", "Which?", "", "x", "y", "", "", "", "E", "c", b64()],
        ["1", "Which?", "", "x", "y", "", "", "", "A", "c", b64()],
    ])  # fmt: skip
    items = load_benchmark(f"mmstar={f}")
    assert [i.id for i in items] == ["0", "1"] and not items.skipped
    for answer in ("E", "A", "x", "I cannot tell"):
        row = scored(items[0], answer)
        assert not row["correct"] and not row["needs_judge"]


MATHVISTA_HEADER = [
    "index", "question", "answer", "choices", "question_type", "answer_type", "precision", "unit", "image",
]  # fmt: skip


def test_mathvista_official_drops_the_items_unit(tmp_path):
    f = write_tsv(tmp_path / "MathVista_MINI.tsv", MATHVISTA_HEADER, [
        ["1", "How long is the bar?", "5", "[]", "free_form", "integer", "", "cm", b64()],
        ["2", "How long is the rod?", "2.5", "[]", "free_form", "float", "1.0", "m", b64()],
    ])  # fmt: skip
    bar, rod = load_benchmark(f"mathvista={f}")
    assert scored(bar, "5 cm", "official")["correct"] and scored(bar, "5cm", "official")["correct"]
    assert scored(rod, "2.5 m", "official")["correct"]
    assert not scored(bar, "6 cm", "official")["correct"]
    assert not scored(bar, "5 m", "official")["correct"]  # another unit is not dropped
    vlm = scored(bar, "5 cm")  # post_check: int("5 cm") fails, so VLMEvalKit asks its GPT extractor
    assert not vlm["correct"] and vlm["needs_judge"]
