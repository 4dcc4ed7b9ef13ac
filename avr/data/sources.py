"""Converters from the public data sets the paper trained on to AVR records.

Each converter reads one data set in the layout its publisher ships (a ``huggingface-cli download``
snapshot or the official release archive) and yields one build step per source row; ``convert``
validates every row with ``avr.data.records.parse_record`` and writes ``{out}/{name}.jsonl`` plus
content-addressed images under ``{out}/images/``. The JSONL is written atomically at the end and
images are named by their hash, so a rerun overwrites consistently and an interrupted run leaves
nothing half-written.

The format of a row is the longest one the data set's *own* texts support in full: Vision-SR1's
see-think responses give format 3, CLEVR's scene graph gives a perception (format 2), and every other
set gives a direct answer (format 1). Texts that support only part of a longer format travel in the
row anyway (ScienceQA's ``solution`` as ``reasoning``, GQA's ``fullAnswer`` as ``full_answer``) so a
later annotation step can complete them; the explicit ``format`` keeps such a row valid.

Multiple-choice rows store the options in ``choices`` and the answer as its letter, as the authors did.
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from tqdm import tqdm

from avr.data.records import Image, RecordError, iter_parquet, parse_record, place_image
from avr.formats import FORMAT_NAMES, OPTION_LETTERS
from avr.io import write_jsonl, write_report


class SourceRow(NamedTuple):
    """One source row: where it is (file, 1-based row) and how to build its record dict.

    ``build`` returns the record (with ``images``: absolute paths or bytes), ``None`` for a row the
    converter leaves out on purpose (a text-only question), or raises ``ValueError``/``KeyError`` for a
    malformed row. Building lazily lets ``convert`` name the row in every error.
    """

    file: Path
    row: int
    build: Callable[[], dict[str, Any] | None]


@dataclass(frozen=True)
class Source:
    """A registered data set: its reader, the splits it knows, and how to get it."""

    name: str
    read: Callable[[Path, str], Iterator[SourceRow]]
    splits: tuple[str, ...]
    download: str
    default_split: str = "train"
    hub_repos: tuple[str, ...] = ()
    hub_patterns: tuple[str, ...] = ("*.parquet", "*.md")

    def __call__(self, src: str | Path, split: str | None = None) -> Iterator[SourceRow]:
        return self.read(Path(src), self.check_split(split))

    def check_split(self, split: str | None) -> str:
        split = split or self.default_split
        if split not in self.splits:
            raise ValueError(f"{self.name}: unknown split {split!r}; known: {', '.join(self.splits)}")
        return split


# ---------------------------------------------------------------------------------------------------
# Small pure helpers, each tested on its own.


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


def split_options(text: str) -> tuple[str, list[str] | None]:
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


def letter_answer(answer: str, n_choices: int) -> str:
    """``"C"``, ``"(C)"``, ``"C."`` -> ``"C"`` when C is an option; any other answer unchanged."""
    m = re.fullmatch(r"\(?([A-Za-z])[.)]?", answer.strip())
    if m and OPTION_LETTERS.find(m.group(1).upper()) in range(n_choices):
        return m.group(1).upper()
    return answer.strip()


def rank_answers(answers: Iterable[Any]) -> list[str]:
    """Annotator answers -> distinct answers, most common first (ties keep their first appearance)."""
    counts = Counter(str(a).strip() for a in answers if a is not None and str(a).strip())
    return [a for a, _ in counts.most_common()]


def describe_clevr_scene(objects: list[dict[str, Any]]) -> str:
    """A perception text from a CLEVR scene graph: every object's attributes, left to right."""
    if not objects:
        raise ValueError("scene has no objects")
    ordered = sorted(objects, key=lambda o: o["pixel_coords"][0])
    items = [f"a {o['size']} {o['color']} {o['material']} {o['shape']}" for o in ordered]
    n = len(items)
    return f"The scene has {n} object{'s' if n != 1 else ''}. From left to right: {', '.join(items)}."


def _choice_letter(index: Any, n_choices: int) -> str:
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n_choices:
        raise ValueError(f"answer index {index!r} is not one of the {n_choices} choices")
    return OPTION_LETTERS[index]


def _image_value(value: Any, base: Path) -> bytes | Path:
    """A parquet image cell (HF ``{bytes, path}``) or a path string -> bytes or an absolute path."""
    if isinstance(value, dict):
        if value.get("bytes"):
            return bytes(value["bytes"])
        value = value.get("path")
    if isinstance(value, bytes | bytearray) and value:
        return bytes(value)
    if isinstance(value, str) and value:
        return Path(value) if Path(value).is_absolute() else base / value
    raise ValueError(f"no image in this row (got {type(value).__name__})")


