"""``convert``: one data set split -> validated records in ``{out}/{name}-{split}.jsonl`` + ``{out}/images/``.

Every row is validated with ``avr.records.parse_record``; images are content-addressed and the
JSONL is streamed to a temporary file renamed into place at the end, so a rerun overwrites
consistently and an interrupted run leaves nothing half-written.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from avr.data.sources.common import SourceRow
from avr.data.sources.registry import get_source, resolve_src
from avr.formats import FORMAT_NAMES
from avr.io import atomic_open, write_rows_report
from avr.records import Image, RecordError, parse_record, place_image

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


# U+FFFD stands where a character was lost to a wrong encoding before the data set was published
# (ChartQA's "Angela Merkel\ufffds", "the highest\ufffd Programmable aid").
_LOST = "\ufffd"
_LOST_RUN = re.compile(r"[ \t]*\ufffd+[ \t]*")


def mend_lost_characters(raw: dict[str, Any]) -> list[str]:
    """Replace U+FFFD in a row's texts by a space, in place, and name the fields mended.

    The lost character cannot be recovered, but a question, option or explanation stays readable
    without it; an answer does not (nothing could be graded against it), so that row is refused.
    """
    answers = raw.get("answer")
    if any(_LOST in str(a) for a in (answers if isinstance(answers, list) else [answers])):
        raise ValueError("the answer holds U+FFFD, a character lost to a wrong encoding")
    mended = []
    for key in ("question", "perception", "reasoning", "choices"):
        value = raw.get(key)
        if isinstance(value, str) and _LOST in value:
            raw[key] = _LOST_RUN.sub(" ", value).strip()
            mended.append(key)
        elif isinstance(value, list) and any(isinstance(v, str) and _LOST in v for v in value):
            raw[key] = [_LOST_RUN.sub(" ", v).strip() if isinstance(v, str) else v for v in value]
            mended.append(key)
    return mended


@dataclass
class _Tally:
    seen: int = 0
    rows: int = 0
    filtered: int = 0
    repaired: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)
    by_format: Counter = field(default_factory=Counter)


def _convert_row(item: SourceRow, name: str, store: _ImageStore, tally: _Tally) -> dict[str, Any] | None:
    """One source row -> its output row, or None when the converter leaves it out on purpose."""
    try:
        raw = item.build()
        mended = mend_lost_characters(raw) if raw is not None else []
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as e:
        if isinstance(e, RecordError):
            raise
        raise RecordError(item.file, item.row, _describe(e)) from None
    if raw is None:
        return None
    if mended:
        raw["repaired"] = mended
        tally.repaired += 1
    return _finish(raw, item.file, item.row, name, store)


def _converted(
    items: Iterator[SourceRow], name: str, store: _ImageStore, on_error: str, limit: int | None, tally: _Tally
) -> Iterator[dict[str, Any]]:
    """The output rows, one at a time, so that nothing but the current row is held in memory."""
    while limit is None or tally.rows < limit:
        try:
            item = next(items, None)
        except RecordError as e:
            # The source file stopped being readable part way (a truncated download): the rows before
            # it stand; with nothing read yet it is a wrong --src and always an error.
            if on_error == "raise" or tally.seen == 0:
                raise
            tally.skipped.append({"file": e.file, "row": e.row, "error": e.reason})
            return
        if item is None:
            return
        tally.seen += 1
        try:
            row = _convert_row(item, name, store, tally)
        except RecordError as e:
            if on_error == "raise":
                raise
            tally.skipped.append({"file": e.file, "row": e.row, "error": e.reason})
            continue
        if row is None:
            tally.filtered += 1
            continue
        tally.rows += 1
        tally.by_format[row["format"]] += 1
        yield row


def output_paths(out_dir: str | Path, name: str, split: str) -> tuple[Path, Path]:
    """Where ``convert`` writes a split: its records and its skipped-row report. The split is in the
    name so that converting two splits into one directory keeps both."""
    out = Path(out_dir)
    return out / f"{name}-{split}.jsonl", out / f"{name}-{split}.skipped.jsonl"


def convert(
    name: str,
    src: str | Path,
    out_dir: str | Path,
    *,
    split: str | None = None,
    limit: int | None = None,
    on_error: str = "raise",
) -> dict[str, Any]:
    """Convert data set ``name`` from ``src`` into ``{out_dir}/{name}-{split}.jsonl`` + ``{out_dir}/images/``.

    Rows are read, validated and written one at a time (the output is renamed into place at the end),
    so memory stays flat on the multi-gigabyte sets. ``on_error="raise"`` stops at the first malformed
    row with a ``RecordError`` naming the source file and row; ``"skip"`` leaves it out and lists it in
    ``{name}-{split}.skipped.jsonl``. ``limit`` caps the rows written. Returns the stats: rows, skipped,
    filtered (left out by design), repaired (texts with U+FFFD mended), by_format, path.
    """
    source = get_source(name)
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    split = source.check_split(split)
    # Absolute: readers name images relative to the file that lists them, and a relative root would
    # be applied twice when those paths are resolved (`--src raw/okvqa` -> raw/okvqa/raw/okvqa/...).
    root = resolve_src(source, src).resolve()
    out = Path(out_dir)
    path, skipped_path = output_paths(out, name, split)
    store = _ImageStore(out)
    tally = _Tally()
    progress = tqdm(desc=f"{name} ({split})", unit="row", disable=None)
    try:
        with atomic_open(path, "w", encoding="utf-8") as f:
            for row in _converted(iter(source.read(root, split)), name, store, on_error, limit, tally):
                progress.update()
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        progress.close()
    write_rows_report(skipped_path, tally.skipped)
    return {
        "name": name,
        "split": split,
        "src": str(root),
        "path": str(path),
        "rows": tally.rows,
        "skipped": len(tally.skipped),
        "filtered": tally.filtered,
        "repaired": tally.repaired,
        "images": len(store.written),
        "by_format": {FORMAT_NAMES[k]: v for k, v in sorted(tally.by_format.items())},
        "skipped_path": str(skipped_path) if tally.skipped else None,
    }
