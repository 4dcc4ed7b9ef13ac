"""Reports people look at: a markdown table and two PNG plots per run, and one table across runs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from avr.formats import FORMAT_NAMES
from avr.io import atomic_open, write_json

FORMAT_COLORS = {0: "#9e9e9e", 1: "#4caf50", 2: "#2196f3", 3: "#ff9800"}


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def metrics_table(metrics: dict[str, Any], comparison: dict[str, Any] | None = None) -> str:
    """One row per benchmark and one overall: accuracy, tokens, format shares, malformed rate."""
    names = [FORMAT_NAMES[f] for f in (1, 2, 3)]
    head = ["benchmark", "n", "acc %", "mean tok", "median tok", *[f"{n} %" for n in names], "malformed %"]
    if comparison:
        head += ["tok reduction %", "acc change (pt)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    rows = [*metrics["benchmarks"].items(), ("**overall**", metrics["overall"])]
    for name, b in rows:
        if not b.get("n"):
            continue
        cells = [
            name,
            str(b["n"]),
            _pct(b["accuracy"]),
            _num(b["mean_tokens"]),
            _num(b["median_tokens"]),
            *[_pct(b["formats"][n]["share"]) for n in names],
            _pct(b["malformed_rate"]),
        ]
        if comparison:
            c = comparison.get(name.strip("*"), {})
            cells += [_pct(c.get("token_reduction")), _pct(c.get("accuracy_change"))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def headline_notes(metrics: dict[str, Any]) -> list[str]:
    """A line per benchmark whose headline is one split of several it was run on (MMMU dev+val)."""
    out = []
    for name, b in metrics["benchmarks"].items():
        if b.get("headline_split") is None or b.get("n_all", b.get("n")) == b.get("n"):
            continue
        others = {
            k: v["n"]
            for k, v in (b.get("breakdown") or {}).get("split", {}).items()
            if k != b["headline_split"]
        }
        rest = ", ".join(f"{k} ({n})" for k, n in others.items())
        out.append(
            f"- {name}: headline split `{b['headline_split']}` ({b['n']} items); "
            f"other splits in the breakdown: {rest}"
        )
    return [*out, ""] if out else []


def per_format_table(metrics: dict[str, Any]) -> str:
    """Accuracy and tokens of each format, pooled over benchmarks: is the short format right when chosen?"""
    lines = ["| format | n | share % | acc % | mean tok |", "|---|---|---|---|---|"]
    for f in range(4):
        b = metrics["overall"]["formats"][FORMAT_NAMES[f]]
        lines.append(
            f"| {FORMAT_NAMES[f]} | {b['n']} | {_pct(b['share'])} | {_pct(b['accuracy'])} | "
            f"{_num(b['mean_tokens'])} |"
        )
    return "\n".join(lines)


def breakdown_table(field: str, values: dict[str, Any]) -> str:
    """One row per value of a meta field (level, subject...): n, accuracy, tokens and format shares."""
    names = [FORMAT_NAMES[f] for f in (1, 2, 3)]
    head = [field, "n", "acc %", "mean tok", *[f"{n} %" for n in names], "malformed %"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for value, b in values.items():
        cells = [
            value.replace("|", "\\|"),
            str(b["n"]),
            _pct(b["accuracy"]),
            _num(b["mean_tokens"]),
            *[_pct(b["formats"][n]["share"]) for n in names],
            _pct(b["malformed_rate"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def breakdown_sections(metrics: dict[str, Any]) -> list[str]:
    """A markdown section per benchmark and breakdown field, in the order the metrics hold them."""
    out: list[str] = []
    for name, b in metrics["benchmarks"].items():
        for field, values in (b.get("breakdown") or {}).items():
            out += [f"## {name} by {field}", "", breakdown_table(field, values), ""]
    return out


def scoring_section(metrics: dict[str, Any], skipped: list[dict[str, Any]] | None = None) -> list[str]:
    """Whose rule graded, what a judge would have decided, grading timeouts, rows not loaded."""
    sc = metrics.get("scoring") or {}
    if not sc:
        return []
    judge = "an LLM judge where the reference asks one" if sc.get("judge") else "no judge"
    lines = [
        "## Scoring",
        "",
        f"- profile: `{sc.get('profile')}` ({judge})",
        f"- items where the reference asks a GPT judge and the rule's verdict was used: {sc.get('needs_judge', 0)}",
        f"- items decided by the judge: {sc.get('judged', 0)}",
        f"- judge gave no verdict (counted wrong): {sc.get('judge_failed', 0)}"
        + (" (reasons in scored.jsonl, judge_error)" if sc.get("judge_failed") else ""),
        f"- grading calls past their deadline, retried with a longer one: {sc.get('grading_timeouts', 0)} "
        f"(still unresolved, graded wrong: {sc.get('grading_unresolved', 0)})",
        f"- benchmark rows skipped at load: {metrics.get('skipped', 0)}"
        + (" (listed in skipped.jsonl)" if skipped else ""),
        "",
        "acc %: judge failures counted wrong; acc % over verdicts: the items that got a verdict only.",
        "",
        "| benchmark | n | rule only, judge wanted | judged | judge failed | timeouts | unresolved | "
        "skipped rows | acc % | acc % over verdicts |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, b in [*metrics["benchmarks"].items(), ("**overall**", metrics["overall"])]:
        c = (b.get("scoring") or {}) if name != "**overall**" else sc
        lines.append(
            f"| {name} | {c.get('n', b.get('n_all', b.get('n', 0)))} | {c.get('needs_judge', 0)} | {c.get('judged', 0)} | "
            f"{c.get('judge_failed', 0)} | {c.get('grading_timeouts', 0)} | {c.get('grading_unresolved', 0)} | "
            f"{b.get('skipped', metrics.get('skipped', 0) if name == '**overall**' else 0)} | "
            f"{_pct(b.get('accuracy'))} | {_pct(b.get('accuracy_over_verdicts'))} |"
        )
    refs = [
        (name, b["reference_metrics"])
        for name, b in metrics["benchmarks"].items()
        if b.get("reference_metrics")
    ]
    for name, ref in refs:
        lines += ["", f"{name}: " + ", ".join(f"{k} {_pct(v)}%" for k, v in ref.items())]
        lines += reference_breakdown_tables(metrics["benchmarks"][name].get("reference_breakdown") or {})
    if skipped:
        lines += ["", "First skipped rows:", ""]
        lines += [
            f"- {s.get('benchmark')}: {s.get('file')} row {s.get('row')}: {s.get('reason')}"
            for s in skipped[:10]
        ]
    return [*lines, ""]


def reference_breakdown_tables(by: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    """The reference's own metrics per group (HallusionBench's aAcc/fAcc/qAcc per category)."""
    out: list[str] = []
    for field, groups in by.items():
        names = list(next(iter(groups.values()), {}))
        out += [
            "",
            f"| {field} | " + " | ".join(f"{n} %" for n in names) + " |",
            "|---" * (len(names) + 1) + "|",
        ]
        out += [f"| {g} | " + " | ".join(_pct(v.get(n)) for n in names) + " |" for g, v in groups.items()]
    return out


def _shown_path(path: str | None) -> str | None:
    """A path under the working directory is shown relative to it, so a shared report names no home."""
    if not path:
        return path
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def _save(fig, path: Path) -> None:
    with atomic_open(path, "wb") as f:
        fig.savefig(f, format="png", dpi=120, bbox_inches="tight")


def plot_format_mix(metrics: dict[str, Any], path: Path, title: str = "") -> Path:
    """Stacked bars: the share of each format per benchmark (and overall)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [*metrics["benchmarks"], "overall"]
    blocks = [*metrics["benchmarks"].values(), metrics["overall"]]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(names) + 2), 3.6))
    bottom = [0.0] * len(names)
    for f in (1, 2, 3, 0):
        shares = [100 * b["formats"][FORMAT_NAMES[f]]["share"] for b in blocks]
        ax.bar(names, shares, bottom=bottom, color=FORMAT_COLORS[f], label=FORMAT_NAMES[f])
        bottom = [a + s for a, s in zip(bottom, shares, strict=True)]
    ax.set_ylabel("share of responses (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title or "format mix per benchmark")
    ax.legend(loc="upper left", bbox_to_anchor=(1, 1), fontsize=8)
    ax.tick_params(axis="x", rotation=30)
    _save(fig, path)
    plt.close(fig)
    return path


def plot_accuracy_vs_tokens(
    runs: dict[str, dict[str, Any]],
    path: Path,
    *,
    per_benchmark: bool = True,
    xlabel: str = "mean output tokens",
) -> Path:
    """Accuracy against mean output tokens: a star per run (overall) and, with ``per_benchmark``, a
    marker per run and benchmark; up and left is better. The one plot of this kind: ``avr eval``'s
    reports and the miniature experiment's both draw it here."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    markers = "osD^v<>pXh"
    benchmarks = sorted({b for m in runs.values() for b in m.get("benchmarks", {})}) if per_benchmark else []
    for ri, (run, m) in enumerate(runs.items()):
        color = f"C{ri % 10}"
        if benchmarks:
            xs = [m["benchmarks"][b]["mean_tokens"] for b in benchmarks if b in m["benchmarks"]]
            ys = [100 * m["benchmarks"][b]["accuracy"] for b in benchmarks if b in m["benchmarks"]]
            ax.scatter(
                xs,
                ys,
                marker=markers[ri % len(markers)],
                color=color,
                alpha=0.6,
                label=f"{run} (per benchmark)",
            )
        o = m["overall"]
        ax.scatter(
            [o["mean_tokens"]], [100 * o["accuracy"]], marker="*", s=200, color=color, edgecolor="black",
            label=None if benchmarks else run,
        )  # fmt: skip
        ax.annotate(run, (o["mean_tokens"], 100 * o["accuracy"]), textcoords="offset points", xytext=(6, 6),
                    fontsize=7)  # fmt: skip
    ax.set_xlabel(xlabel)
    ax.set_ylabel("accuracy (%)")
    ax.set_title("accuracy vs output tokens (up and left is better)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    _save(fig, path)
    plt.close(fig)
    return path


def write_run_report(
    run_dir: Path,
    metrics: dict[str, Any],
    run_info: dict[str, Any],
    comparison: dict[str, Any] | None = None,
    baseline: dict[str, Any] | None = None,
    skipped: list[dict[str, Any]] | None = None,
) -> Path:
    """metrics.json, report.md, format_mix.png and accuracy_vs_tokens.png in ``run_dir``."""
    write_json(run_dir / "metrics.json", {**metrics, "run": run_info, "baseline": comparison})
    plot_format_mix(metrics, run_dir / "format_mix.png", title=f"format mix ({run_info.get('mode')})")
    runs = {run_dir.name: metrics}
    if baseline is not None:
        runs = {"baseline": baseline, **runs}
    plot_accuracy_vs_tokens(runs, run_dir / "accuracy_vs_tokens.png")
    lines = [
        f"# Evaluation: {run_dir.name}",
        "",
        f"- model: `{_shown_path(run_info.get('model'))}`",
        f"- mode: `{run_info.get('mode')}`, backend: `{run_info.get('backend')}`",
        f"- decoding: {json.dumps(run_info.get('decoding', {}))}",
        f"- scoring profile: `{(metrics.get('scoring') or {}).get('profile', '-')}`",
        "- tokens: every output token of the work the mode did (all samples and forced tags)",
        "",
        metrics_table(metrics, comparison),
        "",
        *headline_notes(metrics),
        *scoring_section(metrics, skipped),
        "## Per format (all benchmarks)",
        "",
        per_format_table(metrics),
        "",
        *breakdown_sections(metrics),
        "![accuracy vs tokens](accuracy_vs_tokens.png)",
        "",
        "![format mix](format_mix.png)",
        "",
    ]
    with atomic_open(run_dir / "report.md", "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    return run_dir / "report.md"


def compare_runs(run_dirs: list[Path], out: Path | None = None) -> str:
    """One table over several runs (rows: run x benchmark), plus a plot when ``out`` is given."""
    runs: dict[str, dict[str, Any]] = {}
    for d in run_dirs:
        path = Path(d) / "metrics.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no metrics; run `avr eval score {d}` first")
        name = Path(d).name if Path(d).name not in runs else str(d)
        runs[name] = json.loads(path.read_text(encoding="utf-8"))
    names = [FORMAT_NAMES[f] for f in (1, 2, 3)]
    head = ["run", "mode", "benchmark", "n", "acc %", "mean tok", *[f"{n} %" for n in names], "malformed %"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for run, m in runs.items():
        mode = (m.get("run") or {}).get("mode", "")
        for bench, b in [*m["benchmarks"].items(), ("overall", m["overall"])]:
            lines.append(
                "| "
                + " | ".join(
                    [
                        run,
                        str(mode),
                        bench,
                        str(b["n"]),
                        _pct(b["accuracy"]),
                        _num(b["mean_tokens"]),
                        *[_pct(b["formats"][n]["share"]) for n in names],
                        _pct(b["malformed_rate"]),
                    ]
                )
                + " |"
            )
    table = "\n".join(lines)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        plot_accuracy_vs_tokens(runs, out / "accuracy_vs_tokens.png")
        with atomic_open(out / "compare.md", "w", encoding="utf-8") as f:
            f.write("# Comparison\n\n" + table + "\n\n![accuracy vs tokens](accuracy_vs_tokens.png)\n")
    return table


def plot_training_log(log_path: Path, path: Path, title: str = "FS-GRPO training") -> Path:
    """Format shares, accuracy and reward per step from a JSONL training log with ``avr/*`` metrics
    (the CPU stand-in's train_log.jsonl): how the format mix moves as the diversity bonus decays."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(x) for x in Path(log_path).read_text(encoding="utf-8").splitlines() if x.strip()]
    # verl's file logger writes {"step", "data"}, and RayPPOTrainer logs avr's figures as timing_s/avr/*
    rows = [{**r["data"], "step": r["step"]} if isinstance(r.get("data"), dict) else r for r in rows]
    rows = [
        {**{k.removeprefix("timing_s/"): v for k, v in r.items() if k.startswith("timing_s/avr/")}, **r}
        for r in rows
    ]
    rows = [r for r in rows if "avr/mean_score" in r]
    if not rows:
        raise ValueError(f"{log_path}: no step with avr/* metrics to plot")
    steps = [r["step"] for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    for f, key in FORMAT_NAMES.items():
        ax1.plot(
            steps, [100 * r.get(f"avr/{key}/share", 0.0) for r in rows], color=FORMAT_COLORS[f], label=key
        )
    ax1.set_xlabel("step")
    ax1.set_ylabel("share of rollouts (%)")
    ax1.set_title("format mix")
    ax1.legend(fontsize=7)
    ax2.plot(steps, [r["avr/mean_score"] for r in rows], label="reward (mean)")
    ax2.plot(steps, [r["avr/accuracy"] for r in rows], label="accuracy")
    ax2.plot(steps, [r["avr/diversity_weight"] for r in rows], linestyle="--", label="w(t), diversity weight")
    ax2.set_xlabel("step")
    ax2.set_title("reward, accuracy, w(t)")
    ax2.legend(fontsize=7)
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    _save(fig, path)
    plt.close(fig)
    return path
