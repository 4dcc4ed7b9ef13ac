"""Benchmark loaders for ``avr eval``: each reads one benchmark, in its published layout, into EvalItems.

A loader takes the directory that ``huggingface-cli download <repo> --repo-type dataset --local-dir DIR``
gives (or the authors' JSON + images release, where noted), validates every row and maps the
benchmark's answer conventions onto what ``avr.grading.is_correct`` accepts (an option letter or
text with ``choices``, numbers, math, plain text). A bad row raises ``RecordError`` naming the file and
the 1-based row; every image is fully decoded at load time so a corrupt one fails here, not mid-run.

Layouts, and the source each was checked against (HF = the dataset card's ``dataset_info``/file tree):

- mathvista: ``data/{testmini,test}-*.parquet``: pid, question, image, decoded_image{bytes,path}, choices,
  unit, precision, answer, question_type (multi_choice|free_form), answer_type (integer|float|text|list),
  metadata, query; multi_choice answers are the option *text*; test answers are not public
  [HF AI4Math/MathVista README; lmms-eval tasks/mathvista].
- mathverse: ``testmini.parquet``: sample_index, problem_index, problem_version, question, image, answer,
  question_type (multi-choice|free-form), metadata{split,source,subject,subfield}, query_wo, query_cot,
  question_for_eval; options live in the question ("Choices:\\nA:..\\nB:..") and the answer is the
  letter; "Vision Only" rows have an empty question [HF AI4Math/MathVerse README; ZrrSkywalker/MathVerse].
- mathvision: ``data/{test,testmini}-*.parquet``: id, question, options (list), image, decoded_image,
  answer (a letter when options exist), solution, level, subject [HF MathLLMs/MathVision; lmms-eval].
- mmmu: ``<Subject>/{dev,validation,test}-*.parquet`` (one config per subject): id, question, options
  (a Python-list *string*), explanation, image_1..image_7, img_type, answer, topic_difficulty,
  question_type (multiple-choice|open), subfield; ``<image k>`` placeholders; test answers are "?"
  [HF MMMU/MMMU README; lmms-eval tasks/mmmu; MMMU-Benchmark/MMMU issue #7].
- mmmu_pro: ``<config>/test-*.parquet`` for configs "standard (10 options)", "standard (4 options)",
  "vision": standard = MMMU columns + subject; vision = id, image, options, answer, subject
  [HF MMMU/MMMU_Pro tree; lmms-eval tasks/mmmu_pro].
- mmstar: ``mmstar.parquet``: index, question, image, answer (letter), category, l2_category, meta_info;
  options are embedded as "Options: A: .., B: .., C: .., D: .." [HF Lin-Chen/MMStar; lmms-eval; evalscope].
- chartqa: ``data/test-*.parquet`` with type (human_test|augmented_test), question, answer, image
  [HF lmms-lab/ChartQA, used by lmms-eval]; also HuggingFaceM4/ChartQA (query, label list,
  human_or_machine), ahmed-masry/ChartQA (imgname, query, label, type, image bytes) and the authors'
  ``test/test_{human,augmented}.json`` + ``test/png/`` (imgname, query, label) [vis-nlp/ChartQA
  release]. The official metric is 5 % relaxed accuracy (kept as ``meta["relaxed_tolerance"]``).
- ai2d: ``data/test-*.parquet``: question, options (list), answer (the 0-based option *index* as a
  string), image [HF lmms-lab/ai2d; lmms-eval tasks/ai2d].
- hallusionbench: ``data/image-*.parquet``: category, subcategory, visual_input, set_id, figure_id,
  sample_note, question_id, question, gt_answer_details, gt_answer ("1" yes / "0" no), filename, image
  [HF lmms-lab/HallusionBench; lmms-eval]; also the authors' ``HallusionBench.json`` + image folder
  [tianyi-lab/HallusionBench], where visual_input "0" rows have no image (the non_image split).
- ocrbench: ``data/test-*.parquet``: dataset, question, question_type, answer (list of acceptable
  strings), image [HF echo840/OCRBench; lmms-eval]; the official metric is "answer is a substring".
- logicvista: the authors' ``data/dataset.json`` (dict id -> imagename, question, answer, reasoning,
  skill, capability, ...) + ``data/images/`` [Yijia-Xiao/LogicVista]; answers are letters ("C",
  "A, C") or digits, options are drawn in the image.
- generic: a .jsonl/.json/.parquet of AVR records (see ``avr.data.records``) plus optional
  answer_type, precision, unit.
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avr.data.records import RecordError, iter_rows, load_image, parse_record
from avr.eval.items import EvalItem
from avr.formats import OPTION_LETTERS
from avr.grading import gold_letter

DEFAULT_DATA_DIR = Path("data/benchmarks")  # the CLI's --data-dir default
GENERIC_SUFFIXES = (".jsonl", ".json", ".parquet")
VISION_ONLY_QUESTION = "Answer the question shown in the image."  # for rows whose question is only drawn
HIDDEN_ANSWERS = {"", "?"}  # MMMU's test split writes "?"; MathVista's test leaves it empty
MAX_LITERAL_CHARS = 100_000  # options strings are short; the cap bounds ast.literal_eval


class BenchmarkNotFound(FileNotFoundError):
    """No local copy (and no hub fallback): the message says where we looked and how to download."""


# --- rows ----------------------------------------------------------------------------------------


@dataclass
class Row:
    """One raw row and where it came from, so that every error names the file and the 1-based row."""

    file: str
    row: int
    index: int  # 0-based position in the benchmark: the id of rows that carry none
    data: dict[str, Any]
    base_dir: Path | None = None  # where relative image paths resolve
    context: dict[str, Any] = field(default_factory=dict)  # benchmark, split, subject...

    def error(self, message: str) -> RecordError:
        return RecordError(self.file, self.row, message)

    def text(self, key: str, *, required: bool = True) -> str | None:
        value = self.data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise self.error(f"missing or empty {key!r}")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.error(f"{key!r} must be text, got {type(value).__name__}")
        return str(value).strip()

    def gold(self, key: str = "answer") -> list[str]:
        """The acceptable answers in ``key``; an empty or hidden one is an error, never a silent skip."""
        value = self.data.get(key)
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, bool) or not isinstance(v, str | int | float | type(None)) for v in values):
            raise self.error(f"{key!r} must be text or a list of texts, got {type(value).__name__}")
        answers = [str(v).strip() for v in values if v is not None and str(v).strip() not in HIDDEN_ANSWERS]
        if not answers:
            split = self.context.get("split")
            raise self.error(
                f"no gold answer in {key!r} (got {value!r}); the {split!r} split may not publish its answers"
            )
        return answers

    def image(self, value: Any, what: str = "image") -> bytes:
        if value is None or value == "":
            raise self.error(f"missing {what}")
        if isinstance(value, dict) and value.get("bytes") is None and not value.get("path"):
            raise self.error(f"missing {what} (no bytes and no path)")
        return load_image(value, self.base_dir or Path("."), self.file, self.row).data


@dataclass(frozen=True)
class Source:
    """One file of a benchmark, with what its rows need: where images resolve, and split context."""

    path: Path
    base_dir: Path | None = None
    context: dict[str, Any] = field(default_factory=dict)
    keep: Callable[[dict[str, Any]], bool] | None = None  # rows of another split sharing the file


def _read(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows of a parquet/JSON/JSONL file; a JSON object of objects (LogicVista) is keyed by id."""
    if path.suffix.lower() != ".json":
        yield from ((row, _object(raw)) for row, raw in iter_rows(path))
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise RecordError(path, None, f"not valid JSON ({e.msg} at line {e.lineno})") from None
    if isinstance(data, dict):
        entries = [{"id": key, **v} if isinstance(v, dict) else v for key, v in data.items()]
    elif isinstance(data, list):
        entries = data
    else:
        raise RecordError(path, None, "a .json benchmark file must hold a list or an object of objects")
    for i, raw in enumerate(entries, start=1):
        if not isinstance(raw, dict):
            raise RecordError(path, i, f"expected a JSON object, got {type(raw).__name__}")
        yield i, raw