def _load_json(path: Path) -> Any:
    if not path.is_file():
        raise RecordError(path, None, "no such file")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise RecordError(path, None, f"not valid JSON ({e.msg} at line {e.lineno})") from None


def _first_existing(candidates: Iterable[Path]) -> Path | None:
    return next((p for p in candidates if p.exists()), None)


def _layout_error(name: str, src: Path, looked: Iterable[str]) -> RecordError:
    how = SOURCES[name].download.replace("SRC", str(src))
    return RecordError(src, None, f"not a {name} layout: looked for {', '.join(looked)}; get it with: {how}")


def _split_parquets(src: Path, aliases: Iterable[str]) -> list[Path]:
    """Parquet files of one split in a hub snapshot: ``data/train-0000-of-0001.parquet``,
    ``val2014-*.parquet`` or the converter's ``default/train/0000.parquet``."""
    aliases = tuple(aliases)
    found: set[Path] = set()
    for depth in range(4):
        for p in src.glob("*/" * depth + "*.parquet"):
            rel = p.relative_to(src)
            if any(re.match(rf"{re.escape(a)}(?:[-_.]|$)", p.name) or a in rel.parts[:-1] for a in aliases):
                found.add(p)
    parents = sorted({p.parent for p in found})
    if len(parents) > 1:
        names = ", ".join(str(p.relative_to(src)) for p in parents)
        raise RecordError(
            src, None, f"parquet files of this split in several folders ({names}); point at one"
        )
    return sorted(found)


def _parquet_rows(files: list[Path]) -> Iterator[tuple[Path, int, dict[str, Any]]]:
    for f in files:
        for row, obj in iter_parquet(f, batch_size=64):
            yield f, row, obj


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"missing or empty {name!r}")
    return value.strip()


# ---------------------------------------------------------------------------------------------------
# Vision-SR1-Cold-9K


def sr1_record(item: dict[str, Any], root: Path, row: int) -> dict[str, Any]:
    """One LLaMA-Factory sharegpt row of ``A-vision_see_think.json`` -> a format-3 record."""
    messages = item["messages"]
    user = next((m["content"] for m in messages if m.get("role") == "user"), None)
    assistant = next((m["content"] for m in messages if m.get("role") == "assistant"), None)
    question = clean_sr1_question(_text(user, "user message"))
    perception, reasoning, answer = split_see_think(_text(assistant, "assistant message"))
    question, choices = split_options(question)
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
        "images": [_image_value(p, root) for p in images],
    }


def read_vision_sr1_cold(src: Path, split: str) -> Iterator[SourceRow]:
    """``{src}/A-vision_see_think.json`` (sharegpt: messages + ``images: ["cold_start/7.jpg"]``) and
    ``{src}/cold_start/*.jpg``. Checked: the HF repo's commit listing and zli12321/Vision-SR1
    ``LLaMA-Factory-Cold-Start/data/dataset_info.json``; RunRiotComeOn/vlm_ar process_cold_start_data.py."""
    path = _first_existing([src / "A-vision_see_think.json", src / "data" / "A-vision_see_think.json"])
    if path is None:
        raise _layout_error("vision_sr1_cold", src, ["A-vision_see_think.json"])
    data = _load_json(path)
    if not isinstance(data, list):
        raise RecordError(path, None, "expected a JSON list of sharegpt rows")
    for i, item in enumerate(data, start=1):
        yield SourceRow(path, i, functools.partial(sr1_record, item, path.parent, i))


# ---------------------------------------------------------------------------------------------------
# OK-VQA


def okvqa_record(
    question: dict[str, Any], answers: list[Any], image: bytes | Path, id_: str
) -> dict[str, Any]:
    """A question and its annotators' answers -> a direct-answer record, most common answer first."""
    ranked = rank_answers(answers)
    if not ranked:
        raise ValueError("no annotator answers")
    return {
        "id": id_,
        "question": _text(question.get("question"), "question"),
        "answer": ranked,
        "format": 1,
        "images": [image],
    }


def _okvqa_answer_texts(annotation: dict[str, Any]) -> list[Any]:
    return [a.get("answer") if isinstance(a, dict) else a for a in annotation.get("answers") or []]


