"""Evaluation: metrics on hand-made predictions, scoring rules, modes on a scripted backend, resume."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest

from avr.eval.items import EvalItem
from avr.eval.metrics import against_baseline, block, compute_metrics
from avr.eval.modes import Mode, parse_mode, run_mode
from avr.eval.report import compare_runs
from avr.eval.runner import PREDICTIONS, generate_predictions, read_predictions, run_eval, score_run
from avr.eval.scoring import Judge, extract_answer, score_prediction
from avr.generation import Decoding, Generation, GenRequest, _cut_at_stop

PNG = b"\x89PNG\r\n\x1a\n"


def _row(bench: str, fmt: int, correct: bool, tokens: int) -> dict:
    return {"benchmark": bench, "format": fmt, "correct": correct, "tokens": tokens}


# --- metrics -----------------------------------------------------------------------------------


def test_metrics_match_hand_computation():
    rows = [
        _row("a", 1, True, 10),
        _row("a", 1, False, 20),
        _row("a", 3, True, 90),
        _row("a", 0, False, 40),
        _row("b", 2, True, 50),
        _row("b", 2, True, 30),
    ]
    m = compute_metrics(rows)
    a, b, o = m["benchmarks"]["a"], m["benchmarks"]["b"], m["overall"]
    assert (a["n"], a["accuracy"], a["mean_tokens"], a["median_tokens"]) == (4, 0.5, 40, 30)
    assert a["malformed_rate"] == 0.25
    assert a["formats"]["answer"] == {"n": 2, "share": 0.5, "accuracy": 0.5, "mean_tokens": 15}
    assert a["formats"]["full"]["accuracy"] == 1.0 and a["formats"]["perception"]["accuracy"] is None
    assert (b["accuracy"], b["mean_tokens"]) == (1.0, 40)
    assert o["n"] == 6 and o["accuracy"] == pytest.approx(4 / 6) and o["mean_tokens"] == 40
    assert o["macro_accuracy"] == pytest.approx(0.75)
    assert sum(f["share"] for f in o["formats"].values()) == pytest.approx(1)


def test_baseline_comparison():
    run = compute_metrics([_row("a", 1, True, 25), _row("a", 1, False, 25)])
    base = compute_metrics([_row("a", 3, True, 100), _row("a", 3, True, 100)])
    c = against_baseline(run, base)
    assert c["a"]["token_reduction"] == pytest.approx(0.75)
    assert c["a"]["accuracy_change"] == pytest.approx(-0.5)
    assert c["overall"]["baseline_mean_tokens"] == 100


def test_baseline_comparison_is_per_benchmark():
    # two benchmarks whose baselines differ from the pooled one: a comparison against the overall
    # baseline (tokens 60, accuracy 0.5) would give other numbers for both
    run = compute_metrics([_row("a", 1, True, 10), _row("b", 1, True, 50)])
    base = compute_metrics([_row("a", 3, True, 20), _row("b", 3, False, 100)])
    c = against_baseline(run, base)
    assert c["a"]["token_reduction"] == pytest.approx(0.5) and c["a"]["baseline_mean_tokens"] == 20
    assert c["b"]["token_reduction"] == pytest.approx(0.5) and c["b"]["baseline_mean_tokens"] == 100
    assert c["a"]["accuracy_change"] == 0 and c["b"]["accuracy_change"] == 1
    assert c["overall"]["token_reduction"] == pytest.approx(0.5) and c["overall"]["accuracy_change"] == 0.5


def test_report_rows_compare_each_benchmark_with_its_own_baseline():
    from avr.eval.report import metrics_table

    run = compute_metrics([_row("a", 1, True, 10), _row("b", 1, True, 50)])
    base = compute_metrics([_row("a", 3, True, 40), _row("b", 3, False, 100)])
    table = metrics_table(run, against_baseline(run, base))
    # a: 1 - 10/40 = 75% fewer tokens, no accuracy change; b: 50% fewer, +100 points; overall: 1 - 30/70
    assert "| a | 1 | 100.0 | 10.0 | 10.0 | 100.0 | 0.0 | 0.0 | 0.0 | 75.0 | 0.0 |" in table
    assert "| b | 1 | 100.0 | 50.0 | 50.0 | 100.0 | 0.0 | 0.0 | 0.0 | 50.0 | 100.0 |" in table
    assert "| **overall** | 2 | 100.0 | 30.0 | 30.0 | 100.0 | 0.0 | 0.0 | 0.0 | 57.1 | 50.0 |" in table


def _lrow(level, fmt: int, correct: bool, tokens: int, bench: str = "a", **meta) -> dict:
    return {**_row(bench, fmt, correct, tokens), "meta": {"level": level, **meta}}


def test_breakdown_per_level_has_the_block_shape():
    rows = [
        _lrow(1, 1, True, 10),
        _lrow(1, 1, False, 12),
        _lrow(1, 3, True, 60),
        _lrow(3, 3, True, 80),
        _lrow(3, 1, False, 8),
        _lrow(10, 0, False, 5),
        {**_row("a", 2, True, 30), "meta": {}},  # no level: left out of the level table
    ]
    m = compute_metrics(rows)
    bd = m["benchmarks"]["a"]["breakdown"]
    assert list(bd) == ["level"] and list(bd["level"]) == ["1", "3", "10"]  # strings, numeric order
    one = bd["level"]["1"]
    assert one == block(rows[:3])  # exactly the block of those items alone
    assert set(one) == {"n", "accuracy", "mean_tokens", "median_tokens", "malformed_rate", "formats"}
    assert (one["n"], one["accuracy"], one["mean_tokens"]) == (3, pytest.approx(2 / 3), pytest.approx(82 / 3))
    assert one["formats"]["answer"] == {
        "n": 2,
        "share": pytest.approx(2 / 3),
        "accuracy": 0.5,
        "mean_tokens": 11,
    }
    assert one["formats"]["full"]["share"] == pytest.approx(1 / 3)
    assert bd["level"]["3"]["formats"]["full"]["accuracy"] == 1.0 and bd["level"]["10"]["malformed_rate"] == 1
    assert "breakdown" not in m["overall"]


def test_breakdown_fields_are_declared_per_benchmark():
    rows = [
        _lrow(2.0, 1, True, 4, bench="mv", subject="logic", skills=["x", "y"]),
        _lrow(2, 1, False, 6, bench="mv", subject="algebra", skills=["y"]),
        _lrow(1, 1, True, 4, bench="other", category="c", task="t", subject="s"),
    ]
    m = compute_metrics(rows, {"mv": ("subject", "level", "skills", "absent")})
    mv, other = m["benchmarks"]["mv"]["breakdown"], m["benchmarks"]["other"]["breakdown"]
    assert list(mv) == ["subject", "level", "skills"]  # declared order; a field no item has is left out
    assert list(mv["level"]) == ["2"] and mv["level"]["2"]["n"] == 2  # 2.0 and 2 are one level
    assert mv["skills"]["y"]["n"] == 2 and mv["skills"]["x"]["n"] == 1  # a list counts under each value
    assert list(other) == ["level", "category", "task"]  # the generic default: subject is not in it


def test_report_has_a_table_per_breakdown_field(tmp_path):
    items = [_item(i, answers=["4"]) for i in range(4)]
    for it in items:
        it.meta = {"level": 1 + int(it.id) % 2, "task": "sum"}
    be = Scripted(
        lambda req: ["<answer>4</answer>" if req.question in ("q0", "q2") else "<answer>5</answer>"]
    )
    m = run_eval("m", items, tmp_path / "run", mode=Mode("adaptive"), backend_obj=be)
    assert m["benchmarks"]["fx"]["breakdown"]["level"]["1"]["accuracy"] == 1.0
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["benchmarks"]["fx"]["breakdown"]["level"]["2"]["formats"]["answer"]["share"] == 1.0
    report = (tmp_path / "run" / "report.md").read_text()
    assert "## fx by level" in report and "## fx by task" in report
    assert "| 1 | 2 | 100.0 | 18.0 | 100.0 | 0.0 | 0.0 | 0.0 |" in report
    assert "| 2 | 2 | 0.0 | 18.0 | 100.0 | 0.0 | 0.0 | 0.0 |" in report
    assert "| sum | 4 | 50.0 |" in report
    table = compare_runs([tmp_path / "run"])  # compare still reads a run with breakdowns
    assert "| run | adaptive | fx | 4 | 50.0 |" in table


# --- scoring -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "fmt", "answer"),
    [
        ("<answer>B</answer>", 1, "B"),
        ("<perception>p</perception><answer>4</answer>", 2, "4"),
        ("<perception>p</perception><reasoning>r</reasoning><answer>x</answer>", 3, "x"),
        ("I think <answer>7</answer> yes", 0, "7"),  # malformed, but the answer is graded
        ("<answer>1</answer><answer>2</answer>", 0, None),  # two answers: none is taken
        ("<answer>1</answer> and <answer>", 0, None),  # an extra opening tag: ambiguous, none taken
        ("</answer>1<answer>", 0, None),  # tags the wrong way round
        ("<answer>" * 5000 + "x", 0, None),  # a long run of openings, no closing
        ("so the answer is \\boxed{\\frac{1}{2}}", 0, "\\frac{1}{2}"),
        ("so \\boxed{a{b}c} and", 0, "a{b}c"),
        ("\\boxed{unclosed", 0, None),
        ("", 0, None),
    ],
)
def test_extract_answer(response, fmt, answer):
    assert extract_answer(response) == (fmt, answer)


def _pred(response: str, answers, **gold) -> dict:
    return {"benchmark": "b", "id": "1", "question": "q", "response": response, "tokens": 3,
            "gold": {"answers": answers, **gold}}  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "gold", "correct"),
    [
        ("3.14", {"answers": ["3.14"], "answer_type": "float", "precision": 2}, True),
        ("3.1416", {"answers": ["3.14"], "answer_type": "float", "precision": 2}, True),  # rounded first
        ("3.2", {"answers": ["3.14"], "answer_type": "float", "precision": 2}, False),
        ("12 cm", {"answers": ["12"], "unit": "cm", "answer_type": "integer"}, True),
        ("12.0", {"answers": ["12"], "answer_type": "integer"}, True),
        ("120", {"answers": ["12"], "answer_type": "integer"}, False),
        ("B", {"answers": ["cat"], "choices": ["dog", "cat"]}, True),
        ("A", {"answers": ["cat"], "choices": ["dog", "cat"]}, False),
    ],
)
def test_score_honours_benchmark_metadata(answer, gold, correct):
    scored = score_prediction(_pred(f"<answer>{answer}</answer>", **gold))
    assert scored["correct"] is correct and scored["format"] == 1


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


# --- modes on a scripted backend ---------------------------------------------------------------


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


@pytest.mark.parametrize("spec", ["adaptive", "forced:1", "forced:3", "consensus", "consensus:5"])
def test_parse_mode_round_trips(spec):
    assert str(parse_mode(spec)) == (spec if spec != "consensus" else "consensus:3")


@pytest.mark.parametrize("spec", ["forced", "forced:4", "consensus:1", "greedy", "adaptive:2"])
def test_parse_mode_rejects(spec):
    with pytest.raises(ValueError, match="unknown mode"):
        parse_mode(spec)


def test_forced_formats_prefill_each_tag_and_count_them():
    # the model would love to skip perception; forcing makes it write each block in turn
    def respond(req):
        if req.prefill.endswith("<perception>\n"):
            return ["two dots</perception><answer>2</answer>"] * req.n
        if req.prefill.endswith("<reasoning>\n"):
            return ["1+1=2</reasoning> extra"] * req.n
        return ["2</answer>"] * req.n

    be = Scripted(respond)
    (p3,) = run_mode(Mode("forced", format=3), be, [_item()])
    assert p3["response"] == (
        "<perception>\ntwo dots</perception>\n\n<reasoning>\n1+1=2</reasoning>\n\n<answer>\n2</answer>"
    )
    assert p3["tokens"] == len(p3["response"])  # generated text + every forced tag
    assert [r.stop for r in be.requests] == [["</perception>"], ["</reasoning>"], []]
    (p1,) = run_mode(Mode("forced", format=1), Scripted(respond), [_item()])
    assert p1["response"] == "<answer>\n2</answer>" and extract_answer(p1["response"]) == (1, "2")


def test_forced_tokens_are_what_one_pass_would_write():
    """A real tokenizer's generation overshoots a stop string inside a token and merges across tags;
    forced:3 is charged the tokens of the response it assembled, plus the end-of-turn token."""

    class Overshoot(Scripted):
        def generate(self, requests):
            outs = super().generate(requests)
            # every block reports 2 tokens more than its text (a straddling token), the last one
            # ending with the end-of-turn token as well
            return [[Generation(g.text, g.tokens + 2) for g in gens] for gens in outs]

    def respond(req):
        if req.prefill.endswith("<perception>\n"):
            return ["p</perception>"]
        if req.prefill.endswith("<reasoning>\n"):
            return ["r</reasoning>"]
        return ["2</answer>"]

    (p3,) = run_mode(Mode("forced", format=3), Overshoot(respond), [_item()])
    assert p3["tokens"] == len(p3["response"]) + 1


def test_forced_stops_when_a_block_never_closes():
    be = Scripted(lambda req: ["rambling on"] * req.n)
    (p,) = run_mode(Mode("forced", format=2), be, [_item()])
    assert p["response"] == "<perception>\nrambling on" and len(be.requests) == 1
    assert extract_answer(p["response"])[0] == 0


def test_consensus_answers_early_when_samples_agree_and_escalates_otherwise():
    def respond(req):
        if req.prefill == "<answer>\n":  # level 1: k direct samples
            agree = ["4</answer>", "4.0</answer>", "4</answer>"]
            return agree if req.question == "q0" else ["1</answer>", "2</answer>", "1</answer>"]
        if req.prefill == "<perception>\n":  # level 2: k samples with perception
            return ["p</perception>"] * req.n
        return ["3</answer>"]  # ... whose answers agree

    p0, p1 = run_mode(Mode("consensus", k=3), Scripted(respond), [_item(0), _item(1)])
    assert p0["levels"] == 1 and p0["response"] == "<answer>\n4</answer>"
    assert p0["tokens"] == len("<answer>\n4</answer>") * 2 + len(
        "<answer>\n4.0</answer>"
    )  # all three samples
    assert p1["levels"] == 2 and extract_answer(p1["response"]) == (2, "3")
    level1 = 3 * len("<answer>\n1</answer>")
    assert p1["tokens"] == level1 + 3 * len("<perception>\np</perception>\n\n<answer>\n3</answer>")


def test_consensus_escalates_to_full_reasoning():
    def respond(req):
        if req.prefill == "<answer>\n":
            return [f"{i}</answer>" for i in range(req.n)]
        if req.prefill == "<perception>\n":
            return [f"p{i}</perception>" for i in range(req.n)]
        if req.prefill.endswith("<reasoning>\n"):
            return ["r</reasoning>"]
        if req.prefill.endswith("<answer>\n") and "<reasoning>" in req.prefill:
            return ["9</answer>"]
        return [f"{req.prefill[13:15]}</answer>"]  # level-2 answers differ with the perception text

    (p,) = run_mode(Mode("consensus", k=2), Scripted(respond), [_item()])
    assert p["levels"] == 3 and extract_answer(p["response"]) == (3, "9")


# --- runner: resume, pinned settings, reports --------------------------------------------------


def test_rerun_after_kill_resumes_without_repeating(tmp_path):
    items = [_item(i) for i in range(5)]
    be = Scripted(lambda req: ["<answer>4</answer>"])
    generate_predictions(be, items[:3], tmp_path, Mode("adaptive"), batch_size=1)
    with (tmp_path / PREDICTIONS).open("a") as f:
        f.write('{"benchmark": "fx", "id": "3", "resp')  # killed mid-line
    be2 = Scripted(lambda req: ["<answer>5</answer>"])
    assert generate_predictions(be2, items, tmp_path, Mode("adaptive"), batch_size=2) == 2
    assert [r.question for r in be2.requests] == ["q3", "q4"]
    preds = read_predictions(tmp_path / PREDICTIONS)
    assert [p["id"] for p in preds] == ["0", "1", "2", "3", "4"]
    assert generate_predictions(be2, items, tmp_path, Mode("adaptive")) == 0


def test_corrupt_line_in_the_middle_is_an_error_naming_it(tmp_path):
    (tmp_path / PREDICTIONS).write_text('{"id": 1}\nnot json\n{"id": 2}\n')
    with pytest.raises(ValueError, match=r"predictions.jsonl: line 2"):
        read_predictions(tmp_path / PREDICTIONS)


def test_run_dir_pins_mode_and_decoding(tmp_path):
    be = Scripted(lambda req: ["<answer>4</answer>"] * req.n)
    run_eval("m", [_item()], tmp_path, mode=Mode("adaptive"), backend_obj=be)
    with pytest.raises(ValueError, match="mode='adaptive'"):
        run_eval("m", [_item()], tmp_path, mode=Mode("forced", format=1), backend_obj=be)
    with pytest.raises(ValueError, match="decoding"):
        run_eval(
            "m",
            [_item()],
            tmp_path,
            mode=Mode("adaptive"),
            decoding=Decoding(max_new_tokens=7),
            backend_obj=be,
        )


def test_score_and_compare_write_reports_and_plots(tmp_path):
    items = [_item(i, answers=["4"]) for i in range(4)]
    short = Scripted(lambda req: ["<answer>4</answer>" if req.question != "q3" else "<answer>5</answer>"])
    long = Scripted(lambda req: ["<perception>four</perception><reasoning>2+2</reasoning><answer>4</answer>"])
    m_long = run_eval("m", items, tmp_path / "long", mode=Mode("adaptive"), backend_obj=long)
    m_short = run_eval(
        "m", items, tmp_path / "short", mode=Mode("adaptive"), backend_obj=short, baseline=tmp_path / "long"
    )
    assert m_long["overall"]["accuracy"] == 1.0 and m_short["overall"]["accuracy"] == 0.75
    assert m_short["baseline"]["overall"]["accuracy_change"] == pytest.approx(-0.25)
    assert m_short["baseline"]["overall"]["token_reduction"] == pytest.approx(1 - 18 / 73)
    for name in ("report.md", "metrics.json", "scored.jsonl", "format_mix.png", "accuracy_vs_tokens.png"):
        assert (tmp_path / "short" / name).is_file(), name
    assert (tmp_path / "short" / "format_mix.png").read_bytes()[:8] == PNG
    report = (tmp_path / "short" / "report.md").read_text()
    assert "| fx | 4 | 75.0 | 18.0 |" in report and "tok reduction %" in report
    # re-scoring needs no model and gives the same numbers
    again = score_run(tmp_path / "short")
    assert again["overall"] == m_short["overall"]
    table = compare_runs([tmp_path / "long", tmp_path / "short"], tmp_path / "cmp")
    assert "| long | adaptive | overall | 4 | 100.0 | 73.0 |" in table
    assert (tmp_path / "cmp" / "accuracy_vs_tokens.png").read_bytes()[:8] == PNG


def test_compare_names_a_run_without_metrics(tmp_path):
    with pytest.raises(FileNotFoundError, match="avr eval score"):
        compare_runs([tmp_path])


def test_decoding_defaults_follow_the_authors():
    """Greedy and 4096 tokens as the authors; images at the training bounds (avr/pixels.py)."""
    d = Decoding()
    assert (d.temperature, d.max_new_tokens, d.min_pixels, d.max_pixels) == (0.0, 4096, 65_536, 262_144)


# --- the vLLM backend, against a stand-in for the vllm module (no vllm on CPU machines) ---------


class _FakeVLLM:
    """Records what AVR hands vLLM's offline API and answers like it (text + token_ids per sample)."""

    def __init__(self):
        self.init: dict = {}
        self.calls: list = []

    def module(self):
        import types

        fake = self

        class LLM:
            def __init__(self, **kwargs):
                fake.init = kwargs

            def generate(self, prompts, params):
                fake.calls.append((prompts, params))
                outs = []
                for prompt, p in zip(prompts, params, strict=True):
                    done = prompt["prompt"].endswith("<answer>\n")
                    text = "4</answer>" if done else "four</perception><answer>4</answer>"
                    if p.stop:
                        text = text[: text.index(p.stop[0]) + len(p.stop[0])]
                    sample = types.SimpleNamespace(text=text, token_ids=list(range(len(text) // 4)))
                    outs.append(types.SimpleNamespace(outputs=[sample] * p.n))
                return outs

        class SamplingParams:
            def __init__(self, **kwargs):
                self.__dict__.update(kwargs)

        return types.SimpleNamespace(LLM=LLM, SamplingParams=SamplingParams)


def test_vllm_backend_builds_prompts_images_and_sampling(tiny_model, monkeypatch):
    import sys

    from avr.generation import VLLMBackend

    fake = _FakeVLLM()
    monkeypatch.setitem(sys.modules, "vllm", fake.module())
    be = VLLMBackend(str(tiny_model), Decoding(max_new_tokens=64), tensor_parallel_size=2)
    assert fake.init["model"] == str(tiny_model) and fake.init["tensor_parallel_size"] == 2
    assert fake.init["mm_processor_kwargs"] == {"min_pixels": 65_536, "max_pixels": 262_144}
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (0, 0, 255)).save(buf, format="PNG")
    item = EvalItem(id="1", benchmark="b", question="How many?", images=[buf.getvalue()], answers=["4"])
    (pred,) = run_mode(Mode("forced", format=2), be, [item])
    assert pred["response"] == "<perception>\nfour</perception>\n\n<answer>\n4</answer>"
    (prompts1, params1), (prompts2, params2) = fake.calls
    first = prompts1[0]
    assert first["prompt"].endswith("<|im_start|>assistant\n<perception>\n")
    assert "<|vision_start|>" in first["prompt"] and "Question: How many?" in first["prompt"]
    assert first["multi_modal_data"]["image"][0].size == (40, 30)
    assert params1[0].stop == ["</perception>"] and params1[0].include_stop_str_in_output
    assert (params1[0].temperature, params1[0].max_tokens, params1[0].n) == (0.0, 64, 1)
    assert (
        prompts2[0]["prompt"].endswith("<perception>\nfour</perception>\n\n<answer>\n")
        and not params2[0].stop
    )


def test_a_second_writer_of_the_same_run_dir_is_refused(tmp_path):
    from avr.io import exclusive_lock

    be = Scripted(lambda req: ["<answer>4</answer>"])
    with (
        exclusive_lock(tmp_path, "avr eval"),
        pytest.raises(RuntimeError, match="another avr eval is writing"),
    ):
        generate_predictions(be, [_item()], tmp_path, Mode("adaptive"))
    assert generate_predictions(be, [_item()], tmp_path, Mode("adaptive")) == 1  # released afterwards


def test_training_curves_need_avr_metrics(tmp_path):
    from avr.eval.report import plot_training_log

    log = tmp_path / "train_log.jsonl"
    log.write_text('{"step": 1, "loss": 0.5}\n')
    with pytest.raises(ValueError, match="no step with avr/\\* metrics"):
        plot_training_log(log, tmp_path / "c.png")
    log.write_text(
        "".join(
            json.dumps({"step": i, "avr/mean_score": 0.1 * i, "avr/accuracy": 0.5, "avr/diversity_weight": 0.5,
                        "avr/answer/share": 0.25}) + "\n"
            for i in range(1, 4)
        )
    )  # fmt: skip
    assert plot_training_log(log, tmp_path / "c.png").read_bytes()[:8] == PNG
