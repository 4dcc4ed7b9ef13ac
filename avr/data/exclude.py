"""The benchmark-leakage guard behind ``--exclude``: no evaluation item may be trained on.

The authors' development pools held MathVista and MathVision items. A training row is dropped when
one of its images is byte-identical to a benchmark image (sha256), or when its normalised question
equals a benchmark question. Questions match only from ``MIN_QUESTION_WORDS`` words up: short
generic questions ("What is x?") recur across unrelated images, and dropping every such row would
remove real training data for no protection.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avr.data.records import Record
from avr.eval.items import EvalItem
from avr.grading import normalize_text

MIN_QUESTION_WORDS = 6
_PLACEHOLDER = re.compile(r"<image\s*\d*>", re.IGNORECASE)


def normalize_question(question: str) -> str:
    """Case, punctuation, whitespace and image placeholders removed."""
    return normalize_text(_PLACEHOLDER.sub(" ", question))


@dataclass
class LeakageIndex:
    images: dict[str, str] = field(default_factory=dict)  # sha256 -> "benchmark/id"
    questions: dict[str, str] = field(default_factory=dict)  # normalised question -> "benchmark/id"

    def add(self, items: Iterable[EvalItem]) -> LeakageIndex:
        for it in items:
            ref = f"{it.benchmark}/{it.id}"
            for sha in it.image_hashes():
                self.images.setdefault(sha, ref)
            q = normalize_question(it.question)
            if len(q.split()) >= MIN_QUESTION_WORDS:
                self.questions.setdefault(q, ref)
        return self

    def match(self, rec: Record) -> dict[str, str] | None:
        """Why ``rec`` leaks, or None."""
        for im in rec.images:
            if im.sha256 in self.images:
                return {"reason": "image", "benchmark_item": self.images[im.sha256]}
        q = normalize_question(rec.question)
        if q in self.questions:
            return {"reason": "question", "benchmark_item": self.questions[q]}
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
