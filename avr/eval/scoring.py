"""Score saved predictions: format, extracted answer, correctness. No model needed.

Inference and scoring are separate steps (as in VLMEvalKit): ``predictions.jsonl`` keeps the gold
fields of each item, so ``avr eval score RUN`` can re-grade after a grader or judge change.

A malformed response still gets its answer graded when one can be found (a lone ``<answer>`` block,
then a ``\\boxed{}``), because accuracy should measure the answer and the malformed rate the
format; the two are reported separately.
"""

from __future__ import annotations

import json
import re
import urllib.request
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from avr.formats import parse
from avr.grading import is_correct, parse_number

_BOXED = re.compile(r"\\boxed\{")


def _last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}``, braces balanced (bounded by the text length)."""
    starts = [m.end() for m in _BOXED.finditer(text)]
    if not starts:
        return None
    i = start = starts[-1]
    depth = 1
    while i < len(text):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[start:i].strip()
        i += 1
    return None


def extract_answer(response: str) -> tuple[int, str | None]:
    """(format, answer). Format 0 = malformed; its answer is a best effort, or None."""
    p = parse(response)
    if p.valid:
        return p.format, p.answer
    text = response or ""
    # exactly one answer block: counted with str.count, linear in the length of untrusted output
    if text.count("<answer>") == 1 and text.count("</answer>") == 1:
        start, end = text.index("<answer>") + len("<answer>"), text.index("</answer>")
        if start <= end and text[start:end].strip():
            return 0, text[start:end].strip()
    boxed = _last_boxed(response or "")
    return 0, boxed or None


def _apply_metadata(answer: str, gold: dict[str, Any]) -> str:
    """Honour the benchmark's answer metadata: strip the unit, round floats to the stated precision."""
    unit = (gold.get("unit") or "").strip()
    if unit and answer.lower().endswith(unit.lower()):
        answer = answer[: -len(unit)].strip()
    kind = gold.get("answer_type")
    if kind in ("float", "integer"):
        num = parse_number(answer)
        if num is not None:
            value: Fraction = num[0]
            if kind == "integer" and value.denominator == 1:
                return str(value.numerator)
            precision = gold.get("precision")
            if kind == "float" and precision is not None:
                return f"{float(value):.{int(precision)}f}"
    return answer


def _gold_answers(gold: dict[str, Any]) -> list[str]:
    answers = [str(a) for a in gold.get("answers") or []]
    if gold.get("answer_type") == "float" and gold.get("precision") is not None:
        rounded = []
        for a in answers:
            num = parse_number(a)
            rounded.append(f"{float(num[0]):.{int(gold['precision'])}f}" if num else a)
        answers = rounded + [a for a in answers if a not in rounded]
    return answers


def _relaxed_match(answer: str, golds: list[str], tol: float) -> bool:
    """ChartQA's relaxed accuracy: a number within ``tol`` (relative) of a numeric gold answer."""
    pred = parse_number(answer.rstrip("%").strip())
    if pred is None:
        return False
    for g in golds:
        gold = parse_number(g.rstrip("%").strip())
        if gold is not None and abs(pred[0] - gold[0]) <= abs(gold[0]) * Fraction(tol).limit_denominator(
            10**6
        ):
            return True
    return False


def _contains_match(answer: str, golds: list[str], *, math: bool = False) -> bool:
    """OCRBench's rule: a gold text inside the answer, case-insensitive (math: whitespace ignored too)."""

    def norm(x: str) -> str:
        x = x.strip().lower()
        return "".join(x.split()) if math else " ".join(x.split())

    a = norm(answer)
    return any(norm(g) and norm(g) in a for g in golds)


@dataclass
class Judge:
    """An optional LLM judge on an OpenAI-compatible endpoint, for free-form answers only.

    Asked only when the rule-based grader says no and the item has no options; never required.
    """

    url: str  # base URL, e.g. http://localhost:8000/v1
    model: str
    api_key: str = "EMPTY"
    timeout: float = 30.0

    def __call__(self, question: str, answer: str, golds: list[str]) -> bool:
        prompt = (
            "You grade answers to a visual question. Reply with exactly one word: yes or no.\n"
            f"Question: {question}\nReference answer(s): {' | '.join(golds)}\nCandidate answer: {answer}\n"
            "Is the candidate answer correct?"
        )
        body = json.dumps(
            {
                "model": self.model,
                "messages": [{"role": "user", "content": prompt}],
                "temperature": 0,
                "max_tokens": 4,
            }
        ).encode()
        req = urllib.request.Request(
            self.url.rstrip("/") + "/chat/completions",
            data=body,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"},
        )
        with urllib.request.urlopen(req, timeout=self.timeout) as r:
            reply = json.loads(r.read())["choices"][0]["message"]["content"]
        return reply.strip().lower().startswith("yes")


def score_prediction(pred: dict[str, Any], *, judge: Judge | None = None) -> dict[str, Any]:
    """Add ``format``, ``answer``, ``correct`` (and ``judged``) to one prediction row."""
    fmt, answer = extract_answer(pred.get("response", ""))
    gold = pred.get("gold", {})
    golds = _gold_answers(gold)
    choices = gold.get("choices")
    correct = False
    judged = False
    if answer:
        correct = is_correct(_apply_metadata(answer, gold), golds, choices)
        meta = pred.get("meta") or {}
        if not correct and meta.get("relaxed_tolerance"):
            correct = _relaxed_match(answer, golds, float(meta["relaxed_tolerance"]))
        if not correct and meta.get("match") == "contains":
            correct = _contains_match(answer, golds, math=meta.get("dataset") == "HME100k")
        if not correct and judge is not None and not choices:
            correct, judged = judge(pred.get("question", ""), answer, golds), True
    return {**pred, "format": fmt, "answer": answer, "correct": bool(correct), "judged": judged}
