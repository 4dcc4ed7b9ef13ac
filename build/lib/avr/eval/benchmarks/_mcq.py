"""Multiple-choice scoring shared by MMStar and AI2D: VLMEvalKit's rule is the reference for both.

VLMEvalKit ``vlmeval/dataset/utils/multiple_choice.py`` (``eval_vanilla`` and
``extract_answer_from_item`` with the ``exact_matching`` policy): ``can_infer`` infers one option
*letter* from the response and the hit is ``opt == GT``, the gold letter of the ``answer`` column;
no option found: "Z", wrong, and with a judge its GPT extractor is asked. The gold is always a letter
here (AI2D's parquet gives an index, turned into its letter at load), so an option whose text is a
letter never changes which letter is right. Neither benchmark's authors publish another scorer
(MMStar's authors evaluate with VLMEvalKit), so ``official`` is the same rule.
"""

from __future__ import annotations

from typing import Any

from avr.eval.rules import Verdict, gold_option_letters, letter_verdict, options_of, strict


def score(answer: str, pred: dict[str, Any], profile: str) -> Verdict:
    gold = pred.get("gold") or {}
    if profile == "strict" or not gold.get("choices"):
        return strict(answer, gold)
    options = options_of(gold)
    target = str((gold.get("answers") or [""])[0])
    return letter_verdict(answer, options, gold_option_letters(target, options))
