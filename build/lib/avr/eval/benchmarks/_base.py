"""What every benchmark loader shares: rows that know where they came from, readers for each file
layout (parquet, JSON, JSONL, VLMEvalKit TSV), the hub fallback, and a collector that skips a bad row
instead of losing the benchmark.

A row error is a ``RecordError`` naming the file and the 1-based row; ``collect`` turns it into a
``Skipped`` entry (benchmark, file, row, reason) and goes on. Only a file that cannot be read at all
(not JSON, not a table) stops a load, because then no row of it can be trusted.
"""

from __future__ import annotations

import ast
import base64
import binascii
import csv
import json
import logging
import math
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from avr.eval.items import EvalItem
from avr.formats import OPTION_LETTERS
from avr.grading import gold_letter
from avr.records import RecordError, iter_rows, load_image

log = logging.getLogger(__name__)

VISION_ONLY_QUESTION = "Answer the question shown in the image."  # for rows whose question is only drawn
HIDDEN_ANSWERS = {"", "?"}  # MMMU's test split writes "?"; MathVista's test leaves it empty
MAX_LITERAL_CHARS = 100_000  # options strings are short; the cap bounds ast.literal_eval
TSV = "vlmevalkit"  # BenchmarkSource.layout of a VLMEvalKit TSV


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
    context: dict[str, Any] = field(default_factory=dict)  # benchmark, split, subject, layout...

    def error(self, message: str) -> RecordError:
        return RecordError(self.file, self.row, message)

    @property
    def tsv(self) -> bool:
        return self.context.get("layout") == TSV

    def text(self, key: str, *, required: bool = True) -> str | None:
        value = self.data.get(key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            value = None
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
            raise self.error(f"no gold answer in {key!r} (got {value!r})")
        return answers

    def image(self, value: Any, what: str = "image") -> bytes:
        if value is None or value == "":
            raise self.error(f"missing {what}")
        if isinstance(value, dict) and value.get("bytes") is None and not value.get("path"):
            raise self.error(f"missing {what} (no bytes and no path)")
        return load_image(value, self.base_dir or Path("."), self.file, self.row).data


@dataclass(frozen=True)
class BenchmarkSource:
    """One file of a benchmark, with what its rows need: where images resolve, and split context."""

    path: Path
    base_dir: Path | None = None
    context: dict[str, Any] = field(default_factory=dict)
    keep: Callable[[dict[str, Any]], bool] | None = None  # rows of another split sharing the file


@dataclass(frozen=True)
class Skipped:
    """A row that was not loaded, and why: written to ``skipped.jsonl`` and counted in the report."""

    benchmark: str
    file: str
    row: int | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Loaded(list):
    """The items of a benchmark (a plain list to every caller) plus the rows that were skipped."""

    def __init__(self, items: list[EvalItem] = (), skipped: list[Skipped] | None = None):
        super().__init__(items)
        self.skipped: list[Skipped] = list(skipped or [])


# --- readers -------------------------------------------------------------------------------------


def _read_json(path: Path) -> Iterator[tuple[int, dict[str, Any] | RecordError]]:
    """A JSON list of objects, or an object of objects keyed by id (LogicVista, MathVista)."""
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
        if isinstance(raw, dict):
            yield i, raw
        else:
            yield i, RecordError(path, i, f"expected a JSON object, got {type(raw).__name__}")


# pandas' default missing-value strings (``pandas._libs.parsers.STR_NA_VALUES``, pandas 2.x): VLMEvalKit
# reads its TSVs with a plain ``pd.read_csv(f, sep="\t")`` (``vlmeval/smp/file.py`` ``load``), so a
# cell holding exactly one of these is NaN there, like an empty one.
PANDAS_NA = frozenset(
    ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
     "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]
)  # fmt: skip
MAX_INDEX_CHARS = 64  # VLMEvalKit: an image cell this short is another row's index, not an image


def _tsv_cell(value: str) -> str | None:
    return None if value in PANDAS_NA else value


def _image_ref(raw: dict[str, Any]) -> str | None:
    """The index an image cell refers to, when it is a reference rather than an image."""
    image = raw.get("image")
    return image if image and len(image) <= MAX_INDEX_CHARS else None


def _read_tsv(path: Path) -> Iterator[tuple[int, dict[str, Any] | RecordError]]:
    """A VLMEvalKit TSV (pandas ``to_csv(sep='\t')``): one row a question, images as base64.

    VLMEvalKit saves space by writing, in place of a repeated image, the ``index`` of the row that
    holds it (a cell of 64 characters or fewer), and resolves it against the whole file, before or
    after the row (``vlmeval/dataset/image_base.py`` ``ImageBaseDataset.__init__``). Only referenced
    images are kept in memory: a first pass finds the references and keeps the images of rows
    referenced by an earlier row; the second keeps those of rows referenced by a later one as it
    meets them.
    """
    csv.field_size_limit(sys.maxsize)  # one base64 image is megabytes

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f, delimiter="\t")
            if not reader.fieldnames or "index" not in reader.fieldnames:
                raise RecordError(path, None, "not a VLMEvalKit TSV: no header with an 'index' column")
            for i, raw in enumerate(reader, start=2):  # row 1 is the header
                yield i, {k: _tsv_cell(v) for k, v in raw.items() if k is not None}

    wanted: set[str] = set()
    images: dict[str, str] = {}
    for _, raw in rows():
        ref = _image_ref(raw)
        if ref is not None:
            wanted.add(ref)
        elif raw.get("image") and str(raw.get("index")) in wanted:
            images[str(raw["index"])] = raw["image"]  # referenced by a row above it
    for i, raw in rows():
        ref = _image_ref(raw)
        if ref is None:
            if raw.get("image") and str(raw.get("index")) in wanted:
                images[str(raw["index"])] = raw["image"]  # referenced by a row below it
        elif ref in images:
            raw["image"] = images[ref]
        else:
            yield i, RecordError(path, i, f"image refers to index {ref!r}, which holds no image in this file")
            continue
        yield i, raw


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | RecordError]]:
    """Rows of a parquet/JSON/JSONL/TSV file; a row that is not an object comes as a RecordError."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _read_json(path)
    if suffix == ".tsv":
        return _read_tsv(path)
    return iter_rows(path)


def decode_base64_image(row: Row, value: Any, what: str = "image") -> list[bytes]:
    """VLMEvalKit's image cell: one base64 string, or a list literal of them (multi-image items)."""
    if not isinstance(value, str) or not value.strip():
        raise row.error(f"missing {what}")
    cells = parse_list(value, max_chars=None) if value.lstrip().startswith("[") else [value]
    if not cells:
        raise row.error(f"{what} is not base64 or a list of base64 strings")
    out = []
    for cell in cells:
        try:
            data = base64.b64decode(str(cell), validate=False)
        except (binascii.Error, ValueError):
            raise row.error(f"{what} is not valid base64") from None
        out.append(load_image(data, Path("."), row.file, row.row).data)
    return out