def _object(raw: dict[str, Any] | RecordError) -> dict[str, Any]:
    if isinstance(raw, RecordError):
        raise raw
    return raw


def _source_rows(sources: list[Source]) -> Iterator[Row]:
    index = 0
    for src in sources:
        for row, raw in _read(src.path):
            if src.keep is not None and not src.keep(raw):
                continue
            base = src.base_dir or src.path.parent
            yield Row(str(src.path), row, index, raw, base, dict(src.context))
            index += 1


class _HubUnavailable(Exception):
    """The hub copy could not be opened (no network, no ``datasets``, unknown repo...)."""


def _open_hub(spec: Spec, config: str | None, split: str) -> Any:
    """One hub split with its images left encoded ({bytes, path}), exactly like a local parquet's."""
    try:
        import datasets

        ds = datasets.load_dataset(spec.hub_id, config, split=split)
        for name, feature in ds.features.items():
            if isinstance(feature, datasets.Image):
                ds = ds.cast_column(name, datasets.Image(decode=False))
        return ds
    except Exception as e:
        raise _HubUnavailable(str(e)) from e


def _hub_rows(spec: Spec, split: str) -> Iterator[Row]:
    index = 0
    for config, hf_split, context in spec.hub_parts(split):
        label = f"hf://datasets/{spec.hub_id}" + (f"/{config}" if config else "") + f"[{hf_split}]"
        for row, raw in enumerate(_open_hub(spec, config, hf_split), start=1):
            yield Row(label, row, index, dict(raw), None, dict(context))
            index += 1


def _collect(
    rows: Iterator[Row],
    convert: Callable[[Row], EvalItem],
    benchmark: str,
    split: str | None,
    limit: int | None,
) -> list[EvalItem]:
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    items: list[EvalItem] = []
    first_row: dict[str, str] = {}
    for row in rows:
        if limit is not None and len(items) >= limit:
            break
        row.context = {"benchmark": benchmark, "split": split, **row.context}
        item = convert(row)
        if item.id in first_row:
            raise row.error(f"duplicate id {item.id!r} (first seen at {first_row[item.id]})")
        first_row[item.id] = f"{row.file} row {row.row}"
        items.append(item)
    return items


# --- shared conversions --------------------------------------------------------------------------

_HEADER = re.compile(r"(?:Options|Choices)\s*:", re.IGNORECASE)


def _marker(letter: str, *, first: bool) -> re.Pattern[str]:
    sep = r"\s*" if first else r"\s*(?:,|\n)\s*"  # later options start after a comma or a line break
    return re.compile(rf"{sep}(?:\({letter}\)|{letter}\s*[:.)])\s*")


