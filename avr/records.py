"""AVR's record format, read from JSONL, JSON or parquet, validated row by row.

A record is one image question with its answer and, optionally, the texts that longer formats
need. The SFT builder and the RL builder both read records through here, so a row that one
accepts the other accepts too. Fields:

    image | images   path (relative to the records file), raw bytes, or {"bytes", "path"} (HF datasets)
    question         non-empty text
    answer           non-empty text or number, or a non-empty list of acceptable answers (first = target)
    choices          optional list of option texts (multiple choice)
    perception       optional text; reasoning: optional text (needs perception)
    format           optional 1 | 2 | 3; else the longest format the texts support
    source, id       optional provenance; default to the file name and row

Every problem is a ``RecordError`` that names the file and the row (1-based: the line of a JSONL
file, the row of a parquet or JSON file).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avr.formats import FormatError, build_target, infer_format
from avr.io import write_bytes

SUPPORTED_SUFFIXES = (".jsonl", ".json", ".parquet")


class RecordError(ValueError):
    """A bad row: the message names the file, the row and what is wrong."""

    def __init__(self, file: str | Path, row: int | None, message: str):
        self.file, self.row, self.reason = str(file), row, message
        where = f"{file}: row {row}" if row is not None else str(file)
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Image:
    """One validated image: its bytes, a content hash for naming and de-duplication, where it came from."""

    data: bytes
    ext: str
    sha256: str
    path: Path | None = None  # the source file when the record gave a path


@dataclass
class Record:
    question: str
    answers: list[str]
    images: list[Image]
    format: int
    choices: list[str] | None = None
    perception: str | None = None
    reasoning: str | None = None
    source: str = ""
    id: str = ""
    file: str = ""
    row: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def answer(self) -> str:
        """The target answer: the first acceptable one."""
        return self.answers[0]

    def target(self) -> str:
        """The SFT target text in this record's format (built by ``avr.formats``)."""
        return build_target(self.answer, self.perception, self.reasoning, format=self.format)


IMAGE_DIR = "images"
IMAGE_MODES = ("copy", "hardlink", "symlink")


def place_image(image: Image, out_dir: Path, mode: str = "copy") -> str:
    """Put one image under out_dir/images (content-addressed) and return its path relative to out_dir.

    Every builder that writes records or data sets beside their images goes through here, so one
    image is one file whatever wrote it. ``mode``: copy, hardlink or symlink the source file.
    """
    rel = f"{IMAGE_DIR}/{image.sha256[:32]}.{image.ext}"
    dest = out_dir / rel
    if dest.is_file() and dest.stat().st_size == len(image.data):
        return rel  # content-addressed: already there from an earlier run or row
    dest.parent.mkdir(parents=True, exist_ok=True)
    if mode != "copy" and image.path is not None:
        tmp = dest.with_name(f".{dest.name}.tmp")
        tmp.unlink(missing_ok=True)
        if mode == "hardlink":
            try:
                os.link(image.path, tmp)
            except OSError:  # another file system: fall back to a copy
                shutil.copyfile(image.path, tmp)
        else:
            os.symlink(image.path.resolve(), tmp)
        os.replace(tmp, dest)
    else:
        write_bytes(dest, image.data)
    return rel


KNOWN_FIELDS = {
    "image",
    "images",
    "question",
    "answer",
    "choices",
    "perception",
    "reasoning",
    "format",
    "source",
    "id",
}
_PIL_EXT = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "BMP": "bmp", "WEBP": "webp", "TIFF": "tiff"}


def iter_parquet(path: Path, batch_size: int = 256) -> Iterator[tuple[int, dict[str, Any]]]:
    """(1-based row, row as a dict), a batch at a time: a parquet shard never has to fit in memory."""
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as e:
        raise RecordError(path, None, f"cannot read parquet: {e}") from None
    row = 0
    for batch in pf.iter_batches(batch_size=batch_size):
        for obj in batch.to_pylist():
            row += 1
            yield row, obj


def iter_rows(path: str | Path) -> Iterator[tuple[int, dict[str, Any] | RecordError]]:
    """Yield (row number, raw dict). A row that is not a JSON object comes as a RecordError in place
    of the dict, so that a caller that skips bad rows can go on reading the rest of the file."""
    path = Path(path)
    if not path.is_file():
        raise RecordError(path, None, "no such records file")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        with path.open(encoding="utf-8") as f:
            for lineno, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    yield lineno, RecordError(path, lineno, f"not valid JSON ({e.msg} at column {e.colno})")
                    continue
                if not isinstance(obj, dict):
                    obj = RecordError(path, lineno, f"expected a JSON object, got {type(obj).__name__}")
                yield lineno, obj
    elif suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise RecordError(path, None, f"not valid JSON ({e.msg} at line {e.lineno})") from None
        if not isinstance(data, list):
            raise RecordError(path, None, "a .json records file must hold a list of objects")
        for i, obj in enumerate(data, start=1):
            if not isinstance(obj, dict):
                obj = RecordError(path, i, f"expected a JSON object, got {type(obj).__name__}")
            yield i, obj
    elif suffix == ".parquet":
        yield from iter_parquet(path)
    else:
        raise RecordError(
            path, None, f"unsupported records file type {suffix!r}; use one of {SUPPORTED_SUFFIXES}"
        )


