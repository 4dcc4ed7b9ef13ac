"""The registry of data sets: one ``SOURCE`` per module, looked up by name, and where a ``--src`` points."""

from __future__ import annotations

from pathlib import Path

from avr.data.sources import chartqa, clevr, geometry3k, gqa, okvqa, scienceqa, tqa, vision_sr1_cold
from avr.data.sources.common import Source
from avr.hub import offline

SOURCES: dict[str, Source] = {
    m.SOURCE.name: m.SOURCE for m in (vision_sr1_cold, okvqa, gqa, geometry3k, scienceqa, chartqa, clevr, tqa)
}


def get_source(name: str) -> Source:
    if name not in SOURCES:
        raise ValueError(f"unknown data set {name!r}; known: {', '.join(sorted(SOURCES))}")
    return SOURCES[name]


def resolve_src(source: Source, src: str | Path) -> Path:
    """A local directory, or a hub snapshot for ``hf://owner/name`` (or a known repo id) when online.

    A snapshot gives exactly the published layout the reader knows, so there is one code path per
    layout and the offline fixtures test it.
    """
    text = str(src)
    path = Path(text).expanduser()
    repo = text[len("hf://") :] if text.startswith("hf://") else None
    if repo is None and path.exists():
        if not path.is_dir():
            raise FileNotFoundError(f"{source.name}: {path} is not a directory")
        return path
    if repo is None and text in source.hub_repos:
        repo = text
    if repo is not None:
        if not source.hub_repos:
            raise FileNotFoundError(
                f"{source.name}: no hub layout is supported, only the official release; download it:\n  "
                + source.download.replace("SRC", "DIR")
            )
        if offline():
            raise FileNotFoundError(
                f"{source.name}: {text} is a hub id but HF_HUB_OFFLINE=1; download it first:\n  "
                + source.download.replace("SRC", "DIR")
            )
        from huggingface_hub import snapshot_download

        return Path(
            snapshot_download(repo_id=repo, repo_type="dataset", allow_patterns=list(source.hub_patterns))
        )
    raise FileNotFoundError(
        f"{source.name}: no such directory {path.resolve()}; download it first:\n  "
        + source.download.replace("SRC", str(path))
    )
