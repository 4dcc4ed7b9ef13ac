"""``avr data annotate``: give each record the shortest format a model can answer it in, and fill in
the perception and reasoning texts that format needs.

The format comes from pass rates, measured with the model being trained (the policy): sample k
direct answers; if at least ``direct_pass_rate`` of them are right, the question is format 1. Else
sample k answers that describe the image first; at ``perception_pass_rate`` it is format 2, else 3.

Where the chosen format needs a text the record lacks, a teacher model writes it, forced into that
format block by block after the texts the record already has. The text is kept only when the
teacher's own answer grades correct (``avr.grading``); otherwise the row goes to the report, not
to the output, because a wrong rationale teaches the wrong thing.

Output rows are written and fsynced batch by batch, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from tqdm import tqdm

from avr.eval.modes import CLOSE, PREFILL, run_forced
from avr.formats import FORMAT_BLOCKS, parse
from avr.generation import Backend, GenRequest
from avr.grading import is_correct
from avr.io import exclusive_lock, read_appended_jsonl, write_rows_report
from avr.records import Record, place_image, read_records

OUTPUT = "annotated.jsonl"
REPORT = "annotate.skipped.jsonl"


@dataclass(frozen=True)
class AnnotateConfig:
    samples: int = 8  # k answers per question and format
    temperature: float = 1.0
    max_new_tokens: int = 1024
    direct_pass_rate: float = 0.75  # >= : format 1
    perception_pass_rate: float = 0.5  # >= : format 2, else format 3
    teacher_attempts: int = 2  # tries to write a missing text that leads to a correct answer
    teacher_temperature: float = 0.7
    batch_size: int = 8  # records per generate call, and per fsync of the output
    instruction: bool = False  # describe the formats in the prompt (models that never saw SFT)

    @classmethod
    def load(cls, name_or_path: str | Path = "default", overrides: dict[str, Any] | None = None):
        from avr.config import read_preset

        path, data = read_preset(name_or_path, "annotate", "annotation config")
        data = {**data, **(overrides or {})}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{path}: unknown key(s) {unknown}; known: {sorted(known)}")
        cfg = cls(**data)
        if not 0 <= cfg.perception_pass_rate <= cfg.direct_pass_rate <= 1 or cfg.samples < 1:
            raise ValueError(
                f"{path}: need 0 <= perception_pass_rate <= direct_pass_rate <= 1 and samples >= 1"
            )
        return cfg


def choose_format(pass_direct: float, pass_perception: float | None, cfg: AnnotateConfig) -> int:
    """The shortest format whose pass rate clears its threshold (format 3 needs none)."""
    if pass_direct >= cfg.direct_pass_rate:
        return 1
    if pass_perception is not None and pass_perception >= cfg.perception_pass_rate:
        return 2
    return 3


def _as_item(rec: Record):
    from avr.eval.items import EvalItem

    return EvalItem(
        id=rec.id,
        benchmark=rec.source,
        question=rec.question,
        images=[im.data for im in rec.images],
        answers=rec.answers,
        choices=rec.choices,
    )


def _pass_rates(backend: Backend, recs: list[Record], fmt: int, cfg: AnnotateConfig) -> list[float]:
    samples = run_forced(
        backend,
        [_as_item(r) for r in recs],
        fmt,
        instruction=cfg.instruction,
        n=cfg.samples,
        temperature=cfg.temperature,
    )
    rates = []
    for rec, group in zip(recs, samples, strict=True):
        ok = 0
        for s in group:
            p = parse(s["response"])
            ok += bool(p.valid and is_correct(p.answer, rec.answers, rec.choices))
        rates.append(ok / len(group))
    return rates


def _teacher_fill(backend: Backend, rec: Record, fmt: int, cfg: AnnotateConfig) -> dict[str, str] | None:
    """Missing texts of format ``fmt``, written after the record's own texts; None if never correct."""
    have = {"perception": rec.perception, "reasoning": rec.reasoning}
    blocks = FORMAT_BLOCKS[fmt]
    for _ in range(cfg.teacher_attempts):
        text, written = "", {}
        for i, block in enumerate(blocks):
            text += ("\n\n" if i else "") + PREFILL[block]
            if block != "answer" and have.get(block):
                text += have[block] + "\n" + CLOSE[block]
                continue
            req = GenRequest(
                rec.question,
                [im.data for im in rec.images],
                rec.choices,
                instruction=cfg.instruction,
                prefill=text,
                stop=[] if block == "answer" else [CLOSE[block]],
                temperature=cfg.teacher_temperature,
                max_new_tokens=cfg.max_new_tokens,
            )
            out = backend.generate([req])[0][0].text
            text += out
            if block != "answer":
                if not out.endswith(CLOSE[block]):
                    break
                written[block] = out[: -len(CLOSE[block])].strip()
        p = parse(text)
        if p.format == fmt and is_correct(p.answer, rec.answers, rec.choices):
            return written
    return None


