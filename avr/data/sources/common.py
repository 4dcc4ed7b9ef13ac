"""What every data-set module shares: the ``Source``/``SourceRow`` types and small readers of the
published layouts (JSON files, hub parquet snapshots, image cells), so each module holds only what
is particular to its data set."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import ijson

from avr.formats import OPTION_LETTERS
from avr.records import RecordError, iter_parquet


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


def letter_answer(answer: str, n_choices: int) -> str:
    """``"C"``, ``"(C)"``, ``"C."`` -> ``"C"`` when C is an option; any other answer unchanged."""
    m = re.fullmatch(r"\(?([A-Za-z])[.)]?", answer.strip())
    if m and OPTION_LETTERS.find(m.group(1).upper()) in range(n_choices):
        return m.group(1).upper()
    return answer.strip()


def index_letter(index: Any, n_choices: int) -> str:
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n_choices:
        raise ValueError(f"answer index {index!r} is not one of the {n_choices} choices")
    return OPTION_LETTERS[index]


def image_value(value: Any, base: Path) -> bytes | Path:
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


_BOM = b"\xef\xbb\xbf"


def stream_json(path: Path, prefix: str = "item", *, pairs: bool = False) -> Iterator[Any]:
    """The values under ``prefix`` of a JSON file, parsed incrementally with ijson so that GQA's and
    CLEVR's multi-gigabyte files never sit in memory whole.

    ``prefix`` is ijson's dotted path: ``item`` is each element of a top-level list, ``questions.item``
    each element of the ``questions`` list; with ``pairs`` the (key, value) pairs of the object at
    ``prefix`` (``""``: the top-level object). A top level of the wrong kind, or a file that stops
    being JSON part way (a truncated download), raises ``RecordError`` naming the file and the first
    row that could not be read; the rows before it have been yielded.
    """
    if not path.is_file():
        raise RecordError(path, None, "no such file")
    want = "[" if prefix.split(".")[0] == "item" else "{"
    with path.open("rb") as f:
        head = f.read(4096)
        start = len(_BOM) if head.startswith(_BOM) else 0  # a UTF-8 byte-order mark, which ijson refuses
        first = head[start:].lstrip()[:1].decode("latin-1")
        if first != want:
            kind = "list" if want == "[" else "object"
            got = repr(first) if first else "an empty file"
            raise RecordError(path, None, f"expected a JSON {kind} at the top level, found {got}")
        f.seek(start)
        values = ijson.kvitems(f, prefix, use_float=True) if pairs else ijson.items(f, prefix, use_float=True)
        n = 0
        try:
            for value in values:
                n += 1
                yield value
        except ijson.JSONError as e:
            first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise RecordError(path, n + 1, f"not valid JSON after row {n} ({first_line})") from None


def first_existing(candidates: Iterable[Path]) -> Path | None:
    return next((p for p in candidates if p.exists()), None)


def layout_error(source: Source, src: Path, looked: Iterable[str]) -> RecordError:
    """``src`` is not in any layout ``source`` reads: say what was looked for and how to get it."""
    how = source.download.replace("SRC", str(src))
    return RecordError(
        src, None, f"not a {source.name} layout: looked for {', '.join(looked)}; get it with: {how}"
    )


def split_parquets(src: Path, aliases: Iterable[str]) -> list[Path]:
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


def parquet_rows(files: list[Path]) -> Iterator[tuple[Path, int, dict[str, Any]]]:
    for f in files:
        for row, obj in iter_parquet(f, batch_size=64):
            yield f, row, obj


def text_field(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"missing or empty {name!r}")
    return value.strip()