def _text(value: Any, name: str, file: Path, row: int, *, required: bool) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RecordError(file, row, f"missing or empty {name!r}")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RecordError(file, row, f"{name!r} must be text, got {type(value).__name__}")
    return str(value).strip()


def load_image(value: Any, base_dir: Path, file: Path, row: int) -> Image:
    """Read and fully decode one image; a missing file or corrupt bytes names the row."""
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    src: Path | None = None
    data: bytes | None = None
    if isinstance(value, dict):
        data = value.get("bytes")
        if data is None and value.get("path"):
            value = value["path"]
    if isinstance(value, str):
        src = Path(value) if Path(value).is_absolute() else base_dir / value
        if not src.is_file():
            raise RecordError(file, row, f"image not found: {src}")
        data = src.read_bytes()
    elif isinstance(value, bytes | bytearray):
        data = bytes(value)
    if not data:
        raise RecordError(
            file, row, f"image must be a path, bytes or {{bytes, path}}, got {type(value).__name__}"
        )
    try:
        with PILImage.open(io.BytesIO(data)) as im:
            fmt = im.format
            im.load()  # decodes every pixel: catches truncated files, not just bad headers
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        name = src if src is not None else "inline bytes"
        raise RecordError(file, row, f"image does not decode ({name}): {e}") from None
    return Image(
        data=data, ext=_PIL_EXT.get(fmt or "", "png"), sha256=hashlib.sha256(data).hexdigest(), path=src
    )


def parse_record(raw: dict[str, Any], file: str | Path, row: int, *, base_dir: Path | None = None) -> Record:
    """Validate one raw row into a Record, or raise a RecordError naming the file, row and field."""
    file = Path(file)
    base_dir = base_dir or file.parent
    question = _text(raw.get("question"), "question", file, row, required=True)

    answer = raw.get("answer")
    values = answer if isinstance(answer, list) else [answer]
    answers = [a for a in (_text(v, "answer", file, row, required=False) for v in values) if a]
    if not answers:
        raise RecordError(file, row, "missing or empty 'answer'")

    images_raw = raw.get("images")
    if images_raw is None:
        images_raw = [] if raw.get("image") is None else [raw["image"]]
    elif not isinstance(images_raw, list):
        images_raw = [images_raw]
    if not images_raw:
        raise RecordError(file, row, "no image: give 'image' or 'images'")
    images = [load_image(v, base_dir, file, row) for v in images_raw]

    choices = raw.get("choices")
    if choices is not None:
        if not isinstance(choices, list) or not choices:
            raise RecordError(file, row, "'choices' must be a non-empty list of texts")
        choices = [_text(c, "choices", file, row, required=True) for c in choices]

    perception = _text(raw.get("perception"), "perception", file, row, required=False)
    reasoning = _text(raw.get("reasoning"), "reasoning", file, row, required=False)
    fmt = raw.get("format")
    try:
        if fmt is None or (isinstance(fmt, float) and fmt != fmt):  # None or NaN from parquet
            fmt = infer_format(perception, reasoning)
        else:
            try:
                fmt = int(str(fmt).strip().lstrip("Ff"))
            except ValueError:
                raise FormatError(f"'format' must be 1, 2 or 3, got {raw.get('format')!r}") from None
        record = Record(
            question=question,
            answers=answers,
            images=images,
            format=fmt,
            choices=choices,
            perception=perception,
            reasoning=reasoning,
            source=_text(raw.get("source"), "source", file, row, required=False) or file.stem,
            id=_text(raw.get("id"), "id", file, row, required=False) or f"{file.stem}-{row}",
            file=str(file),
            row=row,
            extra={k: v for k, v in raw.items() if k not in KNOWN_FIELDS},
        )
        record.target()  # proves the format is consistent with the texts
    except FormatError as e:
        raise RecordError(file, row, f"format inconsistent with the record: {e}") from None
    return record


def read_records(
    paths: list[str | Path], *, on_error: str = "raise", image_root: Path | None = None
) -> tuple[list[Record], list[dict[str, Any]]]:
    """Read and validate every row of every file. Returns (records, skipped).

    ``on_error="raise"`` stops at the first bad row; ``"skip"`` records it in ``skipped``
    (file, row, error) and goes on, so that the caller can write a report.
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    records: list[Record] = []
    skipped: list[dict[str, Any]] = []
    for path in map(Path, paths):
        base = image_root or path.parent
        for row, raw in iter_rows(path):
            try:
                if isinstance(raw, RecordError):
                    raise raw
                records.append(parse_record(raw, path, row, base_dir=base))
            except RecordError as e:
                if on_error == "raise":
                    raise
                skipped.append({"file": e.file, "row": e.row, "error": e.reason})
    return records, skipped
