"""``avr data build``: a data recipe -> the SFT and RL sets, in one resumable command.

It chains the commands a researcher would otherwise run by hand, each through its own function:

    pool      avr data convert (or a generator)        build/pool/<converter>-<split>-<hash>/
    select    the recipe's rows of it: a seeded sample        build/sources/<key>.jsonl (heldout/<key>.jsonl)
    annotate  avr data annotate, where the recipe asks        build/annotate/<key>/annotated.jsonl
    mix       each set's sources, formats kept                build/sft.jsonl, build/rl.jsonl
    sft, rl   avr data sft / avr data rl, leakage guard on    sft/ (LLaMA-Factory dataset_dir), rl/ (verl)

then ``data_card.md``. Each step writes a stamp holding a hash of everything it depends on (the raw
files' names, sizes and times, its parameters, the upstream step's hash, the code that runs it); a
rerun skips every step whose stamp matches and whose output is there, so a rerun after a crash
resumes at the first unfinished step, and annotation resumes row by row inside its step. Nothing
written under the output directory depends on the time or on where the output directory is, so the
same recipe and raw files give byte-identical data sets.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from avr.config import config_path
from avr.data.generators import generator_module, load_generator
from avr.data.recipe import Recipe, SetSpec, SourceSpec, load_data_recipe
from avr.formats import FORMAT_NAMES, FormatError, infer_format
from avr.hub import offline
from avr.io import exclusive_lock, write_json, write_jsonl
from avr.records import RecordError, iter_rows

CARD = "data_card.md"

Log = Callable[[str], None]


# --------------------------------------------------------------------------------------------------
# Hashes: what makes a step's output current.


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def _code_hash(*modules: ModuleType) -> str:
    """The source of the modules (every file of a package) that a step runs: new code, new output."""
    h = hashlib.sha256()
    for module in modules:
        files = sorted(Path(module.__path__[0]).rglob("*.py")) if hasattr(module, "__path__") else []
        for f in files or [Path(module.__file__ or "")]:
            h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def _file_sha(path: Path) -> str:
    """Content hash of a records file: downstream steps depend on what a step wrote, not on how it ran,
    so a change that rewrites the same bytes (an edit to this module) re-runs nothing expensive."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _tree_fingerprint(root: Path) -> str:
    """Names, sizes and modification times of every file under ``root``: cheap, and a re-download or
    an edited file changes it. Relative names, so a moved raw directory stays current."""
    entries = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames.sort()
        for name in sorted(filenames):
            p = Path(dirpath) / name
            st = p.stat()
            entries.append((str(p.relative_to(root)), st.st_size, st.st_mtime_ns))
    return _digest(entries)


# --------------------------------------------------------------------------------------------------
# Steps