def split_options(text: str) -> tuple[str, list[str]] | None:
    """Split "stem Options: A: x, B: y" or "stem\\nChoices:\\nA:x\\nB:y" into (stem, [x, y]).

    Only a block that starts at A, runs through consecutive letters to the end of the text and
    leaves a non-empty stem counts; anything else returns None so the caller keeps the question whole.
    """
    headers = list(_HEADER.finditer(text))
    if not headers:
        return None
    stem, tail = text[: headers[-1].start()].strip(), text[headers[-1].end() :]
    m = _marker("A", first=True).match(tail)
    if not stem or not m:
        return None
    starts, ends, pos = [m.end()], [], m.end()
    for letter in OPTION_LETTERS[1:]:
        m = _marker(letter, first=False).search(tail, pos)
        if not m:
            break
        ends.append(m.start())
        starts.append(m.end())
        pos = m.end()
    ends.append(len(tail))
    options = [tail[s:e].strip() for s, e in zip(starts, ends, strict=True)]
    if len(options) < 2 or not all(options):
        return None
    return stem, options


def _choices(row: Row, values: Any, key: str) -> list[str]:
    if not isinstance(values, list) or not values:
        raise row.error(f"{key!r} must be a non-empty list of option texts, got {values!r}")
    if len(values) > len(OPTION_LETTERS):
        raise row.error(f"{key!r} has {len(values)} options; at most {len(OPTION_LETTERS)} are supported")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, str | int | float) or not str(v).strip():
            raise row.error(f"{key!r} holds an empty or non-text option: {v!r}")
        out.append(str(v).strip())
    return out


def _check_mc(row: Row, answers: list[str], choices: list[str]) -> None:
    """A multiple-choice gold must name one option (letter or text), or no prediction could match it."""
    if gold_letter(answers[0], choices) is None:
        raise row.error(
            f"answer {answers[0]!r} is neither an option letter nor the text of one of the {len(choices)} options"
        )


def _scalars(values: Any) -> bool:
    return isinstance(values, list) and all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in values
    )


def _parse_list(text: str) -> list[Any] | None:
    """A Python list literal of texts/numbers, or None; ast.literal_eval builds literals, never runs code."""
    if len(text) > MAX_LITERAL_CHARS:
        return None
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return value if _scalars(value) else None


def _literal_list(row: Row, key: str) -> list[str]:
    """A list stored as a Python-literal string (MMMU's options); a real list is taken as it is."""
    raw = row.data.get(key)
    values = _parse_list(raw) if isinstance(raw, str) else raw
    if not _scalars(values):
        raise row.error(f"{key!r} is not a list literal of texts: {str(raw)[:80]!r}")
    return [str(v).strip() for v in values]


def _answer_forms(answer: str) -> list[str]:
    """MMMU writes a few open answers as a list of accepted forms ("['24/7', '3.429']"); only quoted
    strings count, so that an interval like "[1, 2]" stays one answer."""
    forms = _parse_list(answer) if answer.startswith("[") else None
    if forms and all(isinstance(f, str) for f in forms):
        return [f.strip() for f in forms if f.strip()] or [answer]
    return [answer]


def _int_or_none(row: Row, key: str) -> int | None:
    value = row.data.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise row.error(f"{key!r} must be a whole number, got {value!r}") from None
    if not number.is_integer():
        raise row.error(f"{key!r} must be a whole number, got {value!r}")
    return int(number)


def _plain(meta: dict[str, Any]) -> dict[str, Any]:
    """Keep what predictions.jsonl can hold: drop None and anything JSON cannot encode (image bytes)."""
    out = {}
    for key, value in meta.items():
        if value is None:
            continue
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            continue
        out[key] = value
    return out


def _item(row: Row, **fields: Any) -> EvalItem:
    meta = _plain({"split": row.context.get("split"), **fields.pop("meta", {})})
    return EvalItem(benchmark=row.context["benchmark"], meta=meta, **fields)


# --- one converter per benchmark -------------------------------------------------------------------


def _mathvista(row: Row) -> EvalItem:
    d = row.data
    answers = row.gold()
    qtype = row.text("question_type")
    choices, answer_type = None, row.text("answer_type", required=False)
    if qtype == "multi_choice":
        choices = _choices(row, d.get("choices"), "choices")
        _check_mc(row, answers, choices)
    elif qtype != "free_form":
        raise row.error(f"unknown question_type {qtype!r} (expected multi_choice or free_form)")
    image = d.get("decoded_image") if d.get("decoded_image") is not None else d.get("image")
    info = d.get("metadata") if isinstance(d.get("metadata"), dict) else {}
    keys = ("category", "context", "grade", "language", "skills", "source", "task")
    return _item(
        row,
        id=row.text("pid"),
        question=row.text("question"),
        images=[row.image(image, "decoded_image")],
        answers=answers,
        choices=choices,
        answer_type="multi_choice" if choices else answer_type,
        precision=_int_or_none(row, "precision"),
        unit=row.text("unit", required=False),
        meta={
            "question_type": qtype,
            "answer_type": answer_type,
            **{k: info.get(k) for k in keys},
            "query": d.get("query"),
        },
    )


