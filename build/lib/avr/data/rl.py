"""Build verl's RL parquet (train + validation) from the same records the SFT builder reads.

verl's ``RLHFDataset`` reads, per row: ``data_source``, ``prompt`` (a chat list whose user turn has
one ``<image>`` per image), ``images`` (``{bytes, path}`` dicts), ``ability``, ``reward_model``
(``{style, ground_truth}``) and ``extra_info``. The prompt is built by the same function as the
SFT prompt, so the policy sees in RL exactly what it saw in SFT. ``ground_truth`` is always a list
of acceptable answers (one type for the whole column; ``avr.grading`` accepts any of them), and
``extra_info.choices`` carries the options for multiple-choice grading.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

from avr.data.exclude import LeakageIndex, drop_leaks
from avr.formats import FORMAT_NAMES, build_prompt
from avr.grading import parse_number
from avr.io import atomic_open, write_json, write_rows_report
from avr.pixels import IMAGE_MAX_PIXELS, IMAGE_MIN_PIXELS
from avr.records import Record, read_records


def answer_type(answer: str) -> tuple[str, int | None]:
    """("integer" | "float" | "text", decimal places) of a ground truth, for graders that use it."""
    num = parse_number(answer)
    if num is None:
        return "text", None
    value, places = num
    if value.denominator == 1 and not places:
        return "integer", None
    return "float", places


def to_verl_row(
    record: Record,
    index: int,
    split: str,
    *,
    instruction: bool = False,
    min_pixels: int = IMAGE_MIN_PIXELS,
    max_pixels: int = IMAGE_MAX_PIXELS,
) -> dict[str, Any]:
    """One parquet row. The image dicts carry the pixel bounds: verl passes them to fetch_image."""
    kind, precision = answer_type(record.answer)
    return {
        "data_source": record.source,
        "prompt": [
            {
                "role": "user",
                "content": build_prompt(
                    record.question, record.choices, n_images=len(record.images), instruction=instruction
                ),
            }
        ],
        "images": [
            {"bytes": im.data, "path": None, "min_pixels": min_pixels, "max_pixels": max_pixels}
            for im in record.images
        ],
        "ability": "multiple_choice" if record.choices else ("math" if kind != "text" else "vqa"),
        "reward_model": {"style": "rule", "ground_truth": list(record.answers)},
        "extra_info": {
            "index": index,
            "split": split,
            "id": record.id,
            "question": record.question,
            "choices": list(record.choices) if record.choices else None,
            "question_type": "multi_choice" if record.choices else "free_form",
            "answer_type": kind,
            "precision": precision,
            "sft_format": FORMAT_NAMES[record.format],
        },
    }


def _write_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows)
    with atomic_open(path, "wb") as f:
        pq.write_table(table, f)


def build_rl_dataset(
    inputs: list[str | Path],
    out_dir: str | Path,
    *,
    val_inputs: list[str | Path] | None = None,
    val_fraction: float = 0.05,
    seed: int = 0,
    on_error: str = "raise",
    instruction: bool = False,
    image_root: str | Path | None = None,
    exclude: LeakageIndex | None = None,
    min_pixels: int = IMAGE_MIN_PIXELS,
    max_pixels: int = IMAGE_MAX_PIXELS,
) -> dict[str, Any]:
    """Validate every row and write ``train.parquet`` and ``val.parquet``; returns the stats it writes.

    ``min_pixels`` / ``max_pixels`` bound each image as verl resizes it (avr/pixels.py).
    The validation split is ``val_inputs`` when given, else a seeded ``val_fraction`` of the inputs.
    ``exclude`` drops input rows that match an evaluation benchmark item (listed in excluded.jsonl).
    """
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if not 0 < min_pixels <= max_pixels:
        raise ValueError(f"need 0 < min_pixels <= max_pixels, got {min_pixels} and {max_pixels}")
    px = {"min_pixels": min_pixels, "max_pixels": max_pixels}
    out = Path(out_dir)
    root = Path(image_root) if image_root else None
    records, skipped = read_records(list(inputs), on_error=on_error, image_root=root)
    records, excluded = drop_leaks(records, exclude)
    if val_inputs:
        train = records
        val, val_skipped = read_records(list(val_inputs), on_error=on_error, image_root=root)
        skipped += val_skipped
    else:
        order = list(range(len(records)))
        random.Random(seed).shuffle(order)
        n_val = round(len(records) * val_fraction)
        if val_fraction > 0 and len(records) > 1:
            n_val = max(n_val, 1)
        val_idx = set(order[:n_val])
        train = [r for i, r in enumerate(records) if i not in val_idx]
        val = [r for i, r in enumerate(records) if i in val_idx]
    if not train:
        raise ValueError(f"no valid training rows in {', '.join(map(str, inputs))} ({len(skipped)} skipped)")

    _write_parquet(
        out / "train.parquet",
        [to_verl_row(r, i, "train", instruction=instruction, **px) for i, r in enumerate(train)],
    )
    if val:
        _write_parquet(
            out / "val.parquet",
            [to_verl_row(r, i, "val", instruction=instruction, **px) for i, r in enumerate(val)],
        )
    else:
        (out / "val.parquet").unlink(missing_ok=True)
    write_rows_report(out / "skipped.jsonl", skipped)
    write_rows_report(out / "excluded.jsonl", excluded)
    stats = {
        "train": len(train),
        "val": len(val or []),
        "skipped": len(skipped),
        "excluded": len(excluded),
        "by_source": dict(sorted(Counter(r.source for r in train).items())),
        "by_question_type": dict(
            sorted(Counter("multi_choice" if r.choices else "free_form" for r in train).items())
        ),
        "inputs": [str(p) for p in inputs],
    }
    write_json(out / "stats.json", stats)
    return stats


def format_stats(stats: dict[str, Any]) -> str:
    lines = [f"RL data: {stats['train']} train rows, {stats['val']} val rows, {stats['skipped']} skipped"]
    if stats.get("excluded"):
        lines[0] += f", {stats['excluded']} excluded as benchmark items"
    lines += [f"  source {k:<22} {v:>7}" for k, v in stats["by_source"].items()]
    lines += [f"  type   {k:<22} {v:>7}" for k, v in stats["by_question_type"].items()]
    return "\n".join(lines)
