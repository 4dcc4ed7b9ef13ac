"""Score saved predictions: format, extracted answer, correctness. No model needed.

Inference and scoring are separate steps (as in VLMEvalKit): ``predictions.jsonl`` keeps the gold
fields of each item, so ``avr eval score RUN --scoring PROFILE`` can re-grade after a grader, judge
or profile change.

A scoring profile picks whose rule decides: ``vlmevalkit`` (default; the paper's toolkit),
``official`` (the benchmark authors' own scorer) or ``strict`` (the training grader, for diagnosis).
Each benchmark's module holds its rules (``avr.eval.benchmarks``). Where the reference asks a GPT
judge and none is given, the rule's verdict stands and the item is counted (``needs_judge``). A
judge that gives no verdict after its tries is never a "no": the item is ``judge_failed``, counted
apart, and the re-score goes on (docs/evaluation.md, "The judge").

A malformed response still gets its answer graded when one can be found (a lone ``<answer>`` block,
then a ``\\boxed{}``), because accuracy should measure the answer and the malformed rate the
format; the two are reported separately.
"""

from __future__ import annotations

import http.client
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
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


MAX_REPLY_BYTES = 1 << 20  # a chat completion of a few tokens; a larger body is not a judge's reply


class JudgeFailed(RuntimeError):
    """The judge gave no verdict after its tries; the message names the judge's URL and the last reason."""


def _sleep(seconds: float) -> None:
    """The backoff's wait (a module function, so that tests replace it and never wait)."""
    time.sleep(seconds)


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> bytes:
    req = urllib.request.Request(url, data=body, headers=headers)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read(MAX_REPLY_BYTES)


def _failure(e: Exception, timeout: float) -> str:
    """Why one call gave no reply, in words."""
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code} {e.reason}"
    if isinstance(e, TimeoutError):
        return f"no reply within {timeout:g} s"
    if isinstance(e, urllib.error.URLError):
        return f"cannot reach it ({e.reason})"
    return f"{type(e).__name__}: {e}"