def read_okvqa(src: Path, split: str) -> Iterator[SourceRow]:
    """Official: ``OpenEnded_mscoco_{split}2014_questions.json`` + ``mscoco_{split}2014_annotations.json``
    with COCO images in ``{src}/{split}2014/COCO_{split}2014_{id:012d}.jpg``; or the lmms-lab/OK-VQA
    parquet (``data/val2014-*.parquet``: question_id, question, answers, image). Checked: okvqa.allenai.org
    file names as read by the HuggingFaceM4/OK-VQA script, lmms-eval ok_vqa utils (doc["answers"])."""
    qfile = _first_existing(
        d / f"OpenEnded_mscoco_{split}2014_questions.json" for d in (src, src / "annotations", src / "okvqa")
    )
    if qfile is None:
        files = _split_parquets(src, (f"{split}2014", split, *(("validation",) if split == "val" else ())))
        if not files:
            raise _layout_error(
                "okvqa", src, [f"OpenEnded_mscoco_{split}2014_questions.json", f"{split}2014-*.parquet"]
            )
        for f, row, obj in _parquet_rows(files):
            qid = obj.get("question_id")
            id_ = f"okvqa-{qid}" if qid is not None else f"okvqa-{split}-{f.stem}-{row}"
            build = functools.partial(_okvqa_parquet_record, obj, f.parent, id_)
            yield SourceRow(f, row, build)
        return
    afile = qfile.parent / f"mscoco_{split}2014_annotations.json"
    questions = _load_json(qfile)
    annotations = _load_json(afile)
    by_qid = {a.get("question_id"): a for a in annotations.get("annotations", [])}
    image_dir = _first_existing(
        d / f"{split}2014" for d in (src, src / "images", src / "coco", qfile.parent)
    ) or (src / f"{split}2014")
    for i, q in enumerate(questions.get("questions", []), start=1):
        yield SourceRow(qfile, i, functools.partial(_okvqa_official_record, q, by_qid, image_dir, split))


def _okvqa_official_record(q: dict, by_qid: dict, image_dir: Path, split: str) -> dict[str, Any]:
    qid = q["question_id"]
    if qid not in by_qid:
        raise ValueError(f"question {qid} has no entry in the annotations file")
    image = image_dir / f"COCO_{split}2014_{int(q['image_id']):012d}.jpg"
    return okvqa_record(q, _okvqa_answer_texts(by_qid[qid]), image, f"okvqa-{qid}")


def _okvqa_parquet_record(obj: dict, base: Path, id_: str) -> dict[str, Any]:
    return okvqa_record(obj, _okvqa_answer_texts(obj), _image_value(obj.get("image"), base), id_)


# ---------------------------------------------------------------------------------------------------
# GQA


def gqa_record(qid: str, q: dict[str, Any], image_dir: Path) -> dict[str, Any]:
    """A GQA question -> a direct-answer record with the short answer.

    ``fullAnswer`` ("The bowl is on the left of the table.") restates the answer rather than describing
    what was seen, so it is kept as ``full_answer`` and not used as a perception.
    """
    row = {
        "id": f"gqa-{qid}",
        "question": _text(q.get("question"), "question"),
        "answer": _text(q.get("answer"), "answer"),
        "format": 1,
        "images": [image_dir / f"{_text(q.get('imageId'), 'imageId')}.jpg"],
    }
    if isinstance(q.get("fullAnswer"), str) and q["fullAnswer"].strip():
        row["full_answer"] = q["fullAnswer"].strip()
    return row


def read_gqa(src: Path, split: str) -> Iterator[SourceRow]:
    """Official questions1.2: ``{split}_questions.json`` (a dict qid -> {question, answer, fullAnswer,
    imageId, ...}; ``train_all`` is a folder of shards) and ``{src}/images/{imageId}.jpg``. Checked:
    cs.stanford.edu/people/dorarad/gqa/download.html file names and public loaders of the JSON."""
    bases = (src, src / "questions1.2", src / "questions")
    files: list[Path] = []
    for d in bases:
        if (d / f"{split}_questions.json").is_file():
            files = [d / f"{split}_questions.json"]
            break
        if (d / f"{split}_questions").is_dir():
            files = sorted((d / f"{split}_questions").glob(f"{split}_questions*.json"))
            break
    if not files:
        raise _layout_error("gqa", src, [f"{split}_questions.json", f"questions1.2/{split}_questions.json"])
    image_dir = _first_existing([src / "images", src / "allImages" / "images"]) or (src / "images")
    for path in files:
        data = _load_json(path)
        if not isinstance(data, dict):
            raise RecordError(path, None, "expected a JSON object: question id -> question")
        for i, (qid, q) in enumerate(data.items(), start=1):
            yield SourceRow(path, i, functools.partial(gqa_record, qid, q, image_dir))


