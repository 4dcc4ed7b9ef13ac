"""A judge failure is never a verdict: bounded retries with backoff, then ``judge_failed``, counted
apart, and the re-score goes on.

VLMEvalKit retries its judge (``YOrN_auxeval``, ``MathVista_auxeval``, ``MATH_V_auxeval``: up to 5
calls, temperature 0.5 * i) and records a judge that never answered as unknown / "failed to parse";
it does not stop the evaluation. No test here waits on wall time: the backoff's sleep is injected,
and a timeout is raised by an injected transport.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

import avr.eval.scoring as scoring
from avr.eval.runner import PREDICTIONS, score_run
from avr.eval.scoring import Judge, score_prediction
from tests.eval.helpers import _JudgeHandler, _pred


class _Scripted(BaseHTTPRequestHandler):
    """Replies from a script, one entry a call: an int is an HTTP error status, ``"<garbage>"`` a
    body that is not JSON, any other text the judge's reply. The script's last entry repeats."""

    script: ClassVar[list] = []
    calls: ClassVar[list[dict]] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls.append(body)
        step = self.script[min(len(self.calls) - 1, len(self.script) - 1)]
        _reply(self, step)

    def log_message(self, *args):
        pass


def _reply(handler: BaseHTTPRequestHandler, step) -> None:
    if isinstance(step, int):
        handler.send_response(step)
        handler.end_headers()
        return
    data = (
        b"<html>Bad gateway</html>"
        if step == "<garbage>"
        else json.dumps({"choices": [{"message": {"content": step}}]}).encode()
    )
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.end_headers()
    handler.wfile.write(data)


@pytest.fixture
def server():
    srv = HTTPServer(("127.0.0.1", 0), _Scripted)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    _Scripted.calls.clear()
    try:
        yield f"http://127.0.0.1:{srv.server_port}/v1"
    finally:
        srv.shutdown()


def test_retries_until_a_verdict_with_backoff(server):
    _Scripted.script = [500, "<garbage>", "I am not sure.", "", "Yes."]
    slept: list[float] = []
    judge = Judge(server, "m", timeout=5, tries=5, backoff=2.0, sleep=slept.append)
    assert judge("Q?", "a feline", ["cat"]) is True
    assert len(_Scripted.calls) == 5
    assert slept == [2.0, 4.0, 8.0, 16.0]  # doubling backoff, none after the last call
    assert [c["temperature"] for c in _Scripted.calls] == [0.0, 0.5, 1.0, 1.5, 2.0]  # as VLMEvalKit retries


def test_no_verdict_after_the_last_try_raises_naming_the_judge(server):
    _Scripted.script = ["I am not sure."]
    from avr.eval.scoring import JudgeFailed

    judge = Judge(server, "m", timeout=5, tries=3, sleep=lambda s: None)
    with pytest.raises(JudgeFailed, match=r"127\.0\.0\.1.*3 tries.*not a yes or no"):
        judge("Q?", "a feline", ["cat"])
    assert len(_Scripted.calls) == 3


@pytest.mark.parametrize(
    ("script", "words"),
    [([500], "HTTP 500"), (["<garbage>"], "not JSON"), ([404], "HTTP 404")],
)
def test_http_errors_and_malformed_bodies_are_failures_not_verdicts(server, script, words):
    from avr.eval.scoring import JudgeFailed

    _Scripted.script = script
    judge = Judge(server, "m", timeout=5, tries=2, sleep=lambda s: None)
    with pytest.raises(JudgeFailed, match=words) as e:
        judge("Q?", "a feline", ["cat"])
    assert server in str(e.value)


def test_a_timeout_is_retried():
    """The transport is injected: the timeout is raised, not waited for."""
    replies = [TimeoutError("timed out"), json.dumps({"choices": [{"message": {"content": "no"}}]}).encode()]

    def post(url: str, body: bytes, headers: dict, timeout: float) -> bytes:
        r = replies.pop(0)
        if isinstance(r, Exception):
            raise r
        return r

    judge = Judge("http://judge.invalid/v1", "m", tries=2, sleep=lambda s: None, post=post)
    assert judge("Q?", "a dog", ["cat"]) is False and not replies


def test_an_unreachable_judge_stops_being_asked_after_a_run_of_failures():
    """A dead endpoint must not cost every remaining item its retries: after ``give_up_after``
    failed items in a row, later items fail at once (and are counted as judge failures)."""
    from avr.eval.scoring import JudgeFailed

    calls = []

    def post(url: str, body: bytes, headers: dict, timeout: float) -> bytes:
        calls.append(url)
        raise ConnectionRefusedError("connection refused")

    judge = Judge("http://judge.invalid/v1", "m", tries=2, sleep=lambda s: None, post=post, give_up_after=3)
    for _ in range(5):
        with pytest.raises(JudgeFailed, match=r"judge\.invalid"):
            judge("Q?", "x", ["y"])
    assert len(calls) == 3 * 2  # three items tried twice each; the last two not sent


def pred(i: int, answer: str) -> dict:
    return {
        "benchmark": "heldout",
        "id": str(i),
        "mode": "adaptive",
        "question": f"What animal is in picture {i}?",
        "response": f"<answer>{answer}</answer>",
        "tokens": 3,
        "levels": 1,
        "gold": {"answers": ["cat"], "choices": None},
        "meta": {},
    }


def test_a_failed_judgement_is_recorded_not_graded(server):
    _Scripted.script = [500]
    judge = Judge(server, "m", timeout=5, tries=2, sleep=lambda s: None)
    row = score_prediction(pred(0, "a feline"), judge=judge)
    assert row["judge_failed"] and not row["correct"] and not row["judged"] and not row["needs_judge"]
    assert server in row["judge_error"] and "HTTP 500" in row["judge_error"]


class _HalfFailing(BaseHTTPRequestHandler):
    """Fails half its calls: every answer naming a "tabby" gets an HTTP 500, a body that is not
    JSON, or "I am not sure." in turn, forever; the other answers get "yes"."""

    calls: ClassVar[list[str]] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][0]["content"]
        type(self).calls.append(prompt)
        if "tabby" in prompt:
            failures = sum("tabby" in c for c in self.calls)
            _reply(self, [500, "<garbage>", "I am not sure."][failures % 3])
        else:
            _reply(self, "yes")

    def log_message(self, *args):
        pass


def _run_dir(tmp_path: Path) -> Path:
    answers = ["a feline", "a tabby", "a kitty", "a tabby cat", "cat", "a dog"]
    run = tmp_path / "run"
    run.mkdir()
    lines = [json.dumps(pred(i, a)) for i, a in enumerate(answers)]
    (run / PREDICTIONS).write_text("\n".join(lines) + "\n")
    return run


@pytest.fixture
def half_failing():
    srv = HTTPServer(("127.0.0.1", 0), _HalfFailing)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    _HalfFailing.calls.clear()
    try:
        yield f"http://127.0.0.1:{srv.server_port}/v1"
    finally:
        srv.shutdown()


def test_rescore_goes_on_and_counts_failures(tmp_path, half_failing):
    run = _run_dir(tmp_path)
    judge = Judge(half_failing, "m", timeout=5, tries=3, sleep=lambda s: None)
    m = score_run(run, judge=judge)
    b = m["benchmarks"]["heldout"]
    # "cat": the rule; "a feline", "a kitty", "a dog": the judge (yes); the two tabbies: no verdict
    assert (
        b["scoring"]["judged"] == 3
        and b["scoring"]["judge_failed"] == 2
        and m["scoring"]["judge_failed"] == 2
    )
    assert b["accuracy"] == pytest.approx(4 / 6)  # judge failures count as wrong
    assert b["accuracy_over_verdicts"] == pytest.approx(4 / 4) and b["n_verdicts"] == 4
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["scoring"]["judge_failed"] == 2 and saved["benchmarks"]["heldout"]["judge_failed"] == 2
    report = (run / "report.md").read_text()
    assert "judge gave no verdict (counted wrong): 2" in report
    assert "| heldout | 6 | 0 | 3 | 2 |" in report
    scored = [json.loads(x) for x in (run / "scored.jsonl").read_text().splitlines()]
    failed = [r for r in scored if r["judge_failed"]]
    assert [r["id"] for r in failed] == ["1", "3"] and all(half_failing in r["judge_error"] for r in failed)


def test_cli_rescore_against_a_judge_failing_half_its_calls(tmp_path, half_failing, monkeypatch, capsys):
    from avr.cli import main

    slept: list[float] = []
    monkeypatch.setattr(
        scoring, "_sleep", slept.append, raising=False
    )  # the CLI's judge backs off through this
    run = _run_dir(tmp_path)
    assert main(["eval", "score", str(run), "--judge-url", half_failing, "--judge-model", "m"]) == 0
    out = capsys.readouterr().out
    assert "| heldout | 6 |" in out and "judge failed (counted wrong): 2" in out
    assert slept  # it backed off between tries
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["scoring"]["judge_failed"] == 2 and metrics["scoring"]["judged"] == 3
    assert "judge gave no verdict (counted wrong): 2" in (run / "report.md").read_text()


def test_llm_judge_is_asked_only_for_free_form_misses():
    server = HTTPServer(("127.0.0.1", 0), _JudgeHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        judge = Judge(f"http://127.0.0.1:{server.server_port}/v1", "judge-model", timeout=5)
        _JudgeHandler.calls.clear()
        ok = score_prediction(_pred("<answer>a feline</answer>", ["cat"]), judge=judge)
        assert ok["correct"] and ok["judged"]
        no = score_prediction(_pred("<answer>a dog</answer>", ["cat"]), judge=judge)
        assert not no["correct"] and no["judged"]
        exact = score_prediction(_pred("<answer>cat</answer>", ["cat"]), judge=judge)
        assert exact["correct"] and not exact["judged"]  # the rules said yes: no call
        mc = score_prediction(
            _pred("<answer>a feline</answer>", ["cat"], choices=["dog", "cat"]), judge=judge
        )
        assert not mc["correct"] and not mc["judged"]  # never for multiple choice
        assert len(_JudgeHandler.calls) == 2 and _JudgeHandler.calls[0]["model"] == "judge-model"
    finally:
        server.shutdown()


class _Recording(BaseHTTPRequestHandler):
    """Answers "yes" and keeps each request's headers and body."""

    seen: ClassVar[list[tuple[dict, dict]]] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append((dict(self.headers), body))
        _reply(self, "yes")

    def log_message(self, *args):
        pass


