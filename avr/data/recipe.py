"""Data recipes: one reviewed YAML file that says which data sets make the SFT and RL sets.

A recipe (``train_configs/data/<name>.yaml``) names every data set it reads under ``sources``, by a key
of its own, and then which of them each training set takes:

    seed: 0                      # sampling and the RL validation split
    on_error: skip               # a malformed source row is skipped and reported, never fatal
    sources:
      okvqa:                     # the key; the converter defaults to it
        source: okvqa            # a converter of `avr data convert`, or a generator (`synthetic`)
        split: val
        dir: okvqa               # under --raw-dir (default: the key)
        limit: 20000             # read the first N rows only
        sample: 2000             # then keep a seeded N of them (or share: 0.1)
        formats: annotate        # source (the data set's own texts) | annotate (pass rates)
      held: {source: synthetic, n: 30, seed: 1, options: {}}
    sft: {name: avr_sft, sources: {okvqa: {keep_formats: [1, 2]}}}
    rl: {val_fraction: 0.05, sources: [okvqa]}
    heldout: [held]              # built for evaluation and kept out of training by the leakage guard
    exclude: [mathvista, mathvision]       # benchmarks (NAME or NAME=PATH, as `avr eval` takes)
    benchmark_dir: data/benchmarks
    annotate: {model: Qwen/Qwen3-VL-2B-Instruct, teacher: null, backend: vllm, config: default}

Every key is checked: a typo is an error naming the file and the key, not a silently ignored line.
``--set a.b=value`` overrides a key before validation, like the training recipes' overrides.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avr.config import config_path

FORMAT_SOURCES = ("source", "annotate")
SET_KINDS = ("sft", "rl")


@dataclass(frozen=True)
class SourceSpec:
    """One data set the recipe reads, and how its rows are chosen and given formats."""

    key: str
    source: str  # a converter name, or a generator name (avr.data.generators)
    split: str | None = None
    dir: str | None = None  # under the raw dir; default: the key
    limit: int | None = None  # converters: the first N rows
    n: int | None = None  # generated: rows to draw
    seed: int | None = None  # generated: the generator's seed (default: the recipe's)
    options: dict[str, Any] = field(default_factory=dict)  # generated: passed to generate()
    sample: int | None = None  # a seeded N of the rows read
    share: float | None = None  # or a seeded share of them
    formats: str = "source"  # "source": the data set's own texts; "annotate": avr data annotate

    @property
    def generated(self) -> bool:
        from avr.data.generators import is_generator

        return is_generator(self.source)


@dataclass(frozen=True)
class Take:
    """A source as one training set takes it: optionally only some formats (after annotation)."""

    key: str
    keep_formats: tuple[int, ...] | None = None


@dataclass(frozen=True)
class SetSpec:
    kind: str  # "sft" | "rl"
    takes: tuple[Take, ...]
    name: str = "avr_sft"  # sft: the data set name in dataset_info.json
    images: str = "hardlink"  # sft: how images go beside the data set (hardlink falls back to copy)
    instruction: bool = False
    val_fraction: float = 0.05  # rl: held out for verl's validation


@dataclass(frozen=True)
class AnnotateSpec:
    model: str | None = None  # the policy whose pass rates decide formats
    teacher: str | None = None  # writes missing texts (default: the policy)
    backend: str = "hf"
    config: str = "default"  # train_configs/annotate/<name>.yaml or a path
    overrides: dict[str, Any] = field(default_factory=dict)  # keys of that config
    seed: int = 0


@dataclass(frozen=True)
class Recipe:
    path: Path
    sha256: str  # of the file's bytes: the card records it so a data set traces back to its recipe
    overrides: dict[str, Any]
    seed: int
    on_error: str
    sources: dict[str, SourceSpec]
    sft: SetSpec | None
    rl: SetSpec | None
    heldout: tuple[str, ...]
    exclude: tuple[str, ...]
    benchmark_dir: str
    annotate: AnnotateSpec

    def sets(self) -> list[SetSpec]:
        return [s for s in (self.sft, self.rl) if s is not None]


class RecipeError(ValueError):
    """A bad recipe: the message names the file and the key."""

    def __init__(self, path: Path, where: str, message: str):
        super().__init__(f"{path}: {where}: {message}" if where else f"{path}: {message}")


def resolve_recipe_path(name_or_path: str | Path) -> Path:
    """A bare name is ``train_configs/data/<name>.yaml``; anything with a suffix or a slash is a path."""
    text = str(name_or_path)
    path = Path(text)
    recipe_dir = config_path("data")
    if not path.suffix and "/" not in text:
        path = recipe_dir / f"{text}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in recipe_dir.glob("*.yaml")) if recipe_dir.is_dir() else []
        raise FileNotFoundError(f"data recipe not found: {path} (recipes: {', '.join(known) or 'none'})")
    return path


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any], path: Path) -> dict[str, Any]:
    """``{"sources.okvqa.limit": 10}`` -> data with that key set; intermediate mappings are created."""
    data = copy.deepcopy(data)
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        node = data
        for i, part in enumerate(parts[:-1]):
            nxt = node.get(part)
            if nxt is None:
                nxt = node[part] = {}
            if not isinstance(nxt, dict):
                raise RecipeError(path, ".".join(parts[: i + 1]), f"--set {dotted}: not a mapping")
            node = nxt
        node[parts[-1]] = value
    return data


def _keys(path: Path, where: str, data: Any, known: set[str]) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RecipeError(path, where, f"expected a mapping, got {type(data).__name__}")
    unknown = sorted(set(map(str, data)) - known)
    if unknown:
        raise RecipeError(path, where, f"unknown key(s) {unknown}; known: {sorted(known)}")
    return data


def _int(path: Path, where: str, value: Any, *, minimum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise RecipeError(path, where, f"expected an integer >= {minimum}, got {value!r}")
    return value


def _source(path: Path, key: str, raw: Any, seed: int) -> SourceSpec:
    where = f"sources.{key}"
    known = {"source", "split", "dir", "limit", "n", "seed", "options", "sample", "share", "formats"}
    data = _keys(path, where, raw, known)
    name = str(data.get("source") or key)
    from avr.data.generators import is_generator

    generated = is_generator(name)
    if generated:
        wrong = sorted({"split", "dir", "limit"} & set(data))
        if wrong:
            raise RecipeError(path, where, f"{wrong} do not apply to generated data (use n, seed, options)")
        if data.get("n") is None:
            raise RecipeError(path, where, f"generated data ({name}) needs n (the number of rows)")
    else:
        from avr.data.sources import SOURCES, get_source

        wrong = sorted({"n", "seed", "options"} & set(data))
        if wrong:
            raise RecipeError(path, where, f"{wrong} apply only to generated data")
        if name not in SOURCES:
            raise RecipeError(
                path, f"{where}.source", f"unknown converter {name!r}; known: {', '.join(sorted(SOURCES))}"
            )
        try:
            get_source(name).check_split(data.get("split"))
        except ValueError as e:
            raise RecipeError(path, f"{where}.split", str(e)) from None
    share = data.get("share")
    if share is not None and (
        isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1
    ):
        raise RecipeError(path, f"{where}.share", f"expected a share in (0, 1], got {share!r}")
    if share is not None and data.get("sample") is not None:
        raise RecipeError(path, where, "give sample (rows) or share, not both")
    formats = data.get("formats", "source")
    if formats not in FORMAT_SOURCES:
        raise RecipeError(path, f"{where}.formats", f"expected one of {FORMAT_SOURCES}, got {formats!r}")
    options = data.get("options") or {}
    if not isinstance(options, dict):
        raise RecipeError(path, f"{where}.options", "expected a mapping of generator options")
    return SourceSpec(
        key=key,
        source=name,
        split=data.get("split"),
        dir=None if generated else str(data.get("dir") or key),
        limit=_int(path, f"{where}.limit", data.get("limit"), minimum=1),
        n=_int(path, f"{where}.n", data.get("n"), minimum=1),
        seed=_int(path, f"{where}.seed", data.get("seed", seed if generated else None), minimum=0),
        options=dict(options),
        sample=_int(path, f"{where}.sample", data.get("sample"), minimum=1),
        share=float(share) if share is not None else None,
        formats=formats,
    )


def _takes(path: Path, kind: str, raw: Any, sources: dict[str, SourceSpec]) -> tuple[Take, ...]:
    where = f"{kind}.sources"
    if isinstance(raw, list):
        raw = {k: None for k in raw}
    if not isinstance(raw, dict) or not raw:
        raise RecipeError(path, where, "expected a non-empty list or mapping of source keys")
    takes = []
    for key, opts in raw.items():
        key = str(key)
        if key not in sources:
            raise RecipeError(path, f"{where}.{key}", f"not a key of sources (known: {', '.join(sources)})")
        opts = _keys(path, f"{where}.{key}", opts, {"keep_formats"})
        keep = opts.get("keep_formats")
        if keep is not None:
            if not isinstance(keep, list) or not keep or any(k not in (1, 2, 3) for k in keep):
                raise RecipeError(
                    path, f"{where}.{key}.keep_formats", f"expected a list of 1, 2, 3, got {keep!r}"
                )
            keep = tuple(sorted(set(keep)))
        takes.append(Take(key, keep))
    return tuple(takes)


def _set(path: Path, kind: str, raw: Any, sources: dict[str, SourceSpec]) -> SetSpec | None:
    if raw is None:
        return None
    known = {"sources", "instruction"} | ({"name", "images"} if kind == "sft" else {"val_fraction"})
    data = _keys(path, kind, raw, known)
    spec = SetSpec(
        kind=kind,
        takes=_takes(path, kind, data.get("sources"), sources),
        name=str(data.get("name", "avr_sft")),
        images=str(data.get("images", "hardlink")),
        instruction=bool(data.get("instruction", False)),
        val_fraction=float(data.get("val_fraction", 0.05)),
    )
    if spec.images not in ("copy", "hardlink", "symlink"):
        raise RecipeError(path, f"{kind}.images", f"expected copy, hardlink or symlink, got {spec.images!r}")
    if not 0 <= spec.val_fraction < 1:
        raise RecipeError(
            path, f"{kind}.val_fraction", f"expected a fraction in [0, 1), got {spec.val_fraction}"
        )
    return spec


def load_data_recipe(name_or_path: str | Path, overrides: dict[str, Any] | None = None) -> Recipe:
    """Read, override and validate a recipe; every problem names the file and the key."""
    import yaml

    path = resolve_recipe_path(name_or_path)
    text = path.read_bytes()
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise RecipeError(path, "", f"expected a mapping, got {type(data).__name__}")
    overrides = dict(overrides or {})
    data = apply_overrides(data, overrides, path)
    known = {"seed", "on_error", "sources", "sft", "rl", "heldout", "exclude", "benchmark_dir", "annotate"}
    _keys(path, "", data, known)
    seed = _int(path, "seed", data.get("seed", 0), minimum=0) or 0
    on_error = data.get("on_error", "skip")
    if on_error not in ("skip", "raise"):
        raise RecipeError(path, "on_error", f"expected skip or raise, got {on_error!r}")
    raw_sources = data.get("sources")
    if raw_sources is not None and not isinstance(raw_sources, dict):
        raise RecipeError(
            path, "sources", f"expected a mapping of keys to data sets, got {type(raw_sources).__name__}"
        )
    if not raw_sources:
        raise RecipeError(path, "sources", "the recipe reads no data set")
    sources = {str(k): _source(path, str(k), v, seed) for k, v in raw_sources.items()}
    sft, rl = (_set(path, kind, data.get(kind), sources) for kind in SET_KINDS)
    if sft is None and rl is None:
        raise RecipeError(path, "", "the recipe builds neither an sft nor an rl set")
    heldout = tuple(str(k) for k in data.get("heldout") or [])
    for key in heldout:
        if key not in sources:
            raise RecipeError(path, "heldout", f"{key!r} is not a key of sources")
        trained = [s.kind for s in (sft, rl) if s and any(t.key == key for t in s.takes)]
        if trained:
            raise RecipeError(
                path, "heldout", f"{key!r} is held out but the {'/'.join(trained)} set takes it"
            )
    exclude = data.get("exclude") or []
    if not isinstance(exclude, list) or not all(isinstance(x, str) and x.strip() for x in exclude):
        raise RecipeError(path, "exclude", "expected a list of benchmark specs (NAME or NAME=PATH)")
    ann = _keys(
        path, "annotate", data.get("annotate"), {"model", "teacher", "backend", "config", "overrides", "seed"}
    )
    annotate = AnnotateSpec(
        model=ann.get("model"),
        teacher=ann.get("teacher"),
        backend=str(ann.get("backend", "hf")),
        config=str(ann.get("config", "default")),
        overrides=dict(ann.get("overrides") or {}),
        seed=_int(path, "annotate.seed", ann.get("seed", 0), minimum=0) or 0,
    )
    if annotate.backend not in ("hf", "vllm"):
        raise RecipeError(path, "annotate.backend", f"expected hf or vllm, got {annotate.backend!r}")
    return Recipe(
        path=path,
        sha256=hashlib.sha256(text).hexdigest(),
        overrides=overrides,
        seed=seed,
        on_error=on_error,
        sources=sources,
        sft=sft,
        rl=rl,
        heldout=heldout,
        exclude=tuple(x.strip() for x in exclude),
        benchmark_dir=str(data.get("benchmark_dir", "data/benchmarks")),
        annotate=annotate,
    )