# ---------------------------------------------------------------------------------------------------
# Geometry3K


def geometry3k_official_record(data: dict[str, Any], problem_dir: Path) -> dict[str, Any]:
    """InterGPS ``data.json`` (problem_text, choices, answer letter) -> a multiple-choice record."""
    choices = data.get("choices")
    if not isinstance(choices, list) or len(choices) < 2:
        raise ValueError("'choices' must list the options")
    answer = letter_answer(_text(data.get("answer"), "answer"), len(choices))
    if answer not in OPTION_LETTERS[: len(choices)]:
        raise ValueError(f"answer {answer!r} is not an option letter")
    return {
        "id": f"geometry3k-{data.get('id', problem_dir.name)}",
        "question": _text(data.get("problem_text"), "problem_text"),
        "answer": answer,
        "choices": [str(c) for c in choices],
        "format": 1,
        "images": [problem_dir / "img_diagram.png"],
    }


def geometry3k_hub_record(obj: dict[str, Any], base: Path, id_: str) -> dict[str, Any]:
    """hiyouga/geometry3k (images, problem with ``<image>``, answer value) -> a free-form record."""
    images = obj.get("images")
    if not isinstance(images, list) or not images:
        raise ValueError("row has no images")
    return {
        "id": id_,
        "question": _text(obj.get("problem"), "problem").replace("<image>", "").strip(),
        "answer": _text(str(obj.get("answer") or ""), "answer"),
        "format": 1,
        "images": [_image_value(v, base) for v in images],
    }


def read_geometry3k(src: Path, split: str) -> Iterator[SourceRow]:
    """InterGPS release: ``{src}/{split}/{id}/data.json`` + ``img_diagram.png``; or hiyouga/geometry3k
    parquet (``data/{train,validation,test}-*.parquet``: images, problem, answer). Checked: InterGPS
    loaders reading data.json (problem_text, choices, answer letter); hiyouga/geometry3k users (EasyR1)."""
    split_dir = _first_existing(
        [src / split, src / "geometry3k" / split, src / "data" / "geometry3k" / split]
    )
    if split_dir is not None and split_dir.is_dir():
        dirs = [d for d in split_dir.iterdir() if (d / "data.json").is_file()]
        dirs.sort(key=lambda d: (not d.name.isdigit(), int(d.name) if d.name.isdigit() else 0, d.name))
        for d in dirs:  # one problem per folder: its data.json is the file, row 1
            yield SourceRow(d / "data.json", 1, functools.partial(_geometry3k_dir, d))
        return
    aliases = (split, "validation") if split == "val" else (split,)
    files = _split_parquets(src, aliases)
    if not files:
        raise _layout_error("geometry3k", src, [f"{split}/<id>/data.json", f"data/{split}-*.parquet"])
    for n, (f, row, obj) in enumerate(_parquet_rows(files), start=1):
        yield SourceRow(
            f, row, functools.partial(geometry3k_hub_record, obj, f.parent, f"geometry3k-{split}-{n}")
        )


