"""Build a LLaMA-Factory data set (sharegpt JSON + dataset_info.json) from AVR records.

The output directory is a complete ``dataset_dir``: any recipe points ``dataset_dir`` at it and
names the data set. Images are stored beside it under content-hash names (``images/<sha>.ext``),
so a rerun re-uses what is there and two rows with the same image share one file. Every file is
written atomically, and ``dataset_info.json`` last, so a crash never leaves an entry that points
at a half-written set.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from tqdm import tqdm

from avr.data.exclude import LeakageIndex, drop_leaks
from avr.formats import FORMAT_NAMES, build_prompt
from avr.io import write_json, write_rows_report
from avr.records import IMAGE_MODES, Record, place_image, read_records

# LLaMA-Factory's sharegpt columns and tags for OpenAI-style messages.
SHAREGPT_ENTRY = {
    "formatting": "sharegpt",
    "columns": {"messages": "messages", "images": "images"},
    "tags": {
        "role_tag": "role",
        "content_tag": "content",
        "user_tag": "user",
        "assistant_tag": "assistant",
        "system_tag": "system",
    },
}


def to_sharegpt(record: Record, image_paths: list[str], *, instruction: bool = False) -> dict[str, Any]:
    """One LLaMA-Factory sharegpt example: the shared prompt and the target in the record's format."""
    prompt = build_prompt(record.question, record.choices, n_images=len(image_paths), instruction=instruction)
    return {
        "messages": [
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": record.target()},
        ],
        "images": image_paths,
        "id": record.id,
        "source": record.source,
        "format": record.format,
    }


def build_sft_dataset(
    inputs: list[str | Path],
    out_dir: str | Path,
    *,
    name: str = "avr_sft",
    on_error: str = "raise",
    images: str = "copy",
    instruction: bool = False,
    image_root: str | Path | None = None,
    exclude: LeakageIndex | None = None,
) -> dict[str, Any]:
    """Validate every row of ``inputs`` and write the data set. Returns the stats it also writes.

    ``exclude`` drops rows that match an evaluation benchmark item (``avr.data.exclude``); they are
    listed in ``<name>.excluded.jsonl``.
    """
    if images not in IMAGE_MODES:
        raise ValueError(f"images must be one of {IMAGE_MODES}, got {images!r}")
    out = Path(out_dir)
    records, skipped = read_records(
        list(inputs), on_error=on_error, image_root=Path(image_root) if image_root else None
    )
    records, excluded = drop_leaks(records, exclude)
    if not records:
        raise ValueError(
            f"no valid rows in {', '.join(map(str, inputs))} ({len(skipped)} skipped, {len(excluded)} excluded)"
        )

    examples = []
    for rec in tqdm(records, desc=f"writing {name}", unit="row", disable=len(records) < 200):
        examples.append(
            to_sharegpt(rec, [place_image(im, out, images) for im in rec.images], instruction=instruction)
        )

    write_json(out / f"{name}.json", examples)
    write_rows_report(out / f"{name}.skipped.jsonl", skipped)
    write_rows_report(out / f"{name}.excluded.jsonl", excluded)
    stats = {
        "name": name,
        "rows": len(examples),
        "skipped": len(skipped),
        "excluded": len(excluded),
        "by_format": {FORMAT_NAMES[k]: v for k, v in sorted(Counter(r.format for r in records).items())},
        "by_source": dict(sorted(Counter(r.source for r in records).items())),
        "inputs": [str(p) for p in inputs],
    }
    write_json(out / f"{name}.stats.json", stats)

    info_path = out / "dataset_info.json"
    info = json.loads(info_path.read_text(encoding="utf-8")) if info_path.is_file() else {}
    info[name] = {"file_name": f"{name}.json", **SHAREGPT_ENTRY}
    write_json(info_path, info)
    return stats


def format_stats(stats: dict[str, Any]) -> str:
    """A short human summary: counts per format and per source."""
    lines = [f"{stats['name']}: {stats['rows']} rows written, {stats['skipped']} skipped"]
    if stats.get("excluded"):
        lines[0] += f", {stats['excluded']} excluded as benchmark items"
    lines += [f"  format {k:<18} {v:>7}" for k, v in stats["by_format"].items()]
    lines += [f"  source {k:<18} {v:>7}" for k, v in stats["by_source"].items()]
    return "\n".join(lines)