class Steps:
    """Runs named steps, skipping those whose stamp (``build/stamps/<name>.json``) is current."""

    def __init__(self, build_dir: Path, log: Log):
        self.dir = build_dir / "stamps"
        self.log = log
        self.ran: list[str] = []
        self.skipped: list[str] = []

    def current(self, name: str, key: str, outputs: Iterable[Path]) -> dict[str, Any] | None:
        stamp = self.dir / f"{name}.json"
        if not stamp.is_file():
            return None
        old = json.loads(stamp.read_text(encoding="utf-8"))
        if old.get("key") != key or not all(p.exists() for p in outputs):
            return None
        return old["stats"]

    def run(
        self, name: str, key: str, outputs: list[Path], fn: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        stats = self.current(name, key, outputs)
        if stats is not None:
            self.skipped.append(name)
            self.log(f"[build] {name}: current, skipped")
            return stats
        self.log(f"[build] {name}: running")
        stats = fn()
        write_json(self.dir / f"{name}.json", {"key": key, "stats": stats})
        self.ran.append(name)
        return stats


def _rel(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` when under it (reports name no home directory)."""
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _rebase(row: dict[str, Any], src_dir: Path, dst_dir: Path) -> dict[str, Any]:
    """Relative image paths of a row read from ``src_dir``, rewritten for a file in ``dst_dir``."""

    def move(value: Any) -> Any:
        if isinstance(value, str) and not Path(value).is_absolute():
            return os.path.relpath(src_dir / value, dst_dir)
        return value

    for key in ("image", "images"):
        if isinstance(row.get(key), list):
            row[key] = [move(v) for v in row[key]]
        elif key in row:
            row[key] = move(row[key])
    return row


def _read_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    for _, raw in iter_rows(path):
        if isinstance(raw, RecordError):
            raise raw  # our own outputs: a bad row here is damage, not data
        rows.append(raw)
    return rows


def _row_format(row: dict[str, Any]) -> int:
    """The format a row declares, else the one its texts imply; 0 when it has none (it will be skipped)."""
    try:
        if row.get("format") is not None:
            return int(str(row["format"]).strip().lstrip("Ff"))
        return infer_format(row.get("perception"), row.get("reasoning"))
    except (ValueError, FormatError):
        return 0


def _format_counts(formats: Iterable[int]) -> dict[str, int]:
    counts = Counter(formats)
    return {FORMAT_NAMES[k]: counts[k] for k in (1, 2, 3) if counts[k]}


# --------------------------------------------------------------------------------------------------
# The build


class Build:
    """One run of a recipe into ``out``; ``build_data`` is the entry point."""

    def __init__(self, recipe: Recipe, raw_dir: Path | None, out: Path, benchmark_dir: Path, log: Log):
        self.recipe, self.raw_dir, self.out, self.log = recipe, raw_dir, out, log
        self.benchmark_dir = benchmark_dir
        self.build_dir = out / "build"
        self.steps = Steps(self.build_dir, log)
        self.files: dict[str, Path] = {}  # source key -> its final records (selected or annotated)
        self.source_stats: dict[str, dict[str, Any]] = {}
        self.pool_dirs: set[str] = set()
        self._backends: dict[str, Any] = {}
        self._index: Any = None
        self._exclusion_key: str | None = None

    # ---- checks before any work

    def preflight(self, keys: list[str]) -> None:
        """Every raw directory and benchmark is there, or one error lists each missing one and how to
        get it: a build never stops after hours of work for want of a download."""
        from avr.data.sources import get_source, resolve_src

        problems = []
        for key in keys:
            spec = self.recipe.sources[key]
            if spec.generated:
                continue
            if self.raw_dir is None:
                problems.append(f"source {key!r} ({spec.source}) needs --raw-dir")
                continue
            try:
                resolve_src(get_source(spec.source), self.raw_dir / (spec.dir or key))
            except FileNotFoundError as e:
                problems.append(f"source {key!r}: {e}")
        problems += self._missing_benchmarks()
        if any(self.recipe.sources[k].formats == "annotate" for k in keys) and not self.recipe.annotate.model:
            problems.append(
                "annotate.model is not set (the policy whose pass rates assign formats); "
                "set it in the recipe or with --set annotate.model=PATH"
            )
        if problems:
            raise FileNotFoundError(f"{self.recipe.path}: cannot build:\n- " + "\n- ".join(problems))

    def _missing_benchmarks(self) -> list[str]:
        from avr.eval.benchmarks import SPECS, download_hint, parse_spec

        missing = []
        for spec in self.recipe.exclude:
            name, split, path = parse_spec(spec)
            key = name.lower().replace("-", "_")
            if path is not None:
                if not path.exists():
                    missing.append(f"exclude {spec!r}: no such file or directory {path}")
            elif key not in SPECS:
                missing.append(f"exclude {spec!r}: unknown benchmark; known: {', '.join(SPECS)}")
            elif not (self.benchmark_dir / key).exists() and (offline() or SPECS[key].hub_id is None):
                hint = download_hint(key, self.benchmark_dir / key, split)
                missing.append(
                    f"exclude {spec!r}: no copy at {self.benchmark_dir / key}; get it with:\n  {hint}"
                )
        return missing

    # ---- per source: pool, select, annotate

    def source(self, key: str) -> None:
        spec = self.recipe.sources[key]
        pool_key, pool_file, stats = self._pool(spec)
        heldout = key in self.recipe.heldout
        target = (self.out / "heldout" if heldout else self.build_dir / "sources") / f"{key}.jsonl"
        select_key = _digest(
            ["select", pool_key, spec.sample, spec.share, self.recipe.seed, key, _build_code()]
        )
        select = self.steps.run(
            f"select.{key}", select_key, [target], lambda: self._select(spec, pool_file, target)
        )
        self.source_stats[key] = {"pool": stats, "select": select, "annotate": None}
        self.files[key] = target
        if spec.formats == "annotate":
            self.files[key], self.source_stats[key]["annotate"] = self._annotate(spec, target)

    def _pool(self, spec: SourceSpec) -> tuple[str, Path, dict[str, Any]]:
        import avr.data.sources
        import avr.records

        if spec.generated:
            params = {"n": spec.n, "seed": spec.seed, "name": spec.key, "options": spec.options}
            dirname = f"{spec.source}-{spec.key}-{_digest(params)[:12]}"
            key = _digest(["pool", params, _code_hash(generator_module(spec.source))])
            file = self.build_dir / "pool" / dirname / f"{spec.key}.jsonl"
        else:
            src = self._src(spec)
            params = {
                "source": spec.source,
                "split": spec.split,
                "limit": spec.limit,
                "on_error": self.recipe.on_error,
            }
            dirname = f"{spec.source}-{spec.split or 'default'}-{_digest(params)[:12]}"
            code = _code_hash(avr.data.sources, avr.records)
            key = _digest(["pool", params, _tree_fingerprint(src), code])
            file, _ = self._pool_paths(spec, self.build_dir / "pool" / dirname)
        self.pool_dirs.add(dirname)
        stats = self.steps.run(f"pool.{dirname}", key, [file], lambda: self._fill_pool(spec, file.parent))
        return key, file, stats

    @staticmethod
    def _pool_paths(spec: SourceSpec, pool_dir: Path) -> tuple[Path, Path]:
        """Where ``convert`` writes this source's records and skipped rows (the split is in the name)."""
        from avr.data.sources import get_source, output_paths

        return output_paths(pool_dir, spec.source, get_source(spec.source).check_split(spec.split))

    def _src(self, spec: SourceSpec) -> Path:
        """The raw directory of a source, absolute: what the pool's fingerprint reads and convert is given."""
        assert self.raw_dir is not None  # preflight says so otherwise
        return (self.raw_dir / (spec.dir or spec.key)).resolve()

    def _fill_pool(self, spec: SourceSpec, pool_dir: Path) -> dict[str, Any]:
        shutil.rmtree(pool_dir, ignore_errors=True)  # a stale pool (other raw files) never mixes in
        if spec.generated:
            generate = load_generator(spec.source)
            rows = _read_rows(generate(pool_dir, spec.n, seed=spec.seed, name=spec.key, **spec.options))
            by_format = _format_counts(map(_row_format, rows))
            return {"rows": len(rows), "skipped": 0, "filtered": 0, "by_format": by_format, "malformed": []}
        from avr.data.sources import convert

        stats = convert(
            spec.source,
            self._src(spec),
            pool_dir,
            split=spec.split,
            limit=spec.limit,
            on_error=self.recipe.on_error,
        )
        _, report = self._pool_paths(spec, pool_dir)
        malformed = _read_rows(report) if report.is_file() else []
        raw = self.raw_dir.resolve()  # type: ignore[union-attr]
        for m in malformed:  # named under the raw directory: the card does not depend on where it is
            m["file"] = _rel(Path(m["file"]), raw)
            m["error"] = str(m["error"]).replace(f"{raw}{os.sep}", "")
        return {
            "rows": stats["rows"],
            "skipped": stats["skipped"],
            "filtered": stats["filtered"],
            "by_format": stats["by_format"],
            "malformed": malformed,
            "report": _rel(report, self.out) if malformed else None,
        }

    def _select(self, spec: SourceSpec, pool_file: Path, target: Path) -> dict[str, Any]:
        rows = _read_rows(pool_file)
        n = len(rows)
        k = n if spec.share is None else round(n * spec.share)
        k = min(n, spec.sample if spec.sample is not None else k)
        keep: Iterable[int] = range(n)
        if k < n:  # seeded by the recipe's seed and the source's key: a recipe edit elsewhere changes nothing
            keep = sorted(random.Random(f"{self.recipe.seed}:{spec.key}").sample(range(n), k))
        chosen = [_rebase(rows[i], pool_file.parent, target.parent) for i in keep]
        write_jsonl(target, chosen)
        return {"read": n, "selected": len(chosen), "by_format": _format_counts(map(_row_format, chosen))}

    def _annotate(self, spec: SourceSpec, selected: Path) -> tuple[Path, dict[str, Any]]:
        import dataclasses

        import avr.data.annotate
        from avr.data.annotate import OUTPUT, REPORT, AnnotateConfig

        ann = self.recipe.annotate
        cfg = AnnotateConfig.load(ann.config, ann.overrides)
        key = _digest(
            [
                "annotate",
                _file_sha(selected),
                _model_id(ann.model),
                _model_id(ann.teacher),
                ann.backend,
                dataclasses.asdict(cfg),
                ann.seed,
                _code_hash(avr.data.annotate),
            ]
        )
        out = self.build_dir / "annotate" / spec.key
        file = out / OUTPUT

        def run() -> dict[str, Any]:
            from avr.data.annotate import annotate

            marker = out / "build.key"  # a half-done annotation of *these* inputs resumes; any other restarts
            if out.exists() and (not marker.is_file() or marker.read_text().strip() != key):
                shutil.rmtree(out)
            out.mkdir(parents=True, exist_ok=True)
            marker.write_text(key + "\n")
            policy, teacher = self._annotation_backends(cfg)
            annotate(
                [selected], out, backend=policy, teacher=teacher, config=cfg, on_error=self.recipe.on_error
            )
            rows = _read_rows(file) if file.is_file() else []
            failed, bad = (out / REPORT, out / "annotate.bad_rows.jsonl")
            return {
                "rows": len(rows),
                "by_format": _format_counts(map(_row_format, rows)),
                "teacher_failed": len(_read_rows(failed)) if failed.is_file() else 0,
                "bad_rows": len(_read_rows(bad)) if bad.is_file() else 0,
                "model": ann.model,
                "teacher": ann.teacher or ann.model,
            }

        return file, self.steps.run(f"annotate.{spec.key}", key, [file], run)

    def _annotation_backends(self, cfg: Any) -> tuple[Any, Any]:
        from avr.generation import Decoding, make_backend

        ann = self.recipe.annotate
        decoding = Decoding(max_new_tokens=cfg.max_new_tokens, seed=ann.seed)
        for model in (ann.model, ann.teacher):
            if model and model not in self._backends:
                self.log(f"[build] loading {model} ({ann.backend}) for annotation")
                self._backends[model] = make_backend(ann.backend, _model_path(model), decoding)
        return self._backends[ann.model], self._backends[ann.teacher] if ann.teacher else None

    # ---- per set: mix, then avr data sft / rl

    def mix(self, spec: SetSpec) -> tuple[Path, dict[str, Any]]:
        target = self.build_dir / f"{spec.kind}.jsonl"
        takes = [(t.key, t.keep_formats, _file_sha(self.files[t.key])) for t in spec.takes]

        def run() -> dict[str, Any]:
            rows: list[dict[str, Any]] = []
            per_source = {}
            for take in spec.takes:
                src_rows = _read_rows(self.files[take.key])
                kept = [
                    r for r in src_rows if take.keep_formats is None or _row_format(r) in take.keep_formats
                ]
                first = len(rows) + 1
                rows += [_rebase(r, self.files[take.key].parent, target.parent) for r in kept]
                per_source[take.key] = {
                    "rows": len(kept),
                    "dropped_format": len(src_rows) - len(kept),
                    "lines": [first, len(rows)],
                }
            write_jsonl(target, rows)
            return {"rows": len(rows), "sources": per_source}

        return target, self.steps.run(
            f"mix.{spec.kind}", _digest(["mix", takes, _build_code()]), [target], run
        )

    def exclusion_key(self) -> str:
        """What the leakage guard reads: the benchmarks' files (names, sizes, times) and the held-out sets."""
        if self._exclusion_key is None:
            from avr.eval.benchmarks import parse_spec

            parts = []
            for spec in self.recipe.exclude:
                name, _, path = parse_spec(spec)
                where = path if path is not None else self.benchmark_dir / name.lower().replace("-", "_")
                if where.is_dir():
                    parts.append([spec, _tree_fingerprint(where)])
                else:
                    parts.append([spec, _file_sha(where) if where.is_file() else "hub"])
            held = [_file_sha(self.files[k]) for k in self.recipe.heldout]
            self._exclusion_key = _digest([parts, held])
        return self._exclusion_key

    def leakage_index(self) -> Any:
        """Every excluded benchmark and held-out set, indexed once, and only when a set must be rebuilt."""
        if self._index is None:
            from avr.data.exclude import LeakageIndex, load_index
            from avr.eval.benchmarks import load_benchmark

            index = LeakageIndex()
            if self.recipe.exclude:
                index = load_index(list(self.recipe.exclude), data_dir=self.benchmark_dir)
            for key in self.recipe.heldout:
                index.add(load_benchmark(f"{key}={self.files[key]}"))
            self.log(
                f"[build] leakage guard: {len(index.images)} images, {len(index.questions)} questions indexed"
            )
            self._index = index
        return self._index

    def build_set(self, spec: SetSpec, mix_file: Path, mix_stats: dict[str, Any]) -> dict[str, Any]:
        import avr.data.exclude
        import avr.data.rl
        import avr.data.sft
        import avr.formats
        import avr.grading
        import avr.records

        builder = avr.data.sft if spec.kind == "sft" else avr.data.rl
        code = _code_hash(builder, avr.records, avr.formats, avr.data.exclude, avr.grading)
        params = {
            "name": spec.name,
            "images": spec.images,
            "instruction": spec.instruction,
            "val_fraction": spec.val_fraction,
            "seed": self.recipe.seed,
            "on_error": self.recipe.on_error,
        }
        key = _digest([spec.kind, _file_sha(mix_file), params, self.exclusion_key(), code])
        set_dir = self.out / spec.kind
        if spec.kind == "sft":
            outputs = [set_dir / f"{spec.name}.json", set_dir / "dataset_info.json"]
        else:
            outputs = [set_dir / "train.parquet"]
        return self.steps.run(
            spec.kind, key, outputs, lambda: self._build_set(spec, mix_file, mix_stats, set_dir)
        )

    def _build_set(
        self, spec: SetSpec, mix_file: Path, mix_stats: dict[str, Any], set_dir: Path
    ) -> dict[str, Any]:
        common = {
            "on_error": self.recipe.on_error,
            "instruction": spec.instruction,
            "exclude": self.leakage_index(),
        }
        if spec.kind == "sft":
            from avr.data.sft import build_sft_dataset

            stats = build_sft_dataset([mix_file], set_dir, name=spec.name, images=spec.images, **common)
            reports = {"excluded": f"{spec.name}.excluded.jsonl", "skipped": f"{spec.name}.skipped.jsonl"}
            result: dict[str, Any] = {"rows": stats["rows"], "name": spec.name}
        else:
            from avr.data.rl import build_rl_dataset

            stats = build_rl_dataset(
                [mix_file], set_dir, val_fraction=spec.val_fraction, seed=self.recipe.seed, **common
            )
            reports = {"excluded": "excluded.jsonl", "skipped": "skipped.jsonl"}
            result = {
                "rows": stats["train"] + stats["val"],
                "train": stats["train"],
                "val": stats["val"],
                "val_fraction": spec.val_fraction,
            }
        # which mix rows each report names, so that every source's count adds up in the card
        dropped = {
            kind: {r["row"] for r in _read_rows(set_dir / name)} if (set_dir / name).is_file() else set()
            for kind, name in reports.items()
        }
        formats = [_row_format(r) for r in _read_rows(mix_file)]
        by_source = {}
        for key, info in mix_stats["sources"].items():
            span = range(info["lines"][0], info["lines"][1] + 1)
            final = [formats[n - 1] for n in span if not any(n in rows for rows in dropped.values())]
            by_source[key] = {
                "taken": info["rows"] + info["dropped_format"],
                "dropped_format": info["dropped_format"],
                **{kind: sum(1 for n in span if n in rows) for kind, rows in dropped.items()},
                "rows": len(final),
                "by_format": _format_counts(final),
            }
        result.update(
            skipped=stats["skipped"],
            excluded=stats["excluded"],
            by_source=by_source,
            reports={k: f"{spec.kind}/{v}" for k, v in reports.items() if (set_dir / v).is_file()},
        )
        return result

    def collect_garbage(self) -> None:
        """Pools no source of this recipe reads any more (an edited recipe), with their stamps."""
        pools = self.build_dir / "pool"
        for d in sorted(pools.iterdir()) if pools.is_dir() else []:
            if d.name not in self.pool_dirs:
                shutil.rmtree(d, ignore_errors=True)
                (self.steps.dir / f"pool.{d.name}.json").unlink(missing_ok=True)


def _build_code() -> str:
    import avr.data.build

    return _code_hash(avr.data.build)


def _model_id(model: str | None) -> Any:
    """A local model by its files (a retrained checkpoint at the same path is another model); a hub id
    by its name."""
    if model and Path(model).expanduser().is_dir():
        return [model, _tree_fingerprint(Path(model).expanduser())]
    return model


def _model_path(model: str) -> str:
    """A local directory, or a hub id ("owner/name") that the backend downloads; a typo is an error."""
    path = Path(model).expanduser()
    if path.exists():
        return str(path)
    if len(model.split("/")) == 2 and not model.startswith((".", "/", "~")):
        return model
    raise FileNotFoundError(f"annotate.model {model!r}: no such directory, and not a hub id (owner/name)")


def build_data(
    recipe: str | Path,
    raw_dir: str | Path | None = "data/raw",
    out_dir: str | Path = "data",
    *,
    only: str | None = None,
    overrides: dict[str, Any] | None = None,
    benchmark_dir: str | Path | None = None,
    log: Log = print,
) -> dict[str, Any]:
    """Build the recipe's SFT and RL sets (or ``only`` one) from ``raw_dir`` into ``out_dir``.

    ``recipe`` is a name under ``train_configs/data/`` or a path; ``overrides`` are ``{"dotted.key":
    value}`` applied to it (``--set``). Returns the card's numbers and the paths the trainers read:
    ``sft_dir`` (LLaMA-Factory's ``dataset_dir``, data set ``sft_name``), ``rl_dir`` (``train.parquet``,
    ``val.parquet``), ``heldout`` (``{key: records file}`` for ``avr eval``) and ``card``.
    """
    from avr.data.card import render_card
    from avr.io import atomic_open

    rec = load_data_recipe(recipe, overrides)
    if only is not None and only not in ("sft", "rl"):
        raise ValueError(f"only must be sft or rl, got {only!r}")
    sets = [s for s in rec.sets() if only is None or s.kind == only]
    if not sets:
        raise ValueError(f"{rec.path}: the recipe has no {only} set")
    out = Path(out_dir)
    bench = Path(benchmark_dir if benchmark_dir is not None else rec.benchmark_dir)
    build = Build(rec, Path(raw_dir) if raw_dir is not None else None, out, bench, log)
    keys = list(dict.fromkeys([t.key for s in sets for t in s.takes] + list(rec.heldout)))
    build.preflight(keys)

    with exclusive_lock(build.build_dir, "avr data build"):
        for key in keys:
            build.source(key)
        set_stats = {}
        for spec in sets:
            mix_file, mix_stats = build.mix(spec)
            set_stats[spec.kind] = build.build_set(spec, mix_file, mix_stats)
        if only is None:
            build.collect_garbage()
        info = {
            "recipe": _rel(
                rec.path,
                config_path("data").parents[1]
                if rec.path.resolve().is_relative_to(config_path("data"))
                else Path.cwd(),
            ),
            "sha256": rec.sha256,
            "overrides": rec.overrides,
            "seed": rec.seed,
            "raw_dir": str(raw_dir) if raw_dir is not None else None,
            "only": only,
            "exclude": list(rec.exclude),
            "heldout": {k: _rel(build.files[k], out) for k in rec.heldout},
            "annotate": {
                "model": rec.annotate.model,
                "teacher": rec.annotate.teacher or rec.annotate.model,
                "backend": rec.annotate.backend,
                "config": rec.annotate.config,
            },
            "sources": {k: {"spec": rec.sources[k], **build.source_stats[k]} for k in keys},
            "sets": set_stats,
        }
        card = render_card(info)
        card_path = out / CARD
        if (
            not card_path.is_file() or card_path.read_text(encoding="utf-8") != card
        ):  # a no-op rerun writes nothing
            with atomic_open(card_path, "w", encoding="utf-8") as f:
                f.write(card)
    log(card)
    return {
        **{k: v for k, v in info.items() if k != "sources"},
        "sources": {k: {s: v for s, v in st.items() if s != "spec"} for k, st in info["sources"].items()},
        "card": str(card_path),
        "ran": build.steps.ran,
        "skipped_steps": build.steps.skipped,
        "sft_dir": str(out / "sft") if "sft" in set_stats else None,
        "sft_name": rec.sft.name if rec.sft is not None and "sft" in set_stats else None,
        "rl_dir": str(out / "rl") if "rl" in set_stats else None,
        "heldout": {k: str(build.files[k]) for k in rec.heldout},
    }