def _geometry3k_dir(d: Path) -> dict[str, Any]:
    data = json.loads((d / "data.json").read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("data.json is not an object")
    return geometry3k_official_record(data, d)


# ---------------------------------------------------------------------------------------------------
# ScienceQA


def scienceqa_record(p: dict[str, Any], image: bytes | Path | None, id_: str) -> dict[str, Any] | None:
    """A ScienceQA problem -> a multiple-choice record; ``None`` for a question without an image.

    The hint (text context) is appended to the question because many answers depend on it; the
    ``solution`` becomes ``reasoning`` and ``lecture`` is kept, but the row stays format 1 since the
    set has no perception text.
    """
    if image is None:
        return None
    choices = p.get("choices")
    if not isinstance(choices, list) or len(choices) < 2:
        raise ValueError("'choices' must list the options")
    question = _text(p.get("question"), "question")
    hint = (p.get("hint") or "").strip()
    row: dict[str, Any] = {
        "id": id_,
        "question": f"{question}\nContext: {hint}" if hint else question,
        "answer": _choice_letter(p.get("answer"), len(choices)),
        "choices": [str(c) for c in choices],
        "format": 1,
        "images": [image],
    }
    if (p.get("solution") or "").strip():
        row["reasoning"] = p["solution"].strip()
    if (p.get("lecture") or "").strip():
        row["lecture"] = p["lecture"].strip()
    for key in ("subject", "topic", "category", "skill", "grade"):
        if p.get(key):
            row[key] = p[key]
    return row


def read_scienceqa(src: Path, split: str) -> Iterator[SourceRow]:
    """Official: ``problems.json`` (pid -> {question, choices, answer index, hint, image, lecture,
    solution, split}) with ``images/{split}/{pid}/image.png``; or the derek-thomas / lmms-lab ScienceQA
    parquet (same columns, image inline). Image questions only. Checked: lupantech/ScienceQA
    tools/download.sh; lmms-lab/ScienceQA dataset card features."""
    problems_path = _first_existing(
        d / "problems.json" for d in (src, src / "data" / "scienceqa", src / "scienceqa")
    )
    if problems_path is not None:
        base = problems_path.parent
        problems = _load_json(problems_path)
        if not isinstance(problems, dict):
            raise RecordError(problems_path, None, "expected a JSON object: pid -> problem")
        for i, (pid, p) in enumerate(problems.items(), start=1):
            if not isinstance(p, dict) or p.get("split") != split:
                continue
            image = None
            if p.get("image"):
                image = _first_existing(
                    [base / "images" / split / pid / p["image"], base / split / pid / p["image"]]
                ) or (base / "images" / split / pid / p["image"])
            yield SourceRow(
                problems_path, i, functools.partial(scienceqa_record, p, image, f"scienceqa-{pid}")
            )
        return
    files = _split_parquets(src, (split, "validation") if split == "val" else (split,))
    if not files:
        raise _layout_error("scienceqa", src, ["problems.json", f"data/{split}-*.parquet"])
    for n, (f, row, obj) in enumerate(_parquet_rows(files), start=1):
        yield SourceRow(f, row, functools.partial(_scienceqa_hub, obj, f.parent, f"scienceqa-{split}-{n}"))


def _scienceqa_hub(obj: dict, base: Path, id_: str) -> dict[str, Any] | None:
    image = _image_value(obj["image"], base) if obj.get("image") else None
    return scienceqa_record(obj, image, id_)


# ---------------------------------------------------------------------------------------------------
# ChartQA


def chartqa_record(query: Any, label: Any, image: bytes | Path, id_: str, origin: str) -> dict[str, Any]:
    """A chart question -> a direct-answer record (``label`` is one answer or a list of them)."""
    labels = label if isinstance(label, list) else [label]
    answers = [str(a).strip() for a in labels if a is not None and str(a).strip()]
    if not answers:
        raise ValueError("missing or empty 'label'")
    return {
        "id": id_,
        "question": _text(query, "query"),
        "answer": answers if len(answers) > 1 else answers[0],
        "format": 1,
        "images": [image],
        "origin": origin,
    }


def read_chartqa(src: Path, split: str) -> Iterator[SourceRow]:
    """Official (github vis-nlp/ChartQA): ``ChartQA Dataset/{split}/{split}_human.json`` and
    ``_augmented.json`` (imgname, query, label) with ``{split}/png/``; or HuggingFaceM4/ChartQA parquet
    (image, query, label list, human_or_machine). Checked: vis-nlp/ChartQA test_human.json; the
    HuggingFaceM4/ChartQA dataset card."""
    split_dir = _first_existing([src / split, src / "ChartQA Dataset" / split])
    if split_dir is not None and (split_dir / f"{split}_human.json").is_file():
        for origin in ("human", "augmented"):
            path = split_dir / f"{split}_{origin}.json"
            if not path.is_file():
                continue
            data = _load_json(path)
            if not isinstance(data, list):
                raise RecordError(path, None, "expected a JSON list")
            for i, q in enumerate(data, start=1):
                build = functools.partial(
                    _chartqa_official, q, split_dir / "png", f"chartqa-{split}-{origin}-{i}", origin
                )
                yield SourceRow(path, i, build)
        return
    files = _split_parquets(src, (split,))
    if not files:
        raise _layout_error("chartqa", src, [f"{split}/{split}_human.json", f"data/{split}-*.parquet"])
    for n, (f, row, obj) in enumerate(_parquet_rows(files), start=1):
        origin = {0: "human", 1: "augmented"}.get(obj.get("human_or_machine"), "unknown")
        image = obj.get("image")
        build = functools.partial(_chartqa_hub, obj, image, f.parent, f"chartqa-{split}-{n}", origin)
        yield SourceRow(f, row, build)


def _chartqa_official(q: Any, png: Path, id_: str, origin: str) -> dict[str, Any]:
    if not isinstance(q, dict):
        raise ValueError("expected an object with imgname, query, label")
    return chartqa_record(
        q.get("query"), q.get("label"), png / _text(q.get("imgname"), "imgname"), id_, origin
    )


def _chartqa_hub(obj: dict, image: Any, base: Path, id_: str, origin: str) -> dict[str, Any]:
    return chartqa_record(obj.get("query"), obj.get("label"), _image_value(image, base), id_, origin)


# ---------------------------------------------------------------------------------------------------
# CLEVR


def clevr_record(
    q: dict[str, Any], image_dir: Path, scene: dict[str, Any] | None, split: str
) -> dict[str, Any]:
    """A CLEVR question -> a perception record when its scene graph is known, else a direct answer."""
    answer = q.get("answer")
    row: dict[str, Any] = {
        "id": f"clevr-{split}-{q.get('question_index')}",
        "question": _text(q.get("question"), "question"),
        "answer": _text(str(answer) if answer is not None else "", "answer"),
        "format": 1,
        "images": [image_dir / _text(q.get("image_filename"), "image_filename")],
    }
    if scene is not None:
        row["perception"] = describe_clevr_scene(scene.get("objects") or [])
        row["format"] = 2
    return row


def read_clevr(src: Path, split: str) -> Iterator[SourceRow]:
    """Official CLEVR_v1.0: ``questions/CLEVR_{split}_questions.json`` ({"questions": [...]}),
    ``images/{split}/``, optional ``scenes/CLEVR_{split}_scenes.json`` for perception. Checked: the
    CLEVR_v1.0 release layout used by clevr-iep / CLEVR dataset-generation."""
    root = _first_existing([src / "questions", src / "CLEVR_v1.0" / "questions"])
    root = root.parent if root is not None else src
    qpath = root / "questions" / f"CLEVR_{split}_questions.json"
    if not qpath.is_file():
        raise _layout_error("clevr", src, [f"questions/CLEVR_{split}_questions.json"])
    spath = root / "scenes" / f"CLEVR_{split}_scenes.json"
    scenes: dict[Any, dict] = {}
    if spath.is_file():
        scenes = {s.get("image_index"): s for s in _load_json(spath).get("scenes", [])}
    questions = _load_json(qpath).get("questions", [])
    image_dir = root / "images" / split
    for i, q in enumerate(questions, start=1):
        scene = scenes.get(q.get("image_index")) if isinstance(q, dict) else None
        yield SourceRow(qpath, i, functools.partial(clevr_record, q, image_dir, scene, split))


# ---------------------------------------------------------------------------------------------------
# TQA (Textbook Question Answering)


def tqa_record(q: dict[str, Any], split_dir: Path, row: int) -> dict[str, Any]:
    """A TQA diagram question -> a multiple-choice record; the answer key ("b") becomes its letter."""
    options = q.get("answerChoices")
    if not isinstance(options, dict) or len(options) < 2:
        raise ValueError("'answerChoices' must hold the options")
    keys = sorted(options)
    choices = [
        _text(options[k].get("processedText") or options[k].get("rawText"), "answerChoices") for k in keys
    ]
    correct = (q.get("correctAnswer") or {}).get("processedText")
    if correct not in options:
        raise ValueError(f"correct answer {correct!r} is not one of the choices {keys}")
    return {
        "id": f"tqa-{q.get('globalID') or f'{split_dir.name}-{row}'}",
        "question": _text((q.get("beingAsked") or {}).get("processedText"), "beingAsked"),
        "answer": OPTION_LETTERS[keys.index(correct)],
        "choices": choices,
        "format": 1,
        "images": [split_dir / _text(q.get("imagePath"), "imagePath")],
    }


def read_tqa(src: Path, split: str) -> Iterator[SourceRow]:
    """Official tqa_train_val_test: ``{split}/tqa_v1_{split}.json``, a list of lessons whose
    ``questions.diagramQuestions`` hold (beingAsked, answerChoices, correctAnswer key, imagePath relative to
    the split folder). Diagram questions only. Checked: public TQA loaders reading tqa_v1_train.json."""
    split_dir = _first_existing([src / split, src / "tqa_train_val_test" / split])
    path = None
    if split_dir is not None:
        path = _first_existing(sorted(split_dir.glob(f"tqa_v*_{split}.json")))
    if path is None:
        raise _layout_error("tqa", src, [f"{split}/tqa_v1_{split}.json"])
    lessons = _load_json(path)
    if not isinstance(lessons, list):
        raise RecordError(path, None, "expected a JSON list of lessons")
    row = 0
    for lesson in lessons:
        questions = ((lesson or {}).get("questions") or {}).get("diagramQuestions") or {}
        for q in questions.values():
            row += 1
            yield SourceRow(path, row, functools.partial(tqa_record, q, path.parent, row))


# ---------------------------------------------------------------------------------------------------
# Registry and the one entry point.

SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            "vision_sr1_cold",
            read_vision_sr1_cold,
            ("train",),
            "huggingface-cli download LMMs-Lab-Turtle/Vision-SR1-Cold-9K --repo-type dataset --local-dir SRC",
            hub_repos=("LMMs-Lab-Turtle/Vision-SR1-Cold-9K",),
            hub_patterns=("A-vision_see_think.json", "cold_start/*"),
        ),
        Source(
            "okvqa",
            read_okvqa,
            ("train", "val"),
            "huggingface-cli download lmms-lab/OK-VQA --repo-type dataset --local-dir SRC  (val only); or the "
            "official files from https://okvqa.allenai.org/download.html with COCO images in SRC/{split}2014/",
            hub_repos=("lmms-lab/OK-VQA",),
        ),
        Source(
            "gqa",
            read_gqa,
            ("train_balanced", "val_balanced", "testdev_balanced", "train_all", "val_all", "testdev_all"),
            "download questions1.2.zip and images.zip from https://cs.stanford.edu/people/dorarad/gqa/download.html "
            "and unzip both into SRC (SRC/questions1.2/*_questions.json, SRC/images/*.jpg)",
            default_split="train_balanced",
        ),
        Source(
            "geometry3k",
            read_geometry3k,
            ("train", "val", "test"),
            "huggingface-cli download hiyouga/geometry3k --repo-type dataset --local-dir SRC; or the InterGPS "
            "release (github.com/lupantech/InterGPS: data/geometry3k/{train,val,test}/<id>/) as SRC",
            hub_repos=("hiyouga/geometry3k",),
        ),
        Source(
            "scienceqa",
            read_scienceqa,
            ("train", "val", "test"),
            "huggingface-cli download derek-thomas/ScienceQA --repo-type dataset --local-dir SRC; or the official "
            "release (github.com/lupantech/ScienceQA: data/scienceqa/problems.json + tools/download.sh images)",
            hub_repos=("derek-thomas/ScienceQA",),
        ),
        Source(
            "chartqa",
            read_chartqa,
            ("train", "val", "test"),
            "huggingface-cli download HuggingFaceM4/ChartQA --repo-type dataset --local-dir SRC; or "
            "git clone https://github.com/vis-nlp/ChartQA and use 'ChartQA/ChartQA Dataset' as SRC",
            hub_repos=("HuggingFaceM4/ChartQA",),
        ),
        Source(
            "clevr",
            read_clevr,
            ("train", "val"),
            "wget https://dl.fbaipublicfiles.com/clevr/CLEVR_v1.0.zip && unzip CLEVR_v1.0.zip "
            "(SRC = the CLEVR_v1.0 folder)",
        ),
        Source(
            "tqa",
            read_tqa,
            ("train", "val"),
            "wget https://ai2-public-datasets.s3.amazonaws.com/tqa/tqa_train_val_test.zip && unzip it "
            "(SRC = the tqa_train_val_test folder)",
        ),
    )
}