# --- the hub fallback ----------------------------------------------------------------------------


class HubUnavailable(Exception):
    """The hub copy could not be opened (no network, no ``datasets``, unknown repo...)."""


def open_hub(hub_id: str, config: str | None, split: str) -> Any:
    """One hub split with its images left encoded ({bytes, path}), exactly like a local parquet's."""
    try:
        import datasets

        ds = datasets.load_dataset(hub_id, config, split=split)
        for name, feature in ds.features.items():
            if isinstance(feature, datasets.Image):
                ds = ds.cast_column(name, datasets.Image(decode=False))
        return ds
    except Exception as e:
        raise HubUnavailable(str(e)) from e


# --- collecting ----------------------------------------------------------------------------------


def source_rows(sources: list[BenchmarkSource]) -> Iterator[Row | RecordError]:
    index = 0
    for src in sources:
        layout = {"layout": TSV} if src.path.suffix.lower() == ".tsv" else {}
        for row, raw in read_rows(src.path):
            if isinstance(raw, RecordError):
                yield raw
                continue
            if src.keep is not None and not src.keep(raw):
                continue
            base = src.base_dir or src.path.parent
            yield Row(str(src.path), row, index, raw, base, {**layout, **src.context})
            index += 1


def collect(
    rows: Iterator[Row | RecordError],
    convert: Callable[[Row], EvalItem],
    benchmark: str,
    split: str | None,
    limit: int | None,
) -> Loaded:
    """Convert every row; a bad one is skipped and listed, never the end of the benchmark."""
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    out = Loaded()
    first_row: dict[str, str] = {}
    for row in rows:
        if limit is not None and len(out) >= limit:
            break
        try:
            if isinstance(row, RecordError):
                raise row
            row.context = {"benchmark": benchmark, "split": split, **row.context}
            item = convert(row)
            if item.id in first_row:
                raise row.error(f"duplicate id {item.id!r} (first seen at {first_row[item.id]})")
        except RecordError as e:
            out.skipped.append(Skipped(benchmark, str(e.file), e.row, e.reason))
            continue
        first_row[item.id] = f"{row.file} row {row.row}"
        out.append(item)
    if out.skipped:
        log.warning("%s: %d rows skipped (first: %s)", benchmark, len(out.skipped), out.skipped[0].reason)
    return out


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


