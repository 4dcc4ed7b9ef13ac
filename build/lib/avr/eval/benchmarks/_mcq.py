"""Multiple-choice scoring shared by MMStar and AI2D: VLMEvalKit's rule is the reference for both.

VLMEvalKit ``vlmeval/dataset/utils/multiple_choice.py`` (``extract_answer_from_item`` with the
``exact_matching`` policy): ``can_infer`` on the options; no option found: "Z", wrong, and with a
judge its GPT extractor is asked. Neither benchmark's authors publish another scorer (MMStar's
authors evaluate with VLMEvalKit), so ``official`` is the same rule.
"""

from __future__ import annotations

from typing import Any

from avr.eval.rules import Verdict, can_infer, choice_dict, exact_letters, strict
from avr.grading import gold_letter


def score(answer: str, pred: dict[str, Any], profile: str) -> Verdict:
    gold = pred.get("gold") or {}
    choices = gold.get("choices")
    if profile == "strict" or not choices:
        return strict(answer, gold)
    target = str((gold.get("answers") or [""])[0])
    targets = exact_letters(target, choices) or [gold_letter(target, choices)]
    letter = can_infer(answer, choice_dict(choices))
    return Verdict(letter is not None and letter in targets, needs_judge=letter is None)