def test_the_request_is_an_openai_chat_completion_with_the_key():
    """What the endpoint receives: the key as a bearer token, a JSON body, one user message that is
    the prompt (its references joined by " | ")."""
    srv = HTTPServer(("127.0.0.1", 0), _Recording)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    _Recording.seen.clear()
    try:
        judge = Judge(f"http://127.0.0.1:{srv.server_port}/v1/", "judge-model", api_key="sk-test", timeout=30)
        assert judge("What animal?", "a feline", ["cat", "kitty"]) is True
    finally:
        srv.shutdown()
    [(headers, body)] = _Recording.seen
    assert headers["Authorization"] == "Bearer sk-test"
    assert headers["Content-Type"] == "application/json"
    prompt = judge.prompt("What animal?", "a feline", ["cat", "kitty"])
    assert "Reference answer(s): cat | kitty\n" in prompt and "Question: What animal?\n" in prompt
    assert body == {
        "model": "judge-model",
        "messages": [{"role": "user", "content": prompt}],
        "temperature": 0.0,
        "max_tokens": 4,
    }


def test_the_retry_temperature_stops_at_two():
    """0.5 more a try, as VLMEvalKit's judges retry, but never above 2.0 (the API's maximum)."""
    seen: list[float] = []

    def post(url: str, body: bytes, headers: dict, timeout: float) -> bytes:
        seen.append(json.loads(body)["temperature"])
        return json.dumps({"choices": [{"message": {"content": "maybe"}}]}).encode()

    from avr.eval.scoring import JudgeFailed

    judge = Judge("http://judge.invalid/v1", "m", tries=7, sleep=lambda s: None, post=post)
    with pytest.raises(JudgeFailed):
        judge("Q?", "a", ["b"])
    assert seen == [0.0, 0.5, 1.0, 1.5, 2.0, 2.0, 2.0]


