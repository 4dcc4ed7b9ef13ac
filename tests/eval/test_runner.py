"""A run directory: resumed after a kill, pinned to its settings, written by one process."""

from __future__ import annotations

import pytest

from avr.eval.modes import Mode
from avr.eval.runner import PREDICTIONS, generate_predictions, read_predictions, run_eval
from avr.generation import Decoding
from tests.eval.helpers import Scripted, _item


def test_rerun_after_kill_resumes_without_repeating(tmp_path):
    items = [_item(i) for i in range(5)]
    be = Scripted(lambda req: ["<answer>4</answer>"])
    generate_predictions(be, items[:3], tmp_path, Mode("adaptive"), batch_size=1)
    with (tmp_path / PREDICTIONS).open("a") as f:
        f.write('{"benchmark": "fx", "id": "3", "resp')  # killed mid-line
    be2 = Scripted(lambda req: ["<answer>5</answer>"])
    assert generate_predictions(be2, items, tmp_path, Mode("adaptive"), batch_size=2) == 2
    assert [r.question for r in be2.requests] == ["q3", "q4"]
    preds = read_predictions(tmp_path / PREDICTIONS)
    assert [p["id"] for p in preds] == ["0", "1", "2", "3", "4"]
    assert generate_predictions(be2, items, tmp_path, Mode("adaptive")) == 0


def test_corrupt_line_in_the_middle_is_an_error_naming_it(tmp_path):
    (tmp_path / PREDICTIONS).write_text('{"id": 1}\nnot json\n{"id": 2}\n')
    with pytest.raises(ValueError, match=r"predictions.jsonl: line 2"):
        read_predictions(tmp_path / PREDICTIONS)


def test_run_dir_pins_mode_and_decoding(tmp_path):
    be = Scripted(lambda req: ["<answer>4</answer>"] * req.n)
    run_eval("m", [_item()], tmp_path, mode=Mode("adaptive"), backend_obj=be)
    with pytest.raises(ValueError, match="mode='adaptive'"):
        run_eval("m", [_item()], tmp_path, mode=Mode("forced", format=1), backend_obj=be)
    with pytest.raises(ValueError, match="decoding"):
        run_eval(
            "m",
            [_item()],
            tmp_path,
            mode=Mode("adaptive"),
            decoding=Decoding(max_new_tokens=7),
            backend_obj=be,
        )


def test_a_second_writer_of_the_same_run_dir_is_refused(tmp_path):
    from avr.io import exclusive_lock

    be = Scripted(lambda req: ["<answer>4</answer>"])
    with (
        exclusive_lock(tmp_path, "avr eval"),
        pytest.raises(RuntimeError, match="another avr eval is writing"),
    ):
        generate_predictions(be, [_item()], tmp_path, Mode("adaptive"))
    assert generate_predictions(be, [_item()], tmp_path, Mode("adaptive")) == 1  # released afterwards