def get_source(name: str) -> Source:
    if name not in SOURCES:
        raise ValueError(f"unknown data set {name!r}; known: {', '.join(sorted(SOURCES))}")
    return SOURCES[name]


def resolve_src(source: Source, src: str | Path) -> Path:
    """A local directory, or a hub snapshot for ``hf://owner/name`` (or a known repo id) when online.

    A snapshot gives exactly the published layout the reader knows, so there is one code path per
    layout and the offline fixtures test it.
    """
    text = str(src)
    path = Path(text).expanduser()
    repo = text[len("hf://") :] if text.startswith("hf://") else None
    if repo is None and path.exists():
        if not path.is_dir():
            raise FileNotFoundError(f"{source.name}: {path} is not a directory")
        return path
    if repo is None and text in source.hub_repos:
        repo = text
    if repo is not None:
        if not source.hub_repos:
            raise FileNotFoundError(
                f"{source.name}: no hub layout is supported, only the official release; download it:\n  "
                + source.download.replace("SRC", "DIR")
            )
        if os.environ.get("HF_HUB_OFFLINE") == "1":
            raise FileNotFoundError(
                f"{source.name}: {text} is a hub id but HF_HUB_OFFLINE=1; download it first:\n  "
                + source.download.replace("SRC", "DIR")
            )
        from huggingface_hub import snapshot_download

        return Path(
            snapshot_download(repo_id=repo, repo_type="dataset", allow_patterns=list(source.hub_patterns))
        )
    raise FileNotFoundError(
        f"{source.name}: no such directory {path.resolve()}; download it first:\n  "
        + source.download.replace("SRC", str(path))
    )


