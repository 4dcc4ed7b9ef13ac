"""The benchmark-leakage guard behind ``--exclude``: no evaluation item may be trained on.

The authors' development pools held MathVista and MathVision items. A training row is dropped when

- one of its images is byte-identical to a benchmark image (sha256), or
- its normalised question and an answer equal a benchmark item's, and its image looks the same (a
  difference hash within ``MAX_HASH_DISTANCE`` bits: the item was re-encoded or resized), or
- its normalised question equals a benchmark question of at least ``MIN_QUESTION_WORDS`` words.

A question alone is not enough when it is short: templated questions ("How many red shapes are
there?") recur across unrelated images, and dropping every such row would remove real training data
for no protection, and a 64-bit hash cannot tell two renderings of one template apart (the same
shape with another digit on it); the answer can. Images are hashed perceptually only for rows whose question already matched, so
the guard stays cheap on large pools.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avr.eval.items import EvalItem
from avr.grading import normalize_text
from avr.records import Record

MIN_QUESTION_WORDS = 12
MAX_HASH_DISTANCE = 4
_PLACEHOLDER = re.compile(r"<image\s*\d*>", re.IGNORECASE)


def normalize_question(question: str) -> str:
    """Case, punctuation, whitespace and image placeholders removed."""
    return normalize_text(_PLACEHOLDER.sub(" ", question))


def dhash(data: bytes) -> int | None:
    """A 64-bit difference hash: survives re-encoding and resizing; None if the bytes do not decode."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            px = list(im.convert("L").resize((9, 8), Image.Resampling.BILINEAR).getdata())
    except Exception:
        return None
    bits = 0
    for row in range(8):
        for col in range(8):
            bits = (bits << 1) | (px[row * 9 + col] > px[row * 9 + col + 1])
    return bits


@dataclass
class LeakageIndex:
    images: dict[str, str] = field(default_factory=dict)  # sha256 -> "benchmark/id"
    # normalised question -> [("benchmark/id", dhash of each image, normalised answers)]
    questions: dict[str, list[tuple[str, list[int], set[str]]]] = field(default_factory=dict)

    def add(self, items: Iterable[EvalItem]) -> LeakageIndex:
        for it in items:
            ref = f"{it.benchmark}/{it.id}"
            for sha in it.image_hashes():
                self.images.setdefault(sha, ref)
            hashes = [h for h in map(dhash, it.images) if h is not None]
            answers = {normalize_text(a) for a in it.answers}
            self.questions.setdefault(normalize_question(it.question), []).append((ref, hashes, answers))
        return self

    def match(self, rec: Record) -> dict[str, str] | None:
        """Why ``rec`` leaks, or None."""
        for im in rec.images:
            if im.sha256 in self.images:
                return {"reason": "image", "benchmark_item": self.images[im.sha256]}
        q = normalize_question(rec.question)
        hits = self.questions.get(q)
        if not hits:
            return None
        if len(q.split()) >= MIN_QUESTION_WORDS:
            return {"reason": "question", "benchmark_item": hits[0][0]}
        answers = {normalize_text(a) for a in rec.answers}
        hits = [h for h in hits if h[2] & answers]
        mine = [h for h in (dhash(im.data) for im in rec.images) if h is not None] if hits else []
        for ref, theirs, _ in hits:
            if any((a ^ b).bit_count() <= MAX_HASH_DISTANCE for a in mine for b in theirs):
                return {"reason": "question, answer and similar image", "benchmark_item": ref}
        return None


def load_index(specs: list[str], *, data_dir: str | Path | None = None) -> LeakageIndex:
    """Index every item of the given benchmarks (``NAME`` or ``NAME=PATH``, as ``avr eval`` takes)."""
    from avr.eval.benchmarks import load_benchmark

    index = LeakageIndex()
    for spec in specs:
        index.add(load_benchmark(spec, data_dir=data_dir))
    return index


def drop_leaks(
    records: list[Record], index: LeakageIndex | None
) -> tuple[list[Record], list[dict[str, Any]]]:
    """(kept, dropped report rows naming file, row, id and the benchmark item matched)."""
    if index is None:
        return records, []
    kept, dropped = [], []
    for rec in records:
        hit = index.match(rec)
        if hit is None:
            kept.append(rec)
        else:
            dropped.append({"file": rec.file, "row": rec.row, "id": rec.id, **hit})
    return kept, dropped
