"""Modes on a scripted backend: forced formats prefill each tag and count it; consensus escalates."""

from __future__ import annotations

import pytest

from avr.eval.modes import Mode, parse_mode, run_mode
from avr.eval.scoring import extract_answer
from avr.generation import Generation
from tests.eval.helpers import Scripted, _item


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