def _mathverse(row: Row) -> EvalItem:
    answers = row.gold()
    qtype = row.text("question_type")
    question = row.text("question", required=False) or VISION_ONLY_QUESTION
    choices = None
    if qtype == "multi-choice":
        parsed = split_options(question)
        if parsed is not None:
            question, choices = parsed
            _check_mc(row, answers, choices)
    elif qtype != "free-form":
        raise row.error(f"unknown question_type {qtype!r} (expected multi-choice or free-form)")
    info = row.data.get("metadata") if isinstance(row.data.get("metadata"), dict) else {}
    return _item(
        row,
        id=row.text("sample_index"),
        question=question,
        images=[row.image(row.data.get("image"))],
        answers=answers,
        choices=choices,
        answer_type="multi_choice" if qtype == "multi-choice" else None,
        meta={
            "question_type": qtype,
            "problem_version": row.data.get("problem_version"),
            "problem_index": row.data.get("problem_index"),
            **{k: info.get(k) for k in ("subject", "subfield", "source")},
        },
    )


def _mathvision(row: Row) -> EvalItem:
    d = row.data
    answers = row.gold()
    options = d.get("options")
    choices = _choices(row, options, "options") if options else None
    if choices:
        _check_mc(row, answers, choices)
    image = d.get("decoded_image") if d.get("decoded_image") is not None else d.get("image")
    return _item(
        row,
        id=row.text("id"),
        question=row.text("question"),
        images=[row.image(image, "decoded_image")],
        answers=answers,
        choices=choices,
        answer_type="multi_choice" if choices else None,
        meta={"subject": d.get("subject"), "level": d.get("level")},
    )


_IMAGE_REF = re.compile(r"<image (\d+)>")


def _mmmu_images(row: Row, texts: list[str]) -> list[bytes]:
    """The images the question and options refer to (``<image k>``), in k order; else every image given."""
    refs = sorted({int(k) for t in texts for k in _IMAGE_REF.findall(t)})
    if not refs:
        refs = [k for k in range(1, 8) if row.data.get(f"image_{k}") is not None]
    if not refs:
        raise row.error("no image: every image_1..image_7 is empty")
    return [row.image(row.data.get(f"image_{k}"), f"image_{k}") for k in refs]


def _mmmu_subject(row: Row, item_id: str) -> str | None:
    """MMMU ids read <split>_<Subject>_<n>; the subject folder is the other witness."""
    parts = item_id.split("_")
    return row.context.get("subject") or ("_".join(parts[1:-1]) if len(parts) > 2 else None)


def _mmmu(row: Row, *, all_mc: bool = False) -> EvalItem:
    item_id, question = row.text("id"), row.text("question")
    qtype = "multiple-choice" if all_mc else row.text("question_type")
    options = _literal_list(row, "options")
    answers = row.gold()
    choices = None
    if qtype == "multiple-choice":
        choices = _choices(row, options, "options")
        _check_mc(row, answers, choices)
    elif qtype == "open":
        answers = [form for a in answers for form in _answer_forms(a)]
    else:
        raise row.error(f"unknown question_type {qtype!r} (expected multiple-choice or open)")
    keys = ("subfield", "topic_difficulty", "img_type")
    return _item(
        row,
        id=item_id,
        question=question,
        images=_mmmu_images(row, [question, *options]),
        answers=answers,
        choices=choices,
        answer_type="multi_choice" if choices else None,
        meta={
            "subject": row.data.get("subject") or _mmmu_subject(row, item_id),
            "question_type": qtype,
            **{k: row.data.get(k) for k in keys},
        },
    )


def _mmmu_pro(row: Row) -> EvalItem:
    if "question" in row.data:
        return _mmmu(row, all_mc=True)
    # vision: question and options are drawn in one screenshot, so the text prompt carries neither
    options = _literal_list(row, "options")
    answers = row.gold()
    if not re.fullmatch(r"[A-Z]", answers[0]) or OPTION_LETTERS.index(answers[0]) >= len(options):
        raise row.error(f"answer {answers[0]!r} is not the letter of one of the {len(options)} options")
    return _item(
        row,
        id=row.text("id"),
        question=VISION_ONLY_QUESTION,
        images=[row.image(row.data.get("image"))],
        answers=answers,
        answer_type="multi_choice",
        meta={"subject": row.data.get("subject"), "options": options},
    )


def _mmstar(row: Row) -> EvalItem:
    question, answers, choices = row.text("question"), row.gold(), None
    parsed = split_options(question)
    if parsed is not None:
        question, choices = parsed
        _check_mc(row, answers, choices)
    info = row.data.get("meta_info") if isinstance(row.data.get("meta_info"), dict) else {}
    return _item(
        row,
        id=row.text("index"),
        question=question,
        images=[row.image(row.data.get("image"))],
        answers=answers,
        choices=choices,
        answer_type="multi_choice",
        meta={
            "category": row.data.get("category"),
            "l2_category": row.data.get("l2_category"),
            "source": info.get("source"),
        },
    )


def _chartqa(row: Row) -> EvalItem:
    d = row.data
    question = row.text("question" if "question" in d else "query")
    answers = row.gold("answer" if "answer" in d else "label")
    if "human_or_machine" in d:  # HuggingFaceM4/ChartQA: a class label, 0 = human
        kind = {0: "human", 1: "augmented"}.get(d["human_or_machine"])
    else:  # lmms-lab: human_test / augmented_test; the authors' JSON: the file name
        kind = str(d.get("type") or row.context.get("type") or "").removesuffix("_test") or None
    image = d.get("image") if d.get("image") is not None else d.get("imgname")
    item_id = f"{Path(row.file).stem}-{row.row}" if "imgname" in d and "image" not in d else str(row.index)
    return _item(
        row,
        id=item_id,
        question=question,
        images=[row.image(image)],
        answers=answers,
        meta={"type": kind, "relaxed_tolerance": 0.05},
    )


