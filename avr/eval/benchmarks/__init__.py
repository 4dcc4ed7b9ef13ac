"""Benchmarks for ``avr eval``: one module per benchmark (loader, scoring rule, the reference it
follows), and this registry.

A spec names a benchmark and where it is: ``NAME`` (``--data-dir/NAME``, else the hub unless
``HF_HUB_OFFLINE=1``), ``NAME=PATH`` (a directory in the published layout, or one file: parquet,
the authors' JSON/JSONL, or a VLMEvalKit TSV), either with ``:SPLIT``. An unregistered NAME with a
file is a generic set (``generic.py``). A bad row is skipped and listed (``Loaded.skipped``), never
the end of a benchmark.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from avr.eval.benchmarks import (
    ai2d,
    chartqa,
    generic,
    hallusionbench,
    logicvista,
    mathverse,
    mathvision,
    mathvista,
    mmmu,
    mmmu_pro,
    mmstar,
    ocrbench,
)
from avr.eval.benchmarks._base import (
    BenchmarkNotFound,
    HubUnavailable,
    Loaded,
    Row,
    Skipped,
    Spec,
    collect,
    open_hub,
    source_rows,
    split_options,
)
from avr.eval.rules import Verdict
from avr.hub import download_command, offline

DEFAULT_DATA_DIR = Path("data/benchmarks")  # the CLI's --data-dir default
MODULES: dict[str, ModuleType] = {
    m.SPEC.name: m
    for m in (
        mathvista,
        mathverse,
        mathvision,
        mmmu,
        mmmu_pro,
        mmstar,
        chartqa,
        ai2d,
        hallusionbench,
        ocrbench,
        logicvista,
    )
}
SPECS: dict[str, Spec] = {name: m.SPEC for name, m in MODULES.items()}

__all__ = [
    "BENCHMARKS",
    "DEFAULT_DATA_DIR",
    "SPECS",
    "BenchmarkNotFound",
    "Loaded",
    "Skipped",
    "aggregate",
    "breakdown_fields",
    "download_hint",
    "headline_splits",
    "load_benchmark",
    "parse_spec",
    "score",
    "split_options",
]


def _key(name: str) -> str:
    return name.lower().replace("-", "_")


def download_hint(name: str, path: Path, split: str | None = None) -> str:
    """The command that puts a benchmark where the loader looks for it."""
    spec = SPECS[name]
    split = spec.split(split)
    if spec.hub_id is None:
        return (spec.download or "").format(path=shlex.quote(str(path)))
    include = spec.include.format(split=split) if spec.include else None
    return download_command(spec.hub_id, path, include=include)


def _refuse_hidden(spec: Spec, split: str) -> None:
    if split in spec.hidden:
        raise ValueError(
            f"{spec.name}: the {split!r} split does not publish its answers; use {spec.splits[0]!r}"
        )


def load_local(spec: Spec, path: str | Path, split: str | None = None, limit: int | None = None) -> Loaded:
    """One benchmark from a local directory or file in one of its layouts."""
    asked, split = split, spec.split(split)
    _refuse_hidden(spec, split)
    path = Path(path)
    if not path.exists():
        raise BenchmarkNotFound(
            f"{spec.name}: {path} does not exist; get it with: {download_hint(spec.name, path, split)}"
        )
    sources = spec.find(path, split)
    if not sources:
        raise BenchmarkNotFound(
            f"{spec.name}: no {split!r} files in {path} (expected {spec.layout.format(split=split)}); "
            f"get them with: {download_hint(spec.name, path, split)}"
        )
    return collect(source_rows(spec.select_split(sources, asked)), spec.converter, spec.name, split, limit)


def _loader(spec: Spec) -> Callable[..., Loaded]:
    def load(path: str | Path, *, split: str | None = None, limit: int | None = None) -> Loaded:
        return load_local(spec, path, split, limit)

    load.__name__ = f"load_{spec.name}"
    load.__doc__ = (MODULES[spec.name].__doc__ or "").splitlines()[0]
    return load


BENCHMARKS: dict[str, Callable[..., Loaded]] = {
    **{name: _loader(spec) for name, spec in SPECS.items()},
    "generic": generic.load,
}


def parse_spec(spec: str) -> tuple[str, str | None, Path | None]:
    """``NAME``, ``NAME:SPLIT``, ``NAME=PATH`` or ``NAME:SPLIT=PATH`` -> (name, split, path)."""
    head, sep, tail = spec.strip().partition("=")
    name, _, split = head.strip().partition(":")
    name, split = name.strip(), split.strip() or None
    if not name:
        raise ValueError(f"benchmark spec {spec!r} has no name; use NAME, NAME:SPLIT or NAME=PATH")
    if sep and not tail.strip():
        raise ValueError(f"benchmark spec {spec!r} has an empty PATH after '='")
    return name, split, Path(tail.strip()).expanduser() if sep else None


def _hub_rows(spec: Spec, split: str):
    index = 0
    for config, hf_split, context in spec.hub_parts(split):
        label = f"hf://datasets/{spec.hub_id}" + (f"/{config}" if config else "") + f"[{hf_split}]"
        for row, raw in enumerate(open_hub(spec.hub_id, config, hf_split), start=1):
            yield Row(label, row, index, dict(raw), None, dict(context))
            index += 1


def _from_hub(spec: Spec, path: Path, split: str | None, limit: int | None) -> Loaded:
    """The local copy is missing: read the hub directly when allowed, else say how to download."""
    split = spec.split(split)
    _refuse_hidden(spec, split)
    where = f"{spec.name}: no local copy at {path}"
    how = f"download it with:\n  {download_hint(spec.name, path, split)}\nor pass {spec.name}=PATH"
    if spec.hub_id is None:
        raise BenchmarkNotFound(f"{where}; {how}")
    if offline():
        raise BenchmarkNotFound(
            f"{where} and HF_HUB_OFFLINE=1, so the hub ({spec.hub_id}) was not tried; {how}"
        )
    try:
        return collect(_hub_rows(spec, split), spec.converter, spec.name, split, limit)
    except HubUnavailable as e:
        raise BenchmarkNotFound(f"{where}, and loading {spec.hub_id} from the hub failed ({e}); {how}") from e


def load_benchmark(spec: str, *, data_dir: str | Path | None = None, limit: int | None = None) -> Loaded:
    """Load one benchmark from a spec (see the module docstring); ``.skipped`` lists the rows left out."""
    name, split, path = parse_spec(spec)
    key = _key(name)
    if key in SPECS:
        if path is not None:  # an explicit PATH that is missing is a typo, not a cue to download gigabytes
            return load_local(SPECS[key], path, split, limit)
        path = Path(data_dir if data_dir is not None else DEFAULT_DATA_DIR) / key
        if path.exists():
            return load_local(SPECS[key], path, split, limit)
        return _from_hub(SPECS[key], path, split, limit)
    if key == "generic" or (path is not None and path.suffix.lower() in generic.SUFFIXES):
        if path is None:
            raise ValueError(
                f"{name}: a generic benchmark needs a file: {name}=PATH.jsonl|.json|.parquet|.tsv"
            )
        return generic.load(path, split=split, limit=limit, name=name)
    known = ", ".join(BENCHMARKS)
    raise ValueError(
        f"unknown benchmark {name!r}; known: {known} (or NAME=PATH with a {'/'.join(generic.SUFFIXES)} file)"
    )


# --- what evaluation asks of a benchmark by name ---------------------------------------------------


def module_for(name: str) -> ModuleType:
    """The benchmark's module; any other name (a generic set) is graded and broken down generically."""
    return MODULES.get(_key(name), generic)


def breakdown_fields(name: str) -> tuple[str, ...]:
    """The meta keys a benchmark's report breaks down by; a generic set gets level, category, task."""
    spec = SPECS.get(_key(name))
    return spec.breakdown if spec is not None else generic.BREAKDOWN


def headline_splits(name: str) -> tuple[str, ...]:
    """The splits a benchmark's headline prefers, first present wins (empty: every item counts)."""
    spec = SPECS.get(_key(name))
    return spec.headline_splits if spec is not None else ()


def score(answer: str, pred: dict[str, Any], profile: str) -> Verdict:
    """The verdict of the benchmark's rule under a scoring profile (vlmevalkit, official, strict)."""
    return module_for(str(pred.get("benchmark", ""))).score(answer, pred, profile)


def aggregate(name: str, rows: list[dict[str, Any]]) -> dict[str, float]:
    """Benchmark-level metrics the reference reports beyond accuracy (HallusionBench's fAcc, qAcc)."""
    fn = getattr(module_for(name), "aggregate", None)
    return fn(rows) if fn is not None else {}
