"""Hand-made predictions, and a scripted backend whose responses the tests choose."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import ClassVar

from avr.eval.items import EvalItem
from avr.generation import Generation, GenRequest, _cut_at_stop

PNG = b"\x89PNG\r\n\x1a\n"


def _row(bench: str, fmt: int, correct: bool, tokens: int) -> dict:
    return {"benchmark": bench, "format": fmt, "correct": correct, "tokens": tokens}


def _lrow(level, fmt: int, correct: bool, tokens: int, bench: str = "a", **meta) -> dict:
    return {**_row(bench, fmt, correct, tokens), "meta": {"level": level, **meta}}


def _pred(response: str, answers, **gold) -> dict:
    return {"benchmark": "b", "id": "1", "question": "q", "response": response, "tokens": 3,
            "gold": {"answers": answers, **gold}}  # fmt: skip


class _JudgeHandler(BaseHTTPRequestHandler):
    calls: ClassVar[list[dict]] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls.append(body)
        verdict = "yes" if "a feline" in body["messages"][0]["content"] else "no"
        data = json.dumps({"choices": [{"message": {"content": verdict}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class Scripted:
    """A backend whose answers come from a function of the request; a token is one character."""

    def __init__(self, respond):
        self.respond = respond
        self.requests: list[GenRequest] = []

    def count_tokens(self, text: str) -> int:
        return len(text)

    def generate(self, requests):
        out = []
        for req in requests:
            self.requests.append(req)
            texts = self.respond(req)
            gens = []
            for t in texts:
                t, _ = _cut_at_stop(t, req.stop)
                gens.append(Generation(t, len(t)))
            out.append(gens)
        return out


def _item(i: int = 0, answers=("4",), choices=None) -> EvalItem:
    return EvalItem(
        id=str(i), benchmark="fx", question=f"q{i}", images=[PNG], answers=list(answers), choices=choices
    )