def _ai2d(row: Row) -> EvalItem:
    choices = _choices(row, row.data.get("options"), "options")
    gold = row.gold()[0]
    if not gold.isdigit() or int(gold) >= len(choices):
        raise row.error(f"answer {gold!r} is not the 0-based index of one of the {len(choices)} options")
    return _item(
        row,
        id=str(row.index),
        question=row.text("question"),
        images=[row.image(row.data.get("image"))],
        answers=[OPTION_LETTERS[int(gold)]],
        choices=choices,
        answer_type="multi_choice",
    )


def _hallusionbench(row: Row) -> EvalItem:
    gold = row.gold("gt_answer")[0]
    if gold not in ("0", "1"):
        raise row.error(f"gt_answer must be '1' (yes) or '0' (no), got {gold!r}")
    keys = ("category", "subcategory", "visual_input", "set_id", "figure_id", "question_id")
    parts = [row.text(k) for k in keys]
    image = row.data.get("image") if row.data.get("image") is not None else row.data.get("filename")
    return _item(
        row,
        id="_".join(p for p, k in zip(parts, keys, strict=True) if k != "visual_input"),
        question=row.text("question"),
        images=[row.image(image)],
        answers=["yes" if gold == "1" else "no"],
        answer_type="yes_no",
        meta={
            **dict(zip(keys, parts, strict=True)),
            "sample_note": row.data.get("sample_note"),
            "gt_answer_details": row.data.get("gt_answer_details"),
        },
    )


def _ocrbench(row: Row) -> EvalItem:
    return _item(
        row,
        id=str(row.index),
        question=row.text("question"),
        images=[row.image(row.data.get("image"))],
        answers=row.gold(),
        # OCRBench's official metric: the (lower-cased) gold text appears in the answer
        meta={
            "dataset": row.data.get("dataset"),
            "question_type": row.data.get("question_type"),
            "match": "contains",
        },
    )


def _logicvista(row: Row) -> EvalItem:
    d = row.data
    answers = row.gold()
    letters = re.fullmatch(r"[A-Z](?:\s*,\s*[A-Z])+", answers[0])
    if letters:  # "A, C": also accept the letters run together
        answers = [*answers, re.sub(r"[\s,]", "", answers[0])]
    image = d.get("image") if d.get("image") is not None else d.get("imagename")
    return _item(
        row,
        id=row.text("id", required=False) or str(row.index),
        question=row.text("question"),
        images=[row.image(image, "image" if "image" in d else "imagename")],
        answers=answers,
        meta={k: d.get(k) for k in ("skill", "capability", "imagesource")},
    )


# --- where each benchmark's files are ---------------------------------------------------------------


def _glob(path: Path, *patterns: str) -> list[Path]:
    """A file given directly, else the files of the first pattern that matches anything."""
    if path.is_file():
        return [path]
    for pattern in patterns:
        found = sorted(p for p in path.glob(pattern) if p.is_file())
        if found:
            return found
    return []


def _parquet(*patterns: str) -> Callable[[Path, str], list[Source]]:
    def find(path: Path, split: str) -> list[Source]:
        return [Source(p) for p in _glob(path, *(pat.format(split=split) for pat in patterns))]

    return find


def _find_mmmu(path: Path, split: str) -> list[Source]:
    files = _glob(path, f"*/{split}-*.parquet", f"{split}-*.parquet")
    return [
        Source(p, context={} if p.parent in (path, path / "data") else {"subject": p.parent.name})
        for p in files
    ]


def _find_mmmu_pro(path: Path, split: str) -> list[Source]:
    """One folder per config, named like the config ("standard (10 options)/test-00000-of-00002.parquet")."""
    if path.is_file():
        return [Source(path)]
    return [Source(p) for p in _glob(path / split, "test-*.parquet", "*.parquet")]


def _find_chartqa(path: Path, split: str) -> list[Source]:
    files = _glob(path, f"data/{split}-*.parquet", f"{split}-*.parquet")
    if files:
        return [Source(p) for p in files]
    for root in (path / "ChartQA Dataset" / split, path / split):  # the authors' JSON + png release
        kinds = [k for k in ("human", "augmented") if (root / f"{split}_{k}.json").is_file()]
        if kinds:
            return [Source(root / f"{split}_{k}.json", root / "png", {"type": k}) for k in kinds]
    return []


def _find_hallusionbench(path: Path, split: str) -> list[Source]:
    files = _glob(path, f"data/{split}-*.parquet", f"{split}-*.parquet")
    if files:
        return [Source(p) for p in files]
    json_file = path / "HallusionBench.json"
    if not json_file.is_file():
        return []
    # the authors' JSON mixes both splits; visual_input "0" rows have no figure (the non_image split)
    return [Source(json_file, path, keep=lambda raw: str(raw.get("visual_input")) != "0")]


def _find_logicvista(path: Path, split: str) -> list[Source]:
    for json_file in (path / "data" / "dataset.json", path / "dataset.json"):
        if json_file.is_file():
            return [Source(json_file, json_file.parent / "images")]
    if path.is_file() and path.suffix == ".json":
        return [Source(path, path.parent / "images")]
    return [Source(p) for p in _glob(path, f"data/{split}-*.parquet", f"{split}-*.parquet")]


# --- the registry ----------------------------------------------------------------------------------