def _row(rec: Record, out_dir: Path, fmt: int, texts: dict[str, str | None], info: dict) -> dict[str, Any]:
    images = [place_image(im, out_dir) for im in rec.images]
    row = {
        "id": rec.id,
        "source": rec.source,
        "images": images,
        "question": rec.question,
        "answer": rec.answers,
        "format": fmt,
        "annotation": info,
        **rec.extra,
    }
    if rec.choices:
        row["choices"] = rec.choices
    for key in ("perception", "reasoning"):
        if texts.get(key):
            row[key] = texts[key]
    return row


def _done_ids(path: Path) -> set[str]:
    """Ids already written; a torn last line from a kill is dropped (and rewritten on this run)."""
    return {row["id"] for row in read_appended_jsonl(path)}


def annotate(
    inputs: list[str | Path],
    out_dir: str | Path,
    *,
    backend: Backend,
    teacher: Backend | None = None,
    config: AnnotateConfig | None = None,
    on_error: str = "raise",
) -> dict[str, Any]:
    """Annotate every record not yet in ``out_dir/annotated.jsonl``; returns counts."""
    cfg = config or AnnotateConfig()
    teacher = teacher or backend
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records, bad_rows = read_records(list(inputs), on_error=on_error)
    with exclusive_lock(out_dir, "avr data annotate"):
        return _annotate(records, bad_rows, out_dir, backend, teacher, cfg)


def _annotate(
    records: list[Record],
    bad_rows: list[dict[str, Any]],
    out_dir: Path,
    backend: Backend,
    teacher: Backend,
    cfg: AnnotateConfig,
) -> dict[str, Any]:
    path = out_dir / OUTPUT
    done = _done_ids(path)
    todo = [r for r in records if r.id not in done]
    report_path = out_dir / REPORT
    skipped = [json.loads(x) for x in report_path.read_text().splitlines()] if report_path.is_file() else []
    skipped_ids = {s.get("id") for s in skipped}
    todo = [r for r in todo if r.id not in skipped_ids]
    counts = {
        "records": len(records),
        "already_done": len(done),
        "annotated": 0,
        "by_format": {1: 0, 2: 0, 3: 0},
    }
    with path.open("a", encoding="utf-8") as f, tqdm(total=len(todo), desc="annotating", unit="row") as bar:
        for start in range(0, len(todo), cfg.batch_size):
            batch = todo[start : start + cfg.batch_size]
            p1 = _pass_rates(backend, batch, 1, cfg)
            need2 = [r for r, p in zip(batch, p1, strict=True) if p < cfg.direct_pass_rate]
            p2 = dict(
                zip([r.id for r in need2], _pass_rates(backend, need2, 2, cfg) if need2 else [], strict=True)
            )
            for rec, rate1 in zip(batch, p1, strict=True):
                rate2 = p2.get(rec.id)
                fmt = choose_format(rate1, rate2, cfg)
                texts: dict[str, str | None] = {"perception": rec.perception, "reasoning": rec.reasoning}
                info = {"pass_rate_direct": rate1, "pass_rate_perception": rate2, "teacher": []}
                missing = [b for b in FORMAT_BLOCKS[fmt] if b != "answer" and not texts.get(b)]
                if missing:
                    filled = _teacher_fill(teacher, rec, fmt, cfg)
                    if filled is None:
                        skipped.append(
                            {"id": rec.id, "file": rec.file, "row": rec.row, "format": fmt,
                             "error": f"teacher never answered correctly while writing {missing}"}
                        )  # fmt: skip
                        continue
                    texts.update(filled)
                    info["teacher"] = sorted(filled)
                f.write(json.dumps(_row(rec, out_dir, fmt, texts, info), ensure_ascii=False) + "\n")
                counts["annotated"] += 1
                counts["by_format"][fmt] += 1
            f.flush()
            os.fsync(f.fileno())
            write_rows_report(report_path, skipped)
            bar.update(len(batch))
    write_rows_report(report_path, skipped)
    if bad_rows:
        write_rows_report(out_dir / "annotate.bad_rows.jsonl", bad_rows)
    counts["skipped"] = len(skipped)
    counts["bad_rows"] = len(bad_rows)
    counts["path"] = str(path)
    return counts