def test_the_judge_is_asked_the_rows_question():
    asked: list[str] = []

    def judge(question: str, answer: str, golds: list[str]) -> bool:
        asked.append(question)
        return True

    row = _pred("<answer>a feline</answer>", ["cat"])
    assert score_prediction({**row, "question": "Which animal?"}, judge=judge)["judged"] is True
    del row["question"]
    assert score_prediction(row, judge=judge)["correct"] is True
    assert asked == ["Which animal?", ""]  # a row without a question: the empty string, not None


def test_an_unanswered_row_has_plain_false_flags():
    """The flags are booleans in every row (a JSON null would read as "unknown" downstream)."""
    row = score_prediction(_pred("no answer block here", ["cat"]), judge=None)
    for key in ("correct", "needs_judge", "judged", "judge_failed", "grading_unresolved"):
        assert row[key] is False, key
    assert row["judge_error"] is None and row["grading_timeouts"] == 0


# --- what the full mutation run of avr/eval/scoring.py found unpinned -----------------------------


def test_an_empty_answer_block_falls_back_to_the_last_boxed_value():
    from avr.eval.scoring import extract_answer

    assert extract_answer("<answer>   </answer> so \\boxed{5}") == (0, "5")
    assert extract_answer("text only") == (0, None)


def test_the_transport_bounds_time_and_size(monkeypatch):
    seen: dict = {}

    class Reply:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self, n=None):
            seen["read"] = n
            return b"{}"

    def urlopen(req, timeout=None):
        seen["timeout"], seen["url"], seen["headers"] = timeout, req.full_url, dict(req.header_items())
        return Reply()

    monkeypatch.setattr(scoring.urllib.request, "urlopen", urlopen)
    assert scoring._post("http://judge.invalid/v1/chat/completions", b"{}", {"X-Test": "1"}, 7.0) == b"{}"
    assert seen == {
        "timeout": 7.0,
        "url": "http://judge.invalid/v1/chat/completions",
        "headers": {"X-test": "1"},
        "read": scoring.MAX_REPLY_BYTES,
    }
    slept: list[float] = []
    monkeypatch.setattr(scoring.time, "sleep", slept.append)
    scoring._sleep(0.25)
    assert slept == [0.25]