_TINY_PNG: bytes | None = None


def _tiny_png() -> bytes:
    """A valid stand-in image, so that a row whose image was already checked is not decoded again."""
    global _TINY_PNG
    if _TINY_PNG is None:
        from PIL import Image as PILImage

        buf = io.BytesIO()
        PILImage.new("RGB", (1, 1)).save(buf, format="PNG")
        _TINY_PNG = buf.getvalue()
    return _TINY_PNG


class _ImageStore:
    """Content-addressed images under ``out/images``; a source file shared by many questions (COCO,
    CLEVR, GQA) is read and decoded once."""

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.by_path: dict[Path, str] = {}
        self.written: dict[tuple[str, str], str] = {}

    def put(self, image: Image) -> str:
        key = (image.sha256, image.ext)
        if key not in self.written:  # spares a stat per repeated image; place_image skips files already there
            self.written[key] = place_image(image, self.out_dir)
        return self.written[key]


def _describe(e: BaseException) -> str:
    if isinstance(e, KeyError):
        return f"missing field {e.args[0]!r}"
    return str(e) or type(e).__name__


def _finish(raw: dict[str, Any], file: Path, row: int, name: str, store: _ImageStore) -> dict[str, Any]:
    """Validate one built row with ``parse_record`` and return the JSONL row that points at out/images."""
    images = raw.pop("images")
    known = [store.by_path.get(v) if isinstance(v, Path) else None for v in images]
    probe_images = [
        _tiny_png() if k else (str(v) if isinstance(v, Path) else v)
        for v, k in zip(images, known, strict=True)
    ]
    probe = {k: v for k, v in raw.items() if v is not None}
    record = parse_record({**probe, "images": probe_images, "source": name}, file, row)
    rels = []
    for value, cached, image in zip(images, known, record.images, strict=True):
        rel = cached or store.put(image)
        if isinstance(value, Path):
            store.by_path[value] = rel
        rels.append(rel)
    out: dict[str, Any] = {"id": record.id, "source": name}
    out["image" if len(rels) == 1 else "images"] = rels[0] if len(rels) == 1 else rels
    out["question"] = record.question
    out["answer"] = record.answers[0] if len(record.answers) == 1 else record.answers
    for key in ("choices", "perception", "reasoning"):
        if getattr(record, key):
            out[key] = getattr(record, key)
    out["format"] = record.format
    out.update(record.extra)
    return out