def _content(raw: bytes) -> str | None:
    """The reply text of an OpenAI chat completion body; raises ValueError when the body is not one."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError(f"the body is not JSON ({raw[:60]!r})") from None
    try:
        content = data["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise ValueError(f"the body has no choices[0].message.content ({raw[:60]!r})") from None
    return content if isinstance(content, str) else None


@dataclass
class Judge:
    """An optional LLM judge on an OpenAI-compatible endpoint.

    Asked only where the profile's reference would ask its GPT judge and the rule said no; never
    required. The prompt is ours (is the candidate right, given the reference answers?), not the
    references' extraction prompts: the answer block already is the extracted answer.

    A call that fails (HTTP error, timeout, a body that is not a chat completion) or replies with
    neither yes nor no ("I am not sure.") is tried again, up to ``tries`` calls, waiting
    ``backoff`` seconds and doubling; each try raises the temperature by 0.5, as VLMEvalKit's judge
    retries do (``YOrN_auxeval``, ``MathVista_auxeval``: ``temperature=0.5 * i``), since the same
    prompt at temperature 0 gives the same non-answer. Then ``JudgeFailed``, never a "no". After
    ``give_up_after`` items in a row without a verdict (a dead endpoint), later items fail at once
    instead of each costing its tries.
    """

    url: str  # base URL, e.g. http://localhost:8000/v1
    model: str
    api_key: str = "EMPTY"
    timeout: float = 30.0
    tries: int = 3
    backoff: float = 2.0  # seconds before the second call; doubled before each later one
    give_up_after: int = 10  # items in a row without a verdict before the judge is no longer asked
    sleep: Callable[[float], None] | None = None  # default: time.sleep
    post: Callable[[str, bytes, dict[str, str], float], bytes] | None = None  # default: urllib
    failed_in_a_row: int = field(default=0, init=False, repr=False)

    def prompt(self, question: str, answer: str, golds: list[str]) -> str:
        return (
            "You grade answers to a visual question. Reply with exactly one word: yes or no.\n"
            f"Question: {question}\nReference answer(s): {' | '.join(golds)}\nCandidate answer: {answer}\n"
            "Is the candidate answer correct?"
        )

    def __call__(self, question: str, answer: str, golds: list[str]) -> bool:
        """The judge's verdict; ``JudgeFailed`` when there is none."""
        if self.give_up_after and self.failed_in_a_row >= self.give_up_after:
            raise JudgeFailed(
                f"judge at {self.url}: not asked; the last {self.failed_in_a_row} items got no verdict"
            )
        prompt, last = self.prompt(question, answer, golds), ""
        for attempt in range(max(1, self.tries)):
            if attempt:
                (self.sleep or _sleep)(self.backoff * 2 ** (attempt - 1))
            verdict, last = self._ask(prompt, temperature=min(2.0, 0.5 * attempt))
            if verdict is not None:
                self.failed_in_a_row = 0
                return verdict
        self.failed_in_a_row += 1
        raise JudgeFailed(f"judge at {self.url}: no verdict after {max(1, self.tries)} tries (last: {last})")

    def _ask(self, prompt: str, temperature: float) -> tuple[bool | None, str]:
        """(verdict, why not): one call, its failure caught and put in words."""
        from avr.eval.rules import yes_no

        body = json.dumps(
            {
                "model": self.model,
                "messages": [{"role": "user", "content": prompt}],
                "temperature": temperature,
                "max_tokens": 4,
            }
        ).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"}
        try:
            raw = (self.post or _post)(
                self.url.rstrip("/") + "/chat/completions", body, headers, self.timeout
            )
            reply = _content(raw)
        except ValueError as e:
            return None, str(e)
        except (OSError, http.client.HTTPException) as e:  # URLError, HTTPError, timeouts are OSErrors
            return None, _failure(e, self.timeout)
        said = yes_no(reply) if reply else None  # VLMEvalKit's YOrN_Extraction
        if said is None:
            return None, f"reply {reply!r} is not a yes or no"
        return said == "Yes", ""


def check_profile(profile: str) -> str:
    if profile not in PROFILES:
        raise ValueError(f"unknown scoring profile {profile!r}; use one of {', '.join(PROFILES)}")
    return profile


def score_prediction(
    pred: dict[str, Any], *, judge: Judge | None = None, profile: str = DEFAULT_PROFILE
) -> dict[str, Any]:
    """Add ``format``, ``answer``, ``correct``, ``scoring`` and how the verdict came about to one row:
    ``needs_judge`` (the reference would ask a judge; none was given, the rule decided), ``judged``
    (ours was asked and answered), ``judge_failed`` / ``judge_error`` (ours was asked and gave no
    verdict: not correct, counted apart), ``grading_timeouts`` / ``grading_unresolved`` (math-verify
    missed its deadline, then its retry)."""
    from avr.eval.benchmarks import score

    check_profile(profile)
    fmt, answer = extract_answer(pred.get("response", ""))
    correct = needs_judge = judged = judge_failed = unresolved = False
    judge_error = None
    timeouts = 0
    if answer:
        verdict = score(answer, pred, profile)
        correct, needs_judge = verdict.correct, verdict.needs_judge
        timeouts, unresolved = verdict.timeouts, verdict.unresolved
        if needs_judge and not correct and judge is not None:
            gold = pred.get("gold") or {}
            golds = [str(a) for a in gold.get("answers") or []]
            needs_judge = False
            try:
                correct, judged = judge(pred.get("question", ""), answer, golds), True
            except JudgeFailed as e:
                judge_failed, judge_error = True, str(e)
    return {
        **pred,
        "format": fmt,
        "answer": answer,
        "correct": bool(correct),
        "scoring": profile,
        "needs_judge": bool(needs_judge),
        "judged": judged,
        "judge_failed": judge_failed,
        "judge_error": judge_error,
        "grading_timeouts": timeouts,
        "grading_unresolved": bool(unresolved),
    }