def test_failure_and_body_messages_in_words():
    assert scoring._failure(KeyError("x"), 5) == "KeyError: 'x'"
    raw = b"<" + b"x" * 100
    with pytest.raises(ValueError) as e:
        scoring._content(raw)
    assert str(e.value) == f"the body is not JSON ({raw[:60]!r})"
    body = json.dumps({"choices": []}).encode()
    with pytest.raises(ValueError) as e:
        scoring._content(body)
    assert str(e.value) == f"the body has no choices[0].message.content ({body[:60]!r})"
    assert scoring._content(json.dumps({"choices": [{"message": {"content": 5}}]}).encode()) is None


def test_the_prompt_word_for_word():
    assert Judge("u", "m").prompt("Q?", "a feline", ["cat"]) == (
        "You grade answers to a visual question. Reply with exactly one word: yes or no.\n"
        "Question: Q?\nReference answer(s): cat\nCandidate answer: a feline\n"
        "Is the candidate answer correct?"
    )


def _scripted_post(replies: list, calls: list):
    def post(url: str, body: bytes, headers: dict, timeout: float) -> bytes:
        calls.append({"url": url, "headers": headers, "timeout": timeout, "body": json.loads(body)})
        content = replies.pop(0) if len(replies) > 1 else replies[0]
        return json.dumps({"choices": [{"message": {"content": content}}]}).encode()

    return post


def test_what_the_transport_is_handed():
    calls: list = []
    judge = Judge(
        "http://judge.invalid/v1/", "m", api_key="k", timeout=12.5, post=_scripted_post(["yes"], calls)
    )
    assert judge("Q?", "a", ["b"]) is True
    [c] = calls
    assert c["url"] == "http://judge.invalid/v1/chat/completions"
    assert c["headers"] == {"Content-Type": "application/json", "Authorization": "Bearer k"}
    assert c["timeout"] == 12.5


def test_one_try_is_one_call_and_a_verdict_resets_the_failure_run():
    from avr.eval.scoring import JudgeFailed

    calls: list = []
    judge = Judge(
        "http://j.invalid/v1", "m", tries=1, sleep=lambda s: None, post=_scripted_post([None, "yes"], calls)
    )
    with pytest.raises(
        JudgeFailed, match=r"no verdict after 1 tries \(last: reply None is not a yes or no\)$"
    ):
        judge("Q?", "a", ["b"])  # a null content is no verdict, not a crash
    assert len(calls) == 1 and judge.failed_in_a_row == 1
    assert judge("Q?", "a", ["b"]) is True and judge.failed_in_a_row == 0


def test_check_profile_names_the_known_profiles():
    from avr.eval.scoring import PROFILES, check_profile

    with pytest.raises(ValueError) as e:
        check_profile("nope")
    assert str(e.value) == f"unknown scoring profile 'nope'; use one of {', '.join(PROFILES)}"


def test_the_judge_gets_the_rows_golds_and_the_row_keeps_answer_and_profile():
    asked: list = []

    def judge(question: str, answer: str, golds: list[str]) -> bool:
        asked.append(golds)
        return True

    row = score_prediction(_pred("<answer>a feline</answer>", ["cat", 7]), judge=judge)
    assert asked == [["cat", "7"]]
    assert row["answer"] == "a feline" and row["scoring"] == scoring.DEFAULT_PROFILE
    bare = score_prediction({"benchmark": "b", "id": "1", "gold": {"answers": ["cat"]}})  # no response
    assert (bare["format"], bare["answer"], bare["correct"]) == (0, None, False)
