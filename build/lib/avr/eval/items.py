"""The one shape every benchmark loader returns, so modes, scoring and reports never see a layout."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any


@dataclass
class EvalItem:
    """One benchmark question.

    ``answers`` holds every acceptable ground truth (first = canonical). For multiple choice,
    ``choices`` holds the option texts in order and ``answers`` the gold option *text or letter*;
    ``avr.grading.is_correct`` accepts either. ``answer_type``/``precision``/``unit`` carry the
    benchmark's own metadata (MathVista has all three) so that scoring can honour it.
    """

    id: str  # unique within the benchmark; predictions.jsonl is keyed by (benchmark, id)
    benchmark: str
    question: str
    images: list[bytes]  # encoded image files (PNG/JPEG/...), decoded only by the backend
    answers: list[str]
    choices: list[str] | None = None
    # "multi_choice" | "integer" | "float" | "text" | "list" | "yes_no" | "letters" (LogicVista) | None
    answer_type: str | None = None
    precision: int | None = None  # decimal places for float answers (MathVista)
    unit: str | None = None  # e.g. "cm"; stripped from predictions before grading
    meta: dict[str, Any] = field(default_factory=dict)  # subject, category, split... for breakdowns
    # the options' letters when they are not A, B, C... in order: a VLMEvalKit row whose column C is
    # empty but D is not has options A, B, D (None: lettered in order)
    option_letters: list[str] | None = None

    def image_hashes(self) -> list[str]:
        """sha256 of each image's bytes: the key of the training-set leakage guard."""
        return [hashlib.sha256(b).hexdigest() for b in self.images]