def convert(
    name: str,
    src: str | Path,
    out_dir: str | Path,
    *,
    split: str | None = None,
    limit: int | None = None,
    on_error: str = "raise",
) -> dict[str, Any]:
    """Convert data set ``name`` from ``src`` into ``{out_dir}/{name}.jsonl`` + ``{out_dir}/images/``.

    ``on_error="raise"`` stops at the first malformed row with a ``RecordError`` naming the source file
    and row; ``"skip"`` leaves it out and lists it in ``{name}.skipped.jsonl``. ``limit`` caps the rows
    written. Returns the stats: rows, skipped, filtered (left out by design), by_format, path.
    """
    source = get_source(name)
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    split = source.check_split(split)
    root = resolve_src(source, src)
    out = Path(out_dir)
    store = _ImageStore(out)
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    filtered = 0
    progress = tqdm(desc=f"{name} ({split})", unit="row", disable=None)
    try:
        for item in source.read(root, split):
            if limit is not None and len(rows) >= limit:
                break
            progress.update()
            try:
                try:
                    raw = item.build()
                except (ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as e:
                    if isinstance(e, RecordError):
                        raise
                    raise RecordError(item.file, item.row, _describe(e)) from None
                if raw is None:
                    filtered += 1
                    continue
                rows.append(_finish(raw, item.file, item.row, name, store))
            except RecordError as e:
                if on_error == "raise":
                    raise
                skipped.append({"file": e.file, "row": e.row, "error": e.reason})
    finally:
        progress.close()
    path = out / f"{name}.jsonl"
    write_jsonl(path, rows)
    skipped_path = out / f"{name}.skipped.jsonl"
    write_report(skipped_path, skipped)
    by_format = Counter(r["format"] for r in rows)
    return {
        "name": name,
        "split": split,
        "src": str(root),
        "path": str(path),
        "rows": len(rows),
        "skipped": len(skipped),
        "filtered": filtered,
        "images": len(store.written),
        "by_format": {FORMAT_NAMES[k]: v for k, v in sorted(by_format.items())},
        "skipped_path": str(skipped_path) if skipped else None,
    }
