"""The three response formats: one definition shared by data building, reward and evaluation.

A response is valid only when it is exactly one of

    F1: <answer>A</answer>
    F2: <perception>P</perception> <answer>A</answer>
    F3: <perception>P</perception> <reasoning>R</reasoning> <answer>A</answer>

Whitespace around and between the blocks is free; each block appears once, in this order, with
non-empty content that holds no tag of its own. Anything else is format 0 (malformed). The
strictness is deliberate: text outside the tags would let an RL policy reason "for free" while
claiming the short format.

Parsing is a single regular expression whose only repetition is a tempered, non-nested token, so
its cost is linear in the input: it is safe on untrusted model output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The one spelling of the formats, in metrics, reports and data cards ("perception" is format 2:
# perception, then the answer).
FORMAT_NAMES: dict[int, str] = {0: "malformed", 1: "answer", 2: "perception", 3: "full"}
# Which blocks each valid format has, in order.
FORMAT_BLOCKS: dict[int, tuple[str, ...]] = {
    1: ("answer",),
    2: ("perception", "answer"),
    3: ("perception", "reasoning", "answer"),
}

_ANY_TAG = re.compile(r"</?(?:perception|reasoning|answer)>")
# Block content: any characters that do not start one of our tags (tempered token, linear time).
_CONTENT = r"((?:(?!</?(?:perception|reasoning|answer)>).)*)"


def _block(tag: str) -> str:
    return rf"<{tag}>{_CONTENT}</{tag}>"


_FORMAT_RE: dict[int, re.Pattern[str]] = {
    k: re.compile(r"\s*" + r"\s*".join(_block(t) for t in blocks) + r"\s*", re.DOTALL)
    for k, blocks in FORMAT_BLOCKS.items()
}


@dataclass(frozen=True)
class ParsedResponse:
    """What a response says, and which format it is in (0 = malformed, all fields None)."""

    format: int
    perception: str | None = None
    reasoning: str | None = None
    answer: str | None = None

    @property
    def valid(self) -> bool:
        return self.format != 0


MALFORMED = ParsedResponse(format=0)


def parse(text: str) -> ParsedResponse:
    """Classify a response into format 1, 2 or 3, or 0 when it breaks the grammar in any way."""
    if not isinstance(text, str):
        return MALFORMED
    # Cheap pre-check: the tag count decides which format can possibly match.
    n_tags = len(_ANY_TAG.findall(text))
    k = n_tags // 2
    if n_tags % 2 or k not in _FORMAT_RE:
        return MALFORMED
    m = _FORMAT_RE[k].fullmatch(text)
    if m is None:
        return MALFORMED
    fields = dict(zip(FORMAT_BLOCKS[k], (g.strip() for g in m.groups()), strict=True))
    if not all(fields.values()):
        return MALFORMED
    return ParsedResponse(format=k, **fields)


class FormatError(ValueError):
    """A target cannot be built: a required block is missing or a text would break the grammar."""


def infer_format(perception: str | None, reasoning: str | None) -> int:
    """The format a record implies when it does not name one: the longest its fields support."""
    if reasoning and reasoning.strip():
        if not (perception and perception.strip()):
            raise FormatError("a reasoning text needs a perception text (format 3 has both)")
        return 3
    if perception and perception.strip():
        return 2
    return 1


def build_target(
    answer: str, perception: str | None = None, reasoning: str | None = None, *, format: int | None = None
) -> str:
    """The SFT target in the seed's layout: each block on its own lines, blocks split by a blank line.

    ``format`` picks the blocks; extra fields beyond that format are dropped (a data set may carry a
    perception for a question whose chosen format is the direct answer). The result always parses
    back to the same format and fields.
    """
    k = infer_format(perception, reasoning) if format is None else int(format)
    if k not in FORMAT_BLOCKS:
        raise FormatError(f"format must be 1, 2 or 3, got {format!r}")
    values = {"perception": perception, "reasoning": reasoning, "answer": answer}
    parts = []
    for tag in FORMAT_BLOCKS[k]:
        value = (values[tag] or "").strip()
        if not value:
            raise FormatError(f"format {k} needs a non-empty {tag}")
        if _ANY_TAG.search(value):
            raise FormatError(f"the {tag} text contains a format tag, which would break the grammar")
        parts.append(f"<{tag}>\n{value}\n</{tag}>")
    return "\n\n".join(parts)


IMAGE_PLACEHOLDER = "<image>"
OPTION_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

FORMAT_INSTRUCTION = (
    "Answer in exactly one of three formats, choosing the shortest one that lets you answer correctly:\n"
    "1. <answer>...</answer>\n"
    "2. <perception>what you see that matters</perception><answer>...</answer>\n"
    "3. <perception>what you see that matters</perception><reasoning>step by step</reasoning>"
    "<answer>...</answer>"
)


def format_options(choices: list[str]) -> str:
    """Lettered options, one a line: ``A. text``."""
    if len(choices) > len(OPTION_LETTERS):
        raise ValueError(f"at most {len(OPTION_LETTERS)} choices are supported, got {len(choices)}")
    return "\n".join(f"{OPTION_LETTERS[i]}. {c}" for i, c in enumerate(choices))


def build_prompt(
    question: str, choices: list[str] | None = None, *, n_images: int = 1, instruction: bool = False
) -> str:
    """The user turn, as the authors wrote it: no system prompt, ``<image>\\nQuestion: ...``.

    SFT, RL and eval all call this, so a model sees the same prompt in every stage. ``instruction``
    adds a description of the formats, for evaluating models that never saw the SFT stage.
    """
    text = IMAGE_PLACEHOLDER * n_images + ("\n" if n_images else "") + f"Question: {question.strip()}"
    if choices:
        text += "\nOptions:\n" + format_options(choices)
    if instruction:
        text += "\n\n" + FORMAT_INSTRUCTION
    return text


def prompt_to_content(prompt: str) -> list[dict[str, str]]:
    """Split a prompt at its ``<image>`` placeholders into chat content parts, as verl's RLHFDataset does.

    The text around each image is kept byte for byte, so a chat template renders exactly what
    LLaMA-Factory's Qwen3-VL plugin trained on (``<|vision_end|>\\nQuestion: ...``).
    """
    parts: list[dict[str, str]] = []
    for i, piece in enumerate(prompt.split(IMAGE_PLACEHOLDER)):
        if i:
            parts.append({"type": "image"})
        if piece:
            parts.append({"type": "text", "text": piece})
    return parts