def choices_of(row: Row, values: Any, key: str) -> list[str]:
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


def option_columns(row: Row) -> tuple[list[str], list[str]]:
    """VLMEvalKit's options and their letters: every letter column A..Z whose cell is not NaN, in
    letter order (``multiple_choice.py`` ``build_choices``, ``ImageMCQDataset.build_prompt``); an
    empty letter does not end them."""
    texts, letters = [], []
    for letter in OPTION_LETTERS:
        value = row.text(letter, required=False)
        if value is not None:
            texts.append(value)
            letters.append(letter)
    return texts, letters


_LETTER_LIST = re.compile(r"[A-Z](?:\s*(?:,|and|&)?\s*[A-Z])*")


def gold_letters(answer: str, n_choices: int) -> list[str] | None:
    """The option letters of a gold that names one or several options ("C", "A, C", "BD"), else None."""
    s = answer.strip()
    if not _LETTER_LIST.fullmatch(s):
        return None
    letters = re.findall(r"[A-Z]", s)
    if len(set(letters)) != len(letters) or any(OPTION_LETTERS.index(x) >= n_choices for x in letters):
        return None
    return letters


def check_mc(row: Row, answers: list[str], choices: list[str], *, several: bool = False) -> None:
    """A multiple-choice gold must name one option (letter or text), or with ``several`` a set of
    letters (MathVerse, LogicVista); otherwise no prediction could match it."""
    if gold_letter(answers[0], choices) is not None or answers[0] in choices:
        return  # an exact option text counts even when normalising would make two options alike
    if several and gold_letters(answers[0], len(choices)):
        return
    raise row.error(
        f"answer {answers[0]!r} is neither an option letter nor the text of one of the {len(choices)} options"
    )


def _scalars(values: Any) -> bool:
    return isinstance(values, list) and all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in values
    )


def parse_list(text: str, max_chars: int | None = MAX_LITERAL_CHARS) -> list[Any] | None:
    """A Python list literal of texts/numbers, or None; ast.literal_eval builds literals, never runs code."""
    if max_chars is not None and len(text) > max_chars:
        return None
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return value if _scalars(value) else None


def parse_dict(text: str, max_chars: int = MAX_LITERAL_CHARS) -> dict[str, Any] | None:
    """A dict of texts/numbers written as a Python literal ("{'subject': 'Plane Geometry'}"), or None.
    VLMEvalKit reads it with ``json.loads`` after turning ' into " (``MathVerse_acc``); a literal
    parse reads the same cells, and values holding an apostrophe too. Never runs code."""
    if len(text) > max_chars:
        return None
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        try:
            value = json.loads(text.replace("'", '"'))
        except (json.JSONDecodeError, RecursionError):
            return None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, str | int | float)) for k, v in value.items()
    ):
        return None
    return value


def literal_list(row: Row, key: str) -> list[str]:
    """A list stored as a Python-literal string (MMMU's options); a real list is taken as it is."""
    raw = row.data.get(key)
    values = parse_list(raw) if isinstance(raw, str) else raw
    if not _scalars(values):
        raise row.error(f"{key!r} is not a list literal of texts: {str(raw)[:80]!r}")
    return [str(v).strip() for v in values]


def answer_forms(answer: str) -> list[str]:
    """MMMU writes a few open answers as a list of accepted forms ("['24/7', '3.429']"); only quoted
    strings count, so that an interval like "[1, 2]" stays one answer."""
    forms = parse_list(answer) if answer.startswith("[") else None
    if forms and all(isinstance(f, str) for f in forms):
        return [f.strip() for f in forms if f.strip()] or [answer]
    return [answer]


def int_or_none(row: Row, key: str) -> int | None:
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


def make_item(row: Row, **fields: Any) -> EvalItem:
    meta = _plain({"split": row.context.get("split"), **fields.pop("meta", {})})
    return EvalItem(benchmark=row.context["benchmark"], meta=meta, **fields)