MMMU_SUBJECTS = [
    "Accounting",
    "Agriculture",
    "Architecture_and_Engineering",
    "Art",
    "Art_Theory",
    "Basic_Medical_Science",
    "Biology",
    "Chemistry",
    "Clinical_Medicine",
    "Computer_Science",
    "Design",
    "Diagnostics_and_Laboratory_Medicine",
    "Economics",
    "Electronics",
    "Energy_and_Power",
    "Finance",
    "Geography",
    "History",
    "Literature",
    "Manage",
    "Marketing",
    "Materials",
    "Math",
    "Mechanical_Engineering",
    "Music",
    "Pharmacy",
    "Physics",
    "Psychology",
    "Public_Health",
    "Sociology",
]


@dataclass(frozen=True)
class Spec:
    """How to find, download and convert one benchmark."""

    name: str
    hub_id: str | None
    splits: tuple[str, ...]  # the first is the default
    find: Callable[[Path, str], list[Source]]
    convert: Callable[[Row], EvalItem]
    layout: str  # what find() looks for, shown when nothing is there ({split} is filled in)
    include: str | None = None  # huggingface-cli --include pattern ({split} is filled in)
    hidden: tuple[str, ...] = ()  # splits whose answers are not public
    aliases: dict[str, str] = field(default_factory=dict)
    hub_config: Callable[[str], list[tuple[str | None, str, dict[str, Any]]]] | None = None
    download: str | None = None  # instructions when there is no hub copy
    breakdown: tuple[str, ...] = ()  # meta keys the report splits accuracy, tokens and formats by

    def hub_parts(self, split: str) -> list[tuple[str | None, str, dict[str, Any]]]:
        return self.hub_config(split) if self.hub_config else [(None, split, {})]

    def split(self, split: str | None) -> str:
        if split is None:
            return self.splits[0]
        key = re.sub(r"[^a-z0-9]", "", split.lower())
        for known in self.splits:
            if key == re.sub(r"[^a-z0-9]", "", known.lower()):
                return known
        if key in self.aliases:
            return self.aliases[key]
        raise ValueError(f"{self.name}: unknown split {split!r}; known: {', '.join(self.splits)}")


_PARQUET = _parquet("data/{split}-*.parquet", "{split}-*.parquet")  # the usual HF layout
SPECS: dict[str, Spec] = {
    s.name: s
    for s in [
        Spec(
            name="mathvista",
            breakdown=("task", "skills", "category"),
            hub_id="AI4Math/MathVista",
            splits=("testmini", "test"),
            find=_PARQUET,
            convert=_mathvista,
            layout="data/{split}-*.parquet",
            include="data/{split}-*",
            hidden=("test",),
        ),
        Spec(
            name="mathverse",
            breakdown=("problem_version", "subject"),
            hub_id="AI4Math/MathVerse",
            splits=("testmini",),
            find=_parquet("{split}.parquet", "data/{split}-*.parquet"),
            convert=_mathverse,
            layout="{split}.parquet",
            include="{split}.parquet",
            hub_config=lambda s: [(s, s, {})],
        ),
        Spec(
            name="mathvision",
            breakdown=("level", "subject"),
            hub_id="MathLLMs/MathVision",
            splits=("test", "testmini"),
            find=_PARQUET,
            convert=_mathvision,
            layout="data/{split}-*.parquet",
            include="data/{split}-*",
        ),
        Spec(
            name="mmmu",
            breakdown=("subject", "topic_difficulty"),
            hub_id="MMMU/MMMU",
            splits=("validation", "dev", "test"),
            find=_find_mmmu,
            convert=_mmmu,
            layout="<Subject>/{split}-*.parquet",
            include="*/{split}-*",
            hidden=("test",),
            aliases={"val": "validation"},
            hub_config=lambda s: [(subject, s, {"subject": subject}) for subject in MMMU_SUBJECTS],
        ),
        Spec(
            name="mmmu_pro",
            breakdown=("subject",),
            hub_id="MMMU/MMMU_Pro",
            splits=("standard (10 options)", "standard (4 options)", "vision"),
            find=_find_mmmu_pro,
            convert=_mmmu_pro,
            layout="{split}/test-*.parquet",
            include="{split}/*",
            aliases={
                "standard": "standard (10 options)",
                "standard10": "standard (10 options)",
                "standard4": "standard (4 options)",
            },
            hub_config=lambda s: [(s, "test", {})],
        ),
        Spec(
            name="mmstar",
            breakdown=("category", "l2_category"),
            hub_id="Lin-Chen/MMStar",
            splits=("val",),
            find=_parquet("mmstar.parquet", "data/{split}-*.parquet", "{split}/*.parquet"),
            convert=_mmstar,
            layout="mmstar.parquet",
            include="mmstar.parquet",
        ),
        Spec(
            name="chartqa",
            breakdown=("type",),
            hub_id="lmms-lab/ChartQA",
            splits=("test",),
            find=_find_chartqa,
            convert=_chartqa,
            layout="data/{split}-*.parquet, or the authors' {split}/{split}_human.json + {split}/png/",
            include="data/{split}-*",
        ),
        Spec(
            name="ai2d",
            hub_id="lmms-lab/ai2d",
            splits=("test",),
            find=_PARQUET,
            convert=_ai2d,
            layout="data/{split}-*.parquet",
            include="data/{split}-*",
        ),
        Spec(
            name="hallusionbench",
            breakdown=("category", "subcategory"),
            hub_id="lmms-lab/HallusionBench",
            splits=("image",),
            find=_find_hallusionbench,
            convert=_hallusionbench,
            layout="data/{split}-*.parquet, or the authors' HallusionBench.json + hallusion_bench/",
            include="data/{split}-*",
        ),
        Spec(
            name="ocrbench",
            breakdown=("question_type",),
            hub_id="echo840/OCRBench",
            splits=("test",),
            find=_PARQUET,
            convert=_ocrbench,
            layout="data/{split}-*.parquet",
        ),
        Spec(
            name="logicvista",
            breakdown=("skill", "capability"),
            hub_id=None,  # the authors publish on GitHub only
            splits=("test",),
            find=_find_logicvista,
            convert=_logicvista,
            layout="data/dataset.json + data/images/",
            download="git clone --depth 1 https://github.com/Yijia-Xiao/LogicVista {path}",
        ),
    ]
}


