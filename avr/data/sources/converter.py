"""``convert``: one data set's rows -> validated records in ``{out}/{name}.jsonl`` + ``{out}/images/``.

Every row is validated with ``avr.data.records.parse_record``; images are content-addressed and the
JSONL is written atomically at the end, so a rerun overwrites consistently and an interrupted run
leaves nothing half-written.
"""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path
from typing import Any

from tqdm import tqdm

from avr.data.records import Image, RecordError, parse_record, place_image
from avr.data.sources.registry import get_source, resolve_src
from avr.formats import FORMAT_NAMES
from avr.io import write_jsonl, write_report

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