def tsv_item(row: Row, **overrides: Any) -> EvalItem:
    """One VLMEvalKit TSV row in its common columns: index, image (base64) or image_path, question,
    hint, option columns A..., answer, category, l2-category, split; ``overrides`` win.

    A gold letter that names no option is kept, as VLMEvalKit keeps the row: no answer can hit it,
    and it stays in the accuracy's denominator (``eval_vanilla``: ``opt == GT``)."""
    question = row.text("question", required=False) or VISION_ONLY_QUESTION
    hint = row.text("hint", required=False)
    options, letters = option_columns(row)
    if "images" not in overrides:
        if row.data.get("image"):
            overrides["images"] = decode_base64_image(row, row.data["image"])
        else:
            paths = row.data.get("image_path")
            paths = (parse_list(paths) or [paths]) if isinstance(paths, str) else paths
            overrides["images"] = [row.image(p, "image_path") for p in paths or [None]]
    fields: dict[str, Any] = {
        "id": row.text("index"),
        "question": f"Hint: {hint}\n{question}" if hint else question,
        "answers": row.gold(),
        "choices": options or None,
        "option_letters": letters if letters != list(OPTION_LETTERS[: len(letters)]) else None,
        "answer_type": "multi_choice" if options else None,
    }
    if "choices" in overrides:
        fields["option_letters"] = None  # options from a column of their own (a list literal), lettered A..
    meta = {
        "category": row.data.get("category"),
        "l2_category": row.data.get("l2-category"),
        "tsv_split": row.data.get("split"),
        **overrides.pop("meta", {}),
    }
    fields.update(overrides)
    return make_item(row, meta=meta, **fields)


# --- finding files -------------------------------------------------------------------------------


def glob_files(path: Path, *patterns: str) -> list[Path]:
    """A file given directly, else the files of the first pattern that matches anything."""
    if path.is_file():
        return [path]
    for pattern in patterns:
        found = sorted(p for p in path.glob(pattern) if p.is_file())
        if found:
            return found
    return []


def parquet_finder(*patterns: str) -> Callable[[Path, str], list[BenchmarkSource]]:
    def find(path: Path, split: str) -> list[BenchmarkSource]:
        return [BenchmarkSource(p) for p in glob_files(path, *(pat.format(split=split) for pat in patterns))]

    return find


PARQUET = parquet_finder("data/{split}-*.parquet", "{split}-*.parquet")  # the usual HF layout


# --- one benchmark's description -----------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """How to find, download and convert one benchmark."""

    name: str
    hub_id: str | None
    splits: tuple[str, ...]  # the first is the default
    find: Callable[[Path, str], list[BenchmarkSource]]
    convert: Callable[[Row], EvalItem]
    layout: str  # what find() looks for, shown when nothing is there ({split} is filled in)
    include: str | None = None  # hf download --include pattern ({split} is filled in)
    hidden: tuple[str, ...] = ()  # splits whose answers are not public
    aliases: dict[str, str] = field(default_factory=dict)
    hub_config: Callable[[str], list[tuple[str | None, str, dict[str, Any]]]] | None = None
    download: str | None = None  # instructions when there is no hub copy
    breakdown: tuple[str, ...] = ()  # meta keys the report splits accuracy, tokens and formats by
    tsv: Callable[[Row], EvalItem] | None = None  # a row of the VLMEvalKit TSV; default tsv_item
    # A VLMEvalKit TSV holding several splits (MMMU_DEV_VAL.tsv): each row's ``split`` column is its
    # split, and the headline is the first of these splits present, as VLMEvalKit reports it.
    headline_splits: tuple[str, ...] = ()

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

    def known_split(self, value: Any) -> str | None:
        """A split name as this benchmark spells it ("val" -> "validation"), or None if unknown."""
        if value is None or not str(value).strip():
            return None
        try:
            return self.split(str(value))
        except ValueError:
            return None

    def row_split(self, raw: dict[str, Any]) -> str | None:
        """The split a TSV row's ``split`` column names, where that column holds this benchmark's splits."""
        return self.known_split(raw.get("split")) if self.headline_splits else None

    def converter(self, row: Row) -> EvalItem:
        """The row's own layout decides: a VLMEvalKit TSV row, or the benchmark's published one."""
        if not row.tsv:
            return self.convert(row)
        item = (self.tsv or tsv_item)(row)
        split = self.row_split(row.data)
        if split is not None:
            item.meta["split"] = split  # the row's own split, not the one asked for
        return item

    def select_split(self, sources: list[BenchmarkSource], asked: str | None) -> list[BenchmarkSource]:
        """Where one TSV holds several splits, keep the rows of the split asked for (all when none
        is), each row's ``split`` column deciding (VLMEvalKit ``report_acc`` groups by it)."""
        if not self.headline_splits or asked is None:
            return sources
        wanted = self.split(asked)

        def keep(raw: dict[str, Any]) -> bool:
            split = self.row_split(raw)
            return split is None or split == wanted

        return [replace(s, keep=keep) if s.path.suffix.lower() == ".tsv" else s for s in sources]