def breakdown_fields(name: str) -> tuple[str, ...]:
    """The meta keys a benchmark's report breaks down by; any other name (a generic file) gets the
    generic ones: ``level``, ``category`` and ``task`` where its records carry them."""
    from avr.eval.metrics import DEFAULT_BREAKDOWN

    spec = SPECS.get(name.lower().replace("-", "_"))
    return spec.breakdown if spec is not None else DEFAULT_BREAKDOWN


def download_hint(name: str, path: Path, split: str | None = None) -> str:
    """The command that puts a benchmark where the loader looks for it."""
    spec = SPECS[name]
    split = spec.split(split)
    if spec.hub_id is None:
        return (spec.download or "").format(path=shlex.quote(str(path)))
    cmd = f"huggingface-cli download {spec.hub_id} --repo-type dataset --local-dir {shlex.quote(str(path))}"
    if spec.include:
        cmd += f" --include {shlex.quote(spec.include.format(split=split))}"
    return cmd


def _load(spec: Spec, path: str | Path, split: str | None, limit: int | None) -> list[EvalItem]:
    split = spec.split(split)
    if split in spec.hidden:
        raise ValueError(
            f"{spec.name}: the {split!r} split does not publish its answers; use {spec.splits[0]!r}"
        )
    path = Path(path)
    if not path.exists():
        raise BenchmarkNotFound(
            f"{spec.name}: {path} does not exist; get it with: {download_hint(spec.name, path, split)}"
        )
    sources = spec.find(path, split)
    if not sources:
        raise BenchmarkNotFound(
            f"{spec.name}: no {split!r} files in {path} (expected {spec.layout.format(split=split)}); "
            f"get them with: {download_hint(spec.name, path, split)}"
        )
    return _collect(_source_rows(sources), spec.convert, spec.name, split, limit)


def load_mathvista(path: str | Path, *, split: str | None = None, limit: int | None = None) -> list[EvalItem]:
    """MathVista testmini (AI4Math/MathVista parquet); multi_choice golds are option texts."""
    return _load(SPECS["mathvista"], path, split, limit)


def load_mathverse(path: str | Path, *, split: str | None = None, limit: int | None = None) -> list[EvalItem]:
    """MathVerse testmini (AI4Math/MathVerse testmini.parquet); options are split out of the question."""
    return _load(SPECS["mathverse"], path, split, limit)


def load_mathvision(
    path: str | Path, *, split: str | None = None, limit: int | None = None
) -> list[EvalItem]:
    """MATH-Vision test or testmini (MathLLMs/MathVision parquet); golds are letters when options exist."""
    return _load(SPECS["mathvision"], path, split, limit)


def load_mmmu(path: str | Path, *, split: str | None = None, limit: int | None = None) -> list[EvalItem]:
    """MMMU validation (MMMU/MMMU, one folder per subject); options are a Python-list string."""
    return _load(SPECS["mmmu"], path, split, limit)


def load_mmmu_pro(path: str | Path, *, split: str | None = None, limit: int | None = None) -> list[EvalItem]:
    """MMMU-Pro (MMMU/MMMU_Pro); split = config: standard (10 options) [default], standard (4 options), vision."""
    return _load(SPECS["mmmu_pro"], path, split, limit)


def load_mmstar(path: str | Path, *, split: str | None = None, limit: int | None = None) -> list[EvalItem]:
    """MMStar val (Lin-Chen/MMStar mmstar.parquet); letter golds, options parsed out of the question."""
    return _load(SPECS["mmstar"], path, split, limit)


def load_chartqa(path: str | Path, *, split: str | None = None, limit: int | None = None) -> list[EvalItem]:
    """ChartQA test (lmms-lab/ChartQA, HuggingFaceM4/ChartQA or the authors' JSON + png)."""
    return _load(SPECS["chartqa"], path, split, limit)


def load_ai2d(path: str | Path, *, split: str | None = None, limit: int | None = None) -> list[EvalItem]:
    """AI2D test (lmms-lab/ai2d); the gold option index becomes its letter."""
    return _load(SPECS["ai2d"], path, split, limit)


def load_hallusionbench(
    path: str | Path, *, split: str | None = None, limit: int | None = None
) -> list[EvalItem]:
    """HallusionBench image split (lmms-lab/HallusionBench or the authors' JSON); gt_answer 1/0 -> yes/no."""
    return _load(SPECS["hallusionbench"], path, split, limit)


def load_ocrbench(path: str | Path, *, split: str | None = None, limit: int | None = None) -> list[EvalItem]:
    """OCRBench (echo840/OCRBench); every listed answer is acceptable."""
    return _load(SPECS["ocrbench"], path, split, limit)


def load_logicvista(
    path: str | Path, *, split: str | None = None, limit: int | None = None
) -> list[EvalItem]:
    """LogicVista (the authors' data/dataset.json + data/images/); letter or digit golds, options in the image."""
    return _load(SPECS["logicvista"], path, split, limit)


