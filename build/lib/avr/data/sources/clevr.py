"""CLEVR v1.0: synthetic 3D scenes; format 2 when the scene graph gives a perception, else format 1.

No real file of this set could be reached here: no copy is held in the stored public repositories, and
the official download and the hub are out of reach. The reader follows the published layout (see
``read_clevr``); run ``tests/test_data_sources_real.py`` with ``AVR_REAL_DATA`` once a copy is at hand.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from avr.data.sources.common import (
    Source,
    SourceRow,
    first_existing,
    layout_error,
    stream_json,
    text_field,
)


def describe_clevr_scene(objects: list[dict[str, Any]]) -> str:
    """A perception text from a CLEVR scene graph: every object's attributes, left to right."""
    if not objects:
        raise ValueError("scene has no objects")
    ordered = sorted(objects, key=lambda o: o["pixel_coords"][0])
    items = [f"a {o['size']} {o['color']} {o['material']} {o['shape']}" for o in ordered]
    n = len(items)
    return f"The scene has {n} object{'s' if n != 1 else ''}. From left to right: {', '.join(items)}."


def scene_perception(scene: Any) -> str | ValueError:
    """A scene's perception text, or the reason it has none (kept so that the rows asking about this
    image fail with it, while the scenes file is read once and only the texts are held)."""
    try:
        if not isinstance(scene, dict):
            raise ValueError("scene is not an object")
        return describe_clevr_scene(scene.get("objects") or [])
    except (KeyError, TypeError, IndexError, ValueError) as e:
        what = f"missing field {e.args[0]!r}" if isinstance(e, KeyError) else str(e)
        return ValueError(f"scene graph of this image: {what}")


def clevr_record(
    q: dict[str, Any], image_dir: Path, perception: str | ValueError | None, split: str
) -> dict[str, Any]:
    """A CLEVR question -> a perception record when its scene graph is known, else a direct answer."""
    answer = q.get("answer")
    row: dict[str, Any] = {
        "id": f"clevr-{split}-{q.get('question_index')}",
        "question": text_field(q.get("question"), "question"),
        "answer": text_field(str(answer) if answer is not None else "", "answer"),
        "format": 1,
        "images": [image_dir / text_field(q.get("image_filename"), "image_filename")],
    }
    if isinstance(perception, ValueError):
        raise perception
    if perception is not None:
        row["perception"] = perception
        row["format"] = 2
    return row


def read_clevr(src: Path, split: str) -> Iterator[SourceRow]:
    """Official CLEVR_v1.0: ``questions/CLEVR_{split}_questions.json`` ({"questions": [...]}),
    ``images/{split}/``, optional ``scenes/CLEVR_{split}_scenes.json`` for perception. Both files are
    streamed (the train questions run to hundreds of megabytes); of the scenes only the perception
    texts are kept. Checked: the CLEVR_v1.0 release layout used by clevr-iep / CLEVR dataset-generation."""
    root = first_existing([src / "questions", src / "CLEVR_v1.0" / "questions"])
    root = root.parent if root is not None else src
    qpath = root / "questions" / f"CLEVR_{split}_questions.json"
    if not qpath.is_file():
        raise layout_error(SOURCE, src, [f"questions/CLEVR_{split}_questions.json"])
    spath = root / "scenes" / f"CLEVR_{split}_scenes.json"
    perceptions: dict[Any, str | ValueError] = {}
    if spath.is_file():
        for s in stream_json(spath, "scenes.item"):
            if isinstance(s, dict):
                perceptions[s.get("image_index")] = scene_perception(s)
    image_dir = root / "images" / split
    for i, q in enumerate(stream_json(qpath, "questions.item"), start=1):
        perception = perceptions.get(q.get("image_index")) if isinstance(q, dict) else None
        yield SourceRow(qpath, i, functools.partial(clevr_record, q, image_dir, perception, split))


SOURCE = Source(
    "clevr",
    read_clevr,
    ("train", "val"),
    "wget https://dl.fbaipublicfiles.com/clevr/CLEVR_v1.0.zip && unzip CLEVR_v1.0.zip "
    "(SRC = the CLEVR_v1.0 folder)",
)
