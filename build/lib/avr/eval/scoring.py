"""Score saved predictions: format, extracted answer, correctness. No model needed.

Inference and scoring are separate steps (as in VLMEvalKit): ``predictions.jsonl`` keeps the gold
fields of each item, so ``avr eval score RUN --scoring PROFILE`` can re-grade after a grader, judge
or profile change.

A scoring profile picks whose rule decides: ``vlmevalkit`` (default; the paper's toolkit),
``official`` (the benchmark authors' own scorer) or ``strict`` (the training grader, for diagnosis).
Each benchmark's module holds its rules (``avr.eval.benchmarks``). Where the reference asks a GPT
judge and none is given, the rule's verdict stands and the item is counted (``needs_judge``).

A malformed response still gets its answer graded when one can be found (a lone ``<answer>`` block,
then a ``\\boxed{}``), because accuracy should measure the answer and the malformed rate the
format; the two are reported separately.
"""

from __future__ import annotations

import json
import re
import urllib.request
from dataclasses import dataclass
from typing import Any

from avr.formats import parse

PROFILES = ("vlmevalkit", "official", "strict")
DEFAULT_PROFILE = "vlmevalkit"

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


@dataclass
class Judge:
    """An optional LLM judge on an OpenAI-compatible endpoint.

    Asked only where the profile's reference would ask its GPT judge and the rule said no; never
    required. The prompt is ours (is the candidate right, given the reference answers?), not the
    references' extraction prompts: the answer block already is the extracted answer.
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


def check_profile(profile: str) -> str:
    if profile not in PROFILES:
        raise ValueError(f"unknown scoring profile {profile!r}; use one of {', '.join(PROFILES)}")
    return profile


def score_prediction(
    pred: dict[str, Any], *, judge: Judge | None = None, profile: str = DEFAULT_PROFILE
) -> dict[str, Any]:
    """Add ``format``, ``answer``, ``correct``, ``scoring`` and how the verdict came about to one row:
    ``needs_judge`` (the reference would ask a judge; the rule decided), ``judged`` (ours was asked),
    ``grading_timeouts`` / ``grading_unresolved`` (math-verify missed its deadline, then its retry)."""
    from avr.eval.benchmarks import score

    check_profile(profile)
    fmt, answer = extract_answer(pred.get("response", ""))
    correct = needs_judge = judged = unresolved = False
    timeouts = 0
    if answer:
        verdict = score(answer, pred, profile)
        correct, needs_judge = verdict.correct, verdict.needs_judge
        timeouts, unresolved = verdict.timeouts, verdict.unresolved
        if needs_judge and not correct and judge is not None:
            gold = pred.get("gold") or {}
            golds = [str(a) for a in gold.get("answers") or []]
            correct, judged, needs_judge = judge(pred.get("question", ""), answer, golds), True, False
    return {
        **pred,
        "format": fmt,
        "answer": answer,
        "correct": bool(correct),
        "scoring": profile,
        "needs_judge": bool(needs_judge),
        "judged": judged,
        "grading_timeouts": timeouts,
        "grading_unresolved": bool(unresolved),
    }