def load_generic(
    path: str | Path, *, split: str | None = None, limit: int | None = None, name: str = "generic"
) -> list[EvalItem]:
    """Any .jsonl/.json/.parquet of AVR records (question, image|images, answer, [choices], [id]) plus
    optional answer_type, precision and unit; other fields go to ``meta``."""
    path = Path(path)
    if split is not None:
        raise ValueError(f"{name}: a generic records file has no splits (got {split!r})")
    if path.suffix.lower() not in GENERIC_SUFFIXES:
        raise ValueError(f"{name}: {path} is not one of {', '.join(GENERIC_SUFFIXES)}")
    if not path.is_file():
        raise BenchmarkNotFound(f"{name}: no such file {path}")

    def convert(row: Row) -> EvalItem:
        rec = parse_record(row.data, row.file, row.row)
        if rec.choices:
            _check_mc(row, rec.answers, rec.choices)
        extra = {k: v for k, v in rec.extra.items() if k not in ("answer_type", "precision", "unit")}
        answer_type = row.text("answer_type", required=False)
        precision, unit = _int_or_none(row, "precision"), row.text("unit", required=False)
        return _item(
            row,
            id=rec.id,
            question=rec.question,
            images=[im.data for im in rec.images],
            answers=rec.answers,
            choices=rec.choices,
            answer_type=answer_type,
            precision=precision,
            unit=unit,
            meta=extra,
        )

    return _collect(_source_rows([Source(path)]), convert, name, None, limit)


BENCHMARKS: dict[str, Callable[..., list[EvalItem]]] = {
    "mathvista": load_mathvista,
    "mathverse": load_mathverse,
    "mathvision": load_mathvision,
    "mmmu": load_mmmu,
    "mmmu_pro": load_mmmu_pro,
    "mmstar": load_mmstar,
    "chartqa": load_chartqa,
    "ai2d": load_ai2d,
    "hallusionbench": load_hallusionbench,
    "ocrbench": load_ocrbench,
    "logicvista": load_logicvista,
    "generic": load_generic,
}


# --- the entry point ---------------------------------------------------------------------------------


def parse_spec(spec: str) -> tuple[str, str | None, Path | None]:
    """``NAME``, ``NAME:SPLIT``, ``NAME=PATH`` or ``NAME:SPLIT=PATH`` -> (name, split, path)."""
    head, sep, tail = spec.strip().partition("=")
    name, _, split = head.strip().partition(":")
    name, split = name.strip(), split.strip() or None
    if not name:
        raise ValueError(f"benchmark spec {spec!r} has no name; use NAME, NAME:SPLIT or NAME=PATH")
    if sep and not tail.strip():
        raise ValueError(f"benchmark spec {spec!r} has an empty PATH after '='")
    return name, split, Path(tail.strip()).expanduser() if sep else None


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in ("1", "ON", "YES", "TRUE")


def _from_hub(spec: Spec, path: Path, split: str | None, limit: int | None) -> list[EvalItem]:
    """The local copy is missing: read the hub directly when allowed, else say how to download."""
    split = spec.split(split)
    if split in spec.hidden:
        raise ValueError(
            f"{spec.name}: the {split!r} split does not publish its answers; use {spec.splits[0]!r}"
        )
    where = f"{spec.name}: no local copy at {path}"
    how = f"download it with:\n  {download_hint(spec.name, path, split)}\nor pass {spec.name}=PATH"
    if spec.hub_id is None:
        raise BenchmarkNotFound(f"{where}; {how}")
    if _offline():
        raise BenchmarkNotFound(
            f"{where} and HF_HUB_OFFLINE=1, so the hub ({spec.hub_id}) was not tried; {how}"
        )
    try:
        return _collect(_hub_rows(spec, split), spec.convert, spec.name, split, limit)
    except _HubUnavailable as e:
        raise BenchmarkNotFound(f"{where}, and loading {spec.hub_id} from the hub failed ({e}); {how}") from e


def load_benchmark(
    spec: str, *, data_dir: str | Path | None = None, limit: int | None = None
) -> list[EvalItem]:
    """Load one benchmark from a spec: ``NAME`` (``data_dir/NAME``), ``NAME=PATH``, either with ``:SPLIT``.

    A bare NAME with no local copy is read from the hub unless HF_HUB_OFFLINE=1; an unregistered NAME
    with a .jsonl/.json/.parquet PATH is a generic records file named NAME.
    """
    name, split, path = parse_spec(spec)
    key = name.lower().replace("-", "_")
    if key in SPECS:
        if path is not None:  # an explicit PATH that is missing is a typo, not a cue to download gigabytes
            return BENCHMARKS[key](path, split=split, limit=limit)
        path = Path(data_dir if data_dir is not None else DEFAULT_DATA_DIR) / key
        if path.exists():
            return BENCHMARKS[key](path, split=split, limit=limit)
        return _from_hub(SPECS[key], path, split, limit)
    if key == "generic" or (path is not None and path.suffix.lower() in GENERIC_SUFFIXES):
        if path is None:
            raise ValueError(f"{name}: a generic benchmark needs a file: {name}=PATH.jsonl|.json|.parquet")
        return load_generic(path, split=split, limit=limit, name=name)
    known = ", ".join(BENCHMARKS)
    raise ValueError(
        f"unknown benchmark {name!r}; known: {known} (or NAME=PATH with a {'/'.join(GENERIC_SUFFIXES)} file)"
    )
