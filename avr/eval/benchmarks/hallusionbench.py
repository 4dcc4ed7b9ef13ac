"""HallusionBench (image split): yes/no questions built to catch language hallucination and visual illusion.

Layouts read: HF ``lmms-lab/HallusionBench`` ``data/image-*.parquet`` (category, subcategory,
visual_input, set_id, figure_id, sample_note, question_id, question, gt_answer_details, gt_answer
"1" yes / "0" no, filename, image); the authors' ``HallusionBench.json`` + ``hallusion_bench/``
[tianyi-lab/HallusionBench; checked: 1,129 rows read, the 181 visual_input "0" rows are the
non-image split]; VLMEvalKit ``HallusionBench.tsv`` (answer Yes/No, category, l2-category, and
set/figure/question ids in ``index``).

Scoring (both profiles): VLMEvalKit ``utils/yorn.py`` ``YOrN_Extraction`` (after
``process_punctuation``: "yes" without "no", or the reverse; otherwise unknown and wrong) and its
``Hallusion_rating``, which reports, besides per-question accuracy (aAcc), the share of figures
all of whose questions are right (fAcc) and of question pairs right on every figure (qAcc), overall,
per category and per l2-category; ``official`` groups figures and pairs as the authors' ``utils.py``
does (see ``authors_rating``: the keys differ, and a VS figure "0" is no figure there). ``vlmevalkit`` asks a judge only for unknown answers;
``official`` (tianyi-lab/HallusionBench ``utils.py`` ``evaluate_by_chatgpt``) asks GPT-4 for every
answer, so every item counts as needing a judge there.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from avr.eval.benchmarks._base import BenchmarkSource, Row, Spec, glob_files, make_item, tsv_item
from avr.eval.items import EvalItem
from avr.eval.rules import Verdict, strict, yes_no

KEYS = ("category", "subcategory", "visual_input", "set_id", "figure_id", "question_id")


def convert(row: Row) -> EvalItem:
    gold = row.gold("gt_answer")[0]
    if gold not in ("0", "1"):
        raise row.error(f"gt_answer must be '1' (yes) or '0' (no), got {gold!r}")
    parts = [row.text(k) for k in KEYS]
    image = row.data.get("image") if row.data.get("image") is not None else _figure(row)
    return make_item(
        row,
        id="_".join(p for p, k in zip(parts, KEYS, strict=True) if k != "visual_input"),
        question=row.text("question"),
        images=[row.image(image, "image" if "image" in row.data else "filename")],
        answers=["yes" if gold == "1" else "no"],
        answer_type="yes_no",
        meta={
            **dict(zip(KEYS, parts, strict=True)),
            "sample_note": row.data.get("sample_note"),
            "gt_answer_details": row.data.get("gt_answer_details"),
        },
    )


def _figure(row: Row) -> str | None:
    """The authors' ``filename``: "./VD/illusion/0_0.png" in the JSON today, "./hallusion_bench/VD/..."
    in their README; hallusion_bench.zip unzips to hallusion_bench/ beside the JSON, so both resolve."""
    name = row.data.get("filename")
    if not isinstance(name, str) or row.base_dir is None or (row.base_dir / name).is_file():
        return name
    inside = row.base_dir / "hallusion_bench" / name
    return str(inside) if inside.is_file() else name


def convert_tsv(row: Row) -> EvalItem:
    """VLMEvalKit's index reads <...>_<category>_<subcategory>_<set>_<figure>_<question>."""
    index = row.text("index")
    ids = index.split("_")
    if len(ids) < 6:
        raise row.error(f"index {index!r} does not carry set, figure and question ids")
    answer = row.text("answer").lower()
    if answer not in ("yes", "no"):
        raise row.error(f"answer must be Yes or No, got {answer!r}")
    return tsv_item(
        row,
        answers=[answer],
        answer_type="yes_no",
        meta={
            "category": row.data.get("category"),
            "subcategory": row.data.get("l2-category"),
            "set_id": ids[3],
            "figure_id": ids[4],
            "question_id": ids[5],
        },
    )


