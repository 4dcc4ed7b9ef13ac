"""Inference modes: how much the model is allowed (or made) to think, and what that costs.

- ``adaptive``: the model picks its format (what FS-GRPO trains for).
- ``forced:1|2|3``: the assistant turn is prefilled with the format's opening tag; for formats 2 and
  3 generation stops at ``</perception>`` (``</reasoning>``) and the next tag is prefilled, so the
  model cannot drift into another format.
- ``consensus[:k]``: ARM's consensus-guided mode. Sample k direct answers; if they all agree, answer;
  otherwise sample k with perception; if those disagree too, answer with full reasoning (greedy).

Every mode returns, per item, the final response text and ``tokens``: every token of the work it
did, all samples and every forced tag included, because the claim being measured is a cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from avr.eval.items import EvalItem
from avr.eval.rules import padded_choices
from avr.formats import parse
from avr.generation import Backend, GenRequest
from avr.grading import is_correct

OPEN = {"perception": "<perception>", "reasoning": "<reasoning>", "answer": "<answer>"}
CLOSE = {k: v.replace("<", "</") for k, v in OPEN.items()}
# Prefills follow the SFT targets' layout (avr.formats.build_target): a newline after each opening tag
# and a blank line between blocks. A bare "<perception>" tokenizes differently from the "<perception>\n"
# the model was trained on, and a model then often ends its turn at once.
PREFILL = {k: v + "\n" for k, v in OPEN.items()}
BLOCKS = {1: ["answer"], 2: ["perception", "answer"], 3: ["perception", "reasoning", "answer"]}


@dataclass(frozen=True)
class Mode:
    name: str  # "adaptive" | "forced" | "consensus"
    format: int | None = None  # forced:k
    k: int = 3  # consensus samples per level

    def __str__(self) -> str:
        if self.name == "forced":
            return f"forced:{self.format}"
        if self.name == "consensus":
            return f"consensus:{self.k}"
        return self.name


def parse_mode(spec: str) -> Mode:
    """``adaptive``, ``forced:1|2|3`` or ``consensus[:k]``; anything else is an error naming it."""
    name, _, arg = spec.strip().partition(":")
    if name == "adaptive" and not arg:
        return Mode("adaptive")
    if name == "forced" and arg in ("1", "2", "3"):
        return Mode("forced", format=int(arg))
    if name == "consensus":
        if not arg:
            return Mode("consensus")
        if arg.isdigit() and int(arg) >= 2:
            return Mode("consensus", k=int(arg))
    raise ValueError(f"unknown mode {spec!r}; use adaptive, forced:1, forced:2, forced:3 or consensus[:k>=2]")


def _request(item: EvalItem, instruction: bool, **kw: Any) -> GenRequest:
    """The item's request. Options lettered out of order (A, B, D) are written into the question as
    ``build_prompt`` writes options, since it letters them A, B, C...: the prompt reads the same."""
    if item.option_letters and item.choices:
        lines = "\n".join(f"{k}. {c}" for k, c in zip(item.option_letters, item.choices, strict=True))
        question = f"{item.question.strip()}\nOptions:\n{lines}"
        return GenRequest(question, item.images, None, instruction=instruction, **kw)
    return GenRequest(item.question, item.images, item.choices, instruction=instruction, **kw)


def run_forced(
    backend: Backend,
    items: list[EvalItem],
    fmt: int,
    *,
    instruction: bool = False,
    n: int = 1,
    temperature: float | None = None,
) -> list[list[dict[str, Any]]]:
    """Generate ``n`` responses per item in format ``fmt``, one block at a time, batched over items.

    Returns per item a list of ``{"response", "tokens"}``; a sample whose block did not close (budget
    or end of sequence) keeps what it has and stops there.
    """
    blocks = BLOCKS[fmt]
    # state per (item, sample): text so far, still going
    texts = [[""] * n for _ in items]
    alive = [[True] * n for _ in items]
    ends = [[0] * n for _ in items]  # the end-of-turn token of the last block (not in the decoded text)
    for bi, block in enumerate(blocks):
        tag = ("\n\n" if bi else "") + PREFILL[block]
        last = bi == len(blocks) - 1
        stop = [] if last else [CLOSE[block]]
        for i in range(len(items)):
            for s in range(n):
                if alive[i][s]:
                    texts[i][s] += tag
        if bi == 0:
            # all samples share the first prefill: one request with n samples per item
            reqs = [
                _request(it, instruction, prefill=PREFILL[block], stop=stop, n=n, temperature=temperature)
                for it in items
            ]
            outs = backend.generate(reqs)
            for i, gens in enumerate(outs):
                for s, g in enumerate(gens):
                    texts[i][s] += g.text
                    alive[i][s] = last or g.text.endswith(stop[0])
                    if last:
                        ends[i][s] = min(1, max(0, g.tokens - backend.count_tokens(g.text)))
        else:
            keys = [(i, s) for i in range(len(items)) for s in range(n) if alive[i][s]]
            reqs = [
                _request(items[i], instruction, prefill=texts[i][s], stop=stop, n=1, temperature=temperature)
                for i, s in keys
            ]
            for (i, s), gens in zip(keys, backend.generate(reqs) if reqs else [], strict=True):
                g = gens[0]
                texts[i][s] += g.text
                alive[i][s] = last or g.text.endswith(stop[0])
                if last:
                    ends[i][s] = min(1, max(0, g.tokens - backend.count_tokens(g.text)))
    # Tokens: what the assembled response costs when one pass writes it (the tags included, plus the
    # end-of-turn token the last block generated), so forced:3 costs what an always-reasoning model
    # costs. Summing each block's own count instead charges tokens that straddle a prefilled tag (BPE
    # merges across it, a stop string ending inside a token): 4 of 35 on the small model's format 3.
    return [
        [
            {"response": texts[i][s], "tokens": backend.count_tokens(texts[i][s]) + ends[i][s]}
            for s in range(n)
        ]
        for i in range(len(items))
    ]


def _agree(answers: list[str | None], choices: list[str] | None) -> bool:
    """All samples valid and each equivalent to the first (the grader decides equivalence)."""
    if not answers or any(a is None for a in answers):
        return False
    first = answers[0]
    return all(is_correct(a, first, choices) for a in answers[1:])


def run_mode(
    mode: Mode,
    backend: Backend,
    items: list[EvalItem],
    *,
    instruction: bool = False,
    consensus_temperature: float = 0.7,
) -> list[dict[str, Any]]:
    """One prediction per item: ``{"response", "tokens", "levels"}`` (levels: consensus escalations)."""
    if mode.name == "adaptive":
        outs = backend.generate([_request(it, instruction) for it in items])
        return [{"response": g[0].text, "tokens": g[0].tokens, "levels": 1} for g in outs]
    if mode.name == "forced":
        return [
            {**s[0], "levels": 1} for s in run_forced(backend, items, mode.format, instruction=instruction)
        ]

    results: list[dict[str, Any] | None] = [None] * len(items)
    spent = [0] * len(items)
    pending = list(range(len(items)))
    for level in (1, 2):
        if not pending:
            break
        samples = run_forced(
            backend,
            [items[i] for i in pending],
            level,
            instruction=instruction,
            n=mode.k,
            temperature=consensus_temperature,
        )
        still = []
        for i, group in zip(pending, samples, strict=True):
            spent[i] += sum(s["tokens"] for s in group)
            answers = [parse(s["response"]).answer for s in group]
            if _agree(answers, padded_choices(items[i].choices, items[i].option_letters)):
                results[i] = {"response": group[0]["response"], "tokens": spent[i], "levels": level}
            else:
                still.append(i)
        pending = still
    if pending:
        final = run_forced(backend, [items[i] for i in pending], 3, instruction=instruction)
        for i, group in zip(pending, final, strict=True):
            results[i] = {
                "response": group[0]["response"],
                "tokens": spent[i] + group[0]["tokens"],
                "levels": 3,
            }
    return results  # type: ignore[return-value]
