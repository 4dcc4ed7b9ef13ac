"""Vision-SR1-Cold-9K (LMMs-Lab-Turtle/Vision-SR1-Cold-9K): the see-think cold-start set, format 3.

Each sharegpt row's assistant turn is ``<description>P</description> <think>R</think> \\boxed{A}``:
the description becomes the perception, the thinking the reasoning, the last box the answer.

No real file could be checked here: zli12321/Vision-SR1 holds ``A-vision_see_think.json`` (under
``LLaMA-Factory-Cold-Start/data/``) only as a file too large for the stored snapshot, and the hub is
out of reach. Run ``tests/test_data_sources_real.py`` with ``AVR_REAL_DATA`` once a copy is at hand.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from avr.data.sources.common import (
    Source,
    SourceRow,
    first_existing,
    image_value,
    layout_error,
    letter_answer,
    stream_json,
    text_field,
)
from avr.formats import OPTION_LETTERS
from avr.hub import download_command


def extract_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` in ``text``, braces balanced (``\\boxed{\\frac{1}{2}}``)."""
    starts = [m.end() for m in re.finditer(r"\\+boxed\s*\{", text)]
    if not starts:
        return None
    start = starts[-1]
    depth = 1
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start:i].strip()
    raise ValueError("unbalanced braces in \\boxed{...}")


def _tag_block(tag: str, text: str) -> str:
    found = re.findall(rf"<\s*{tag}\s*>(.*?)<\s*/\s*{tag}\s*>", text, flags=re.DOTALL)
    if not found:
        raise ValueError(f"response has no <{tag}>...</{tag}> block")
    if len(found) > 1:
        raise ValueError(f"response has {len(found)} <{tag}> blocks, expected one")
    if not found[0].strip():
        raise ValueError(f"response has an empty <{tag}> block")
    return found[0].strip()


def split_see_think(response: str) -> tuple[str, str, str]:
    """Vision-SR1's ``<description>P</description> <think>R</think> \\boxed{A}`` -> (P, R, A).

    The answer is the last ``\\boxed{}`` after ``</think>``: a box inside the reasoning is a draft.
    """
    perception = _tag_block("description", response)
    reasoning = _tag_block("think", response)
    tail = re.split(r"<\s*/\s*think\s*>", response)[-1]
    answer = extract_boxed(tail)
    if answer is None:
        raise ValueError("response has no \\boxed{...} answer after </think>")
    if not answer:
        raise ValueError("response has an empty \\boxed{} answer")
    return perception, reasoning, answer


# The instruction Vision-SR1 appends to each question (paper appendix B.1, "See-Think Prompt").
_SR1_PREAMBLES = re.compile(
    r"(?:You are tasked with analyzing an image/video|You FIRST think about the reasoning process)"
    r".*?(?:FINAL ANSWER here\}\.?|put in \\+boxed\{\}\.?|$)",
    re.DOTALL,
)
_OPTION_LINE = re.compile(r"^\(?([A-Z])[.):]\s*(.+)$")


def split_sr1_options(text: str) -> tuple[str, list[str] | None]:
    """``"Q? Options:\\nA. x\\nB. y"`` -> ``("Q?", ["x", "y"])``; text unchanged when the block is not
    exactly consecutive lettered lines (so nothing is lost from an irregular question)."""
    m = re.match(r"^(.*?)\s*\bOptions?:\s*\n(.*)$", text, flags=re.DOTALL)
    if not m:
        return text, None
    lines = [ln.strip() for ln in m.group(2).splitlines() if ln.strip()]
    options = [_OPTION_LINE.match(ln) for ln in lines]
    letters = "".join(o.group(1) if o else "?" for o in options)
    if letters != OPTION_LETTERS[: len(letters)]:
        return text, None
    choices = [o.group(2).strip() for o in options if o]
    if len(choices) < 2 or not m.group(1).strip():
        return text, None
    return m.group(1).strip(), choices


def clean_sr1_question(prompt: str) -> str:
    """A Vision-SR1 user turn without its format instruction, ``<image>`` tokens or ``Question:`` label."""
    text = _SR1_PREAMBLES.sub("", prompt).replace("<image>", "")
    text = re.sub(r"(?:\n\s*-\s*)+\s*$", "", text.strip())  # the "-" separator before the instruction
    text = re.sub(r"^\s*Question:\s*", "", text)
    return text.strip()


def sr1_record(item: dict[str, Any], root: Path, row: int) -> dict[str, Any]:
    """One LLaMA-Factory sharegpt row of ``A-vision_see_think.json`` -> a format-3 record."""
    messages = item["messages"]
    user = next((m["content"] for m in messages if m.get("role") == "user"), None)
    assistant = next((m["content"] for m in messages if m.get("role") == "assistant"), None)
    question = clean_sr1_question(text_field(user, "user message"))
    perception, reasoning, answer = split_see_think(text_field(assistant, "assistant message"))
    question, choices = split_sr1_options(question)
    if choices:
        answer = letter_answer(answer, len(choices))
    images = item.get("images") or []
    if not images:
        raise ValueError("row has no images")
    return {
        "id": f"vision_sr1_cold-{row}",
        "question": question,
        "answer": answer,
        "choices": choices,
        "perception": perception,
        "reasoning": reasoning,
        "format": 3,
        "images": [image_value(p, root) for p in images],
    }


def read_vision_sr1_cold(src: Path, split: str) -> Iterator[SourceRow]:
    """``{src}/A-vision_see_think.json`` (sharegpt: messages + ``images: ["cold_start/7.jpg"]``) and
    ``{src}/cold_start/*.jpg``. Checked: the HF repo's commit listing and zli12321/Vision-SR1
    ``LLaMA-Factory-Cold-Start/data/dataset_info.json``; RunRiotComeOn/vlm_ar process_cold_start_data.py."""
    path = first_existing([src / "A-vision_see_think.json", src / "data" / "A-vision_see_think.json"])
    if path is None:
        raise layout_error(SOURCE, src, ["A-vision_see_think.json"])
    for i, item in enumerate(stream_json(path), start=1):
        yield SourceRow(path, i, functools.partial(sr1_record, item, path.parent, i))


SOURCE = Source(
    "vision_sr1_cold",
    read_vision_sr1_cold,
    ("train",),
    download_command("LMMs-Lab-Turtle/Vision-SR1-Cold-9K", "SRC"),
    hub_repos=("LMMs-Lab-Turtle/Vision-SR1-Cold-9K",),
    hub_patterns=("A-vision_see_think.json", "cold_start/*"),
)