def find(path: Path, split: str) -> list[BenchmarkSource]:
    files = glob_files(path, f"data/{split}-*.parquet", f"{split}-*.parquet")
    if files:
        return [BenchmarkSource(p) for p in files]
    json_file = path / "HallusionBench.json"
    if not json_file.is_file():
        return []
    # the authors' JSON mixes both splits; visual_input "0" rows have no figure (the non_image split)
    return [BenchmarkSource(json_file, path, keep=lambda raw: str(raw.get("visual_input")) != "0")]


def score(answer: str, pred: dict[str, Any], profile: str) -> Verdict:
    gold = pred.get("gold") or {}
    if profile == "strict":
        return strict(answer, gold)
    said = yes_no(answer)
    target = str((gold.get("answers") or [""])[0]).strip().lower()
    correct = said is not None and said.lower() == target
    return Verdict(correct, needs_judge=profile == "official" or said is None)


def aggregate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """aAcc, fAcc and qAcc as the profile's reference computes them: the authors' grouping under
    ``official``, VLMEvalKit's ``Hallusion_rating`` otherwise (with its per category and per
    l2-category figures under ``breakdown``)."""
    if not rows:
        return {}
    if rows[0].get("scoring") == "official":
        return authors_rating(rows)
    return {
        **hallusion_rating(rows),
        "breakdown": {
            field: {value: hallusion_rating(sub) for value, sub in sorted(_groups(rows, key).items())}
            for field, key in (("category", "category"), ("l2-category", "subcategory"))
        },
    }


def _groups(rows: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        out[str((r.get("meta") or {}).get(key))].append(r)
    return out


def _all_right(groups: dict[str, list[bool]]) -> float:
    return sum(all(v) for v in groups.values()) / len(groups) if groups else 0.0


def hallusion_rating(rows: list[dict[str, Any]]) -> dict[str, float]:
    """VLMEvalKit ``utils/yorn.py`` ``Hallusion_rating``: aAcc over questions; fAcc the share of
    groups f"{l2-category}_{set_id}_{figure_id}" all right, qAcc of f"{l2-category}_{set_id}_{question_id}"
    (no category in either key, and a VS figure "0" is a group like any other)."""
    figures: dict[str, list[bool]] = defaultdict(list)
    questions: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        m = r.get("meta") or {}
        l2, set_id = m.get("subcategory"), m.get("set_id")
        figures[f"{l2}_{set_id}_{m.get('figure_id')}"].append(bool(r["correct"]))
        questions[f"{l2}_{set_id}_{m.get('question_id')}"].append(bool(r["correct"]))
    return {
        "aAcc": sum(bool(r["correct"]) for r in rows) / len(rows),
        "fAcc": _all_right(figures),
        "qAcc": _all_right(questions),
    }


def authors_rating(rows: list[dict[str, Any]]) -> dict[str, float]:
    """tianyi-lab/HallusionBench ``utils.py`` ``get_eval_fig``, ``get_eval_pair_all``: figures group by
    (category, subcategory, set, figure), skipping the VS figure "0" that shows no figure; question
    pairs by (category, subcategory, set, question)."""
    figures: dict[tuple, list[bool]] = defaultdict(list)
    pairs: dict[tuple, list[bool]] = defaultdict(list)
    for r in rows:
        m = r.get("meta") or {}
        cat, sub, set_id = m.get("category"), m.get("subcategory"), m.get("set_id")
        if not (cat == "VS" and str(m.get("figure_id")) == "0"):
            figures[(cat, sub, set_id, m.get("figure_id"))].append(bool(r["correct"]))
        pairs[(cat, sub, set_id, m.get("question_id"))].append(bool(r["correct"]))
    return {
        "aAcc": sum(bool(r["correct"]) for r in rows) / len(rows),
        "fAcc": _all_right(figures),
        "qAcc": _all_right(pairs),
    }


SPEC = Spec(
    name="hallusionbench",
    hub_id="lmms-lab/HallusionBench",
    splits=("image",),
    find=find,
    convert=convert,
    tsv=convert_tsv,
    layout="data/{split}-*.parquet, or the authors' HallusionBench.json + hallusion_bench/",
    include="data/{split}-*",
    breakdown=("category", "subcategory"),
)
