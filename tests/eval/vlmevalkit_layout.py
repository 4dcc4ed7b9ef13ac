"""Helpers for the tests under tests/eval: VLMEvalKit TSV files written by hand, and predictions
scored through the same path ``avr eval score`` takes.

A VLMEvalKit TSV is what pandas ``DataFrame.to_csv(sep="\\t", index=False)`` writes: a header line,
then one line a row, tab-separated, an empty cell for NaN, images as base64 PNG/JPEG. The cells are
given here exactly as they appear in the file, so a test shows what the reader is handed.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

from PIL import Image

from avr.eval.items import EvalItem
from avr.eval.modes import Mode
from avr.eval.runner import _prediction
from avr.eval.scoring import score_prediction


def png(color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (6, 4), color).save(buf, format="PNG")
    return buf.getvalue()


def b64(color: tuple[int, int, int] = (200, 30, 30)) -> str:
    """An image cell: a base64 PNG (always longer than the 64 characters of an index reference)."""
    return base64.b64encode(png(color)).decode()


def write_tsv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    """The file byte for byte: the header, then each row's cells joined by tabs."""
    assert all(len(r) == len(header) for r in rows), "every row has one cell per column"
    lines = ["\t".join(header), *("\t".join(r) for r in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def prediction(item: EvalItem, answer: str) -> dict[str, Any]:
    """The predictions.jsonl row `avr eval` writes for an item the model answered with ``answer``."""
    out = {"response": f"<answer>{answer}</answer>", "tokens": 1, "levels": 1}
    return _prediction(item, out, Mode("adaptive"))


def scored(item: EvalItem, answer: str, profile: str = "vlmevalkit", judge: Any = None) -> dict[str, Any]:
    return score_prediction(prediction(item, answer), profile=profile, judge=judge)
