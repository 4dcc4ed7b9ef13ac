"""``data_card.md``: what a data build read, kept, dropped and wrote, in numbers that add up.

For every source: rows read, malformed rows skipped, rows the converter leaves out by design, rows
selected, and how formats were assigned. For every set, per source: rows per format, rows dropped
because their format is not taken, rows the leakage guard excluded, malformed rows, and the total.
The recipe's hash makes a data set traceable to the file that made it. A pure function of the
build's numbers: no clock, no absolute output path, so identical builds give identical cards.
"""

from __future__ import annotations

from typing import Any

from avr.formats import FORMAT_NAMES

FORMATS = [FORMAT_NAMES[k] for k in (1, 2, 3)]
MALFORMED_LISTED = 20  # per source; the rest are in the source's skipped report


def _counts(by_format: dict[str, int]) -> str:
    return ", ".join(f"{name} {by_format[name]}" for name in FORMATS if by_format.get(name)) or "none"


def _origin(spec: Any, raw_dir: str | None) -> str:
    if spec.generated:
        opts = "".join(f", {k}={v}" for k, v in sorted(spec.options.items()))
        return f"{spec.source}, n={spec.n}, seed {spec.seed}{opts}"
    where = f"{raw_dir}/{spec.dir}" if raw_dir else spec.dir
    parts = [spec.source, spec.split or "default split", f"`{where}`"]
    if spec.limit:
        parts.append(f"first {spec.limit}")
    return ", ".join(parts)


def _sources_table(info: dict[str, Any]) -> list[str]:
    head = [
        "source",
        "read from",
        "rows read",
        "malformed",
        "left out by the converter",
        "converted",
        "selected",
    ]
    lines = ["| " + " | ".join(head) + " | formats |", "| --- | --- |" + " ---: |" * 5 + " --- |"]
    for key, st in info["sources"].items():
        spec, pool, select, ann = st["spec"], st["pool"], st["select"], st["annotate"]
        picked = str(select["selected"])
        if select["selected"] < select["read"]:
            picked += f" (seeded sample of {select['read']})"
        if ann is None:
            formats = f"from the source: {_counts(select['by_format'])}"
        else:
            formats = f"annotated ({ann['model']}): {_counts(ann['by_format'])}"
            if ann["teacher_failed"]:
                formats += f"; teacher never right: {ann['teacher_failed']}"
            if ann["bad_rows"]:
                formats += f"; malformed: {ann['bad_rows']}"
        read = pool["rows"] + pool["skipped"] + pool["filtered"]
        cells = [
            key,
            _origin(spec, info["raw_dir"]),
            read,
            pool["skipped"],
            pool["filtered"],
            pool["rows"],
            picked,
        ]
        lines.append("| " + " | ".join(map(str, cells)) + f" | {formats} |")
    return lines


def _sft_table(st: dict[str, Any]) -> list[str]:
    head = ["source", *FORMATS, "format not taken", "excluded (leakage)", "malformed", "rows"]
    lines = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    total = dict.fromkeys(head[1:], 0)
    for key, row in st["by_source"].items():
        cells = [row["by_format"].get(f, 0) for f in FORMATS]
        cells += [row["dropped_format"], row["excluded"], row["skipped"], row["rows"]]
        for name, value in zip(head[1:], cells, strict=True):
            total[name] += value
        lines.append(f"| {key} | " + " | ".join(map(str, cells)) + " |")
    lines.append("| **total** | " + " | ".join(f"**{v}**" for v in total.values()) + " |")
    return lines


def _rl_table(st: dict[str, Any]) -> list[str]:
    head = ["source", "excluded (leakage)", "malformed", "rows"]
    lines = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    total = dict.fromkeys(head[1:], 0)
    for key, row in st["by_source"].items():
        cells = [row["excluded"], row["skipped"], row["rows"]]
        for name, value in zip(head[1:], cells, strict=True):
            total[name] += value
        lines.append(f"| {key} | " + " | ".join(map(str, cells)) + " |")
    lines.append("| **total** | " + " | ".join(f"**{v}**" for v in total.values()) + " |")
    return lines


def _malformed(info: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for key, st in info["sources"].items():
        rows = st["pool"]["malformed"]
        if not rows:
            continue
        lines.append(f"{key} ({len(rows)}, all in `{st['pool']['report']}`; files under the raw directory):")
        lines += [f"- `{m['file']}` row {m['row']}: {m['error']}" for m in rows[:MALFORMED_LISTED]]
        if len(rows) > MALFORMED_LISTED:
            lines.append(f"- and {len(rows) - MALFORMED_LISTED} more")
        lines.append("")
    for kind, st in info["sets"].items():
        if st.get("reports", {}).get("skipped"):
            lines.append(
                f"{kind} set: {st['skipped']} rows failed validation, listed in `{st['reports']['skipped']}`."
            )
    return lines or ["None."]


def render_card(info: dict[str, Any]) -> str:
    """The markdown card for one build (see ``avr.data.build.build_data`` for ``info``)."""
    overrides = ", ".join(f"`{k}={v}`" for k, v in info["overrides"].items()) or "none"
    lines = [
        "# Data card",
        "",
        f"Built by `avr data build {info['recipe']}`: recipe sha256 `{info['sha256']}`, overrides {overrides}, "
        f"seed {info['seed']}, raw data `{info['raw_dir'] or '(none: built-in data only)'}`.",
        "",
    ]
    if info["only"]:
        lines += [f"Only the {info['only']} set was built in this run (`--only {info['only']}`).", ""]
    lines += ["## Sources", "", *_sources_table(info), ""]
    sft, rl = info["sets"].get("sft"), info["sets"].get("rl")
    if sft is not None:
        lines += [f"## SFT set: `sft/{sft['name']}.json`, {sft['rows']} rows", "", *_sft_table(sft), ""]
        lines += [
            f"LLaMA-Factory: `dataset_dir: sft`, `dataset: {sft['name']}` (under the output directory).",
            "",
        ]
    if rl is not None:
        share = f"{rl['val_fraction']:.0%}" if rl["val_fraction"] else "none"
        lines += [
            f"## RL set: `rl/train.parquet` {rl['train']} prompts, `rl/val.parquet` {rl['val']} "
            f"(validation share {share})",
            "",
            *_rl_table(rl),
            "",
        ]
    guard = ", ".join(info["exclude"]) or "none"
    held = ", ".join(f"{k} (`{v}`)" for k, v in info["heldout"].items()) or "none"
    reports = [
        st["reports"]["excluded"] for st in info["sets"].values() if st.get("reports", {}).get("excluded")
    ]
    lines += [
        "## Leakage guard",
        "",
        f"Benchmarks excluded: {guard}. Held-out sets excluded: {held}.",
        f"Excluded rows are listed in {', '.join(f'`{r}`' for r in reports)}."
        if reports
        else "No row matched.",
        "",
        "## Malformed rows",
        "",
        *_malformed(info),
        "",
    ]
    return "\n".join(lines)
