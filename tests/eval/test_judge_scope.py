"""The judge is asked only where the reference asks its GPT judge *after its own rule found nothing*.

A found option letter is final in VLMEvalKit: ``extract_answer_from_item`` (utils/multiple_choice.py:
MMStar, AI2D, MMMU, MMMU-Pro) returns ``can_infer``'s letter before any GPT call, and MathVista's and
MATH-V's ``post_check(prefetch=True)`` (utils/mathvista.py, utils/mathv.py) return the letter they
found, right or wrong, so ``*_auxeval`` never asks GPT for it. LogicVista's and MathVerse's GPT calls
extract letters and then compare them exactly (utils/logicvista.py ``LogicVista_auxeval``; MathVerse's
scoring prompt: a multiple-choice answer is consistent only when it "completely matches"), so a
letter already read that is not the gold cannot become right there either.

Each test uses a judge that says "yes" to everything: if a found wrong letter reached it, the item
would turn right.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest

from avr.eval.scoring import Judge, score_prediction


class _YesJudge(BaseHTTPRequestHandler):
    calls: ClassVar[list[str]] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls.append(body["messages"][0]["content"])
        data = json.dumps({"choices": [{"message": {"content": "yes"}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def yes_judge():
    server = HTTPServer(("127.0.0.1", 0), _YesJudge)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield Judge(f"http://127.0.0.1:{server.server_port}/v1", "judge-model", timeout=5)
    finally:
        server.shutdown()


def pred(bench: str, answer: str, gold: list[str], choices=None, meta=None, **extra: Any) -> dict[str, Any]:
    return {
        "benchmark": bench,
        "id": "1",
        "question": "Which one?",
        "response": f"<answer>{answer}</answer>",
        "gold": {
            "answers": gold,
            "choices": choices,
            "answer_type": "multi_choice" if choices else None,
            **extra,
        },
        "meta": meta or {},
    }


FOUR = ["egg", "larva", "pupa", "adult"]
MV_MC = {"question_type": "multi_choice", "answer_type": "text"}
CASES = {
    "mathvista (HF layout, gold text)": pred("mathvista", "A", ["larva"], FOUR, MV_MC),
    "mathvista (TSV, answer_option)": pred(
        "mathvista", "A", ["larva"], FOUR, {**MV_MC, "answer_option": "B"}
    ),
    "mathvision": pred("mathvision", "A", ["B"], FOUR),
    "ai2d": pred("ai2d", "A", ["B"], FOUR),
    "mmstar": pred("mmstar", "A", ["B"], FOUR),
    "mmmu": pred("mmmu", "A", ["B"], FOUR, {"question_type": "multiple-choice"}),
    "mmmu_pro": pred("mmmu_pro", "A", ["B"], FOUR),
    "logicvista": {**pred("logicvista", "A", ["B"]), "gold": {"answers": ["B"], "answer_type": "letters"}},
    "mathverse": pred("mathverse", "A", ["B"], FOUR),
}


@pytest.mark.parametrize("profile", ["vlmevalkit", "official"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_found_wrong_letter_is_never_sent(yes_judge, case, profile):
    _YesJudge.calls.clear()
    row = score_prediction(CASES[case], judge=yes_judge, profile=profile)
    assert not row["correct"] and not row["judged"] and not row["needs_judge"]
    assert _YesJudge.calls == []


@pytest.mark.parametrize(
    "case",
    [
        pred("mathvista", "the second stage", ["larva"], FOUR, MV_MC),
        pred("mathvision", "the second stage", ["B"], FOUR),
        pred("ai2d", "the second stage", ["B"], FOUR),
        pred("mmmu", "the second stage", ["B"], FOUR, {"question_type": "multiple-choice"}),
        {**pred("logicvista", "the second one", ["B"]), "gold": {"answers": ["B"], "answer_type": "letters"}},
    ],
    ids=["mathvista", "mathvision", "ai2d", "mmmu", "logicvista"],
)
def test_an_answer_with_no_letter_is_sent(yes_judge, case):
    """The other side: where the rule found no letter, the reference asks its judge, and so do we."""
    _YesJudge.calls.clear()
    row = score_prediction(case, judge=yes_judge)
    assert row["judged"] and row["correct"] and len(_YesJudge.calls) == 1
