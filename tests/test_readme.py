"""The README's layout is the tree, its links resolve, and it stays short enough to read in one sitting."""

from __future__ import annotations

import re

from tests import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def layout_block() -> str:
    tail = README.split("## Layout", 1)[1]
    return tail.split("```", 2)[1]


def layout_paths() -> set[str]:
    """Every path the layout names: a first column of ``dir/`` or ``dir/a.py  b.py`` (b in dir's folder)."""
    paths: set[str] = set()
    for line in layout_block().splitlines():
        first = re.split(r"\s{3,}", line.strip(), maxsplit=1)[0]
        if not first or not re.match(r"^[\w.]+/", first):
            continue
        words = first.split()
        folder = words[0].rsplit("/", 1)[0] if not words[0].endswith("/") else words[0].rstrip("/")
        paths.add(words[0].rstrip("/"))
        paths.update(f"{folder}/{w.rstrip('/')}" for w in words[1:])
    return paths


def test_every_path_in_the_layout_exists():
    missing = sorted(p for p in layout_paths() if not (REPO / p).exists())
    assert not missing, f"README layout names what is not in the tree: {missing}"


def test_the_layout_names_every_package_and_core_module():
    named = layout_paths()
    avr = REPO / "avr"
    packages = {f"avr/{p.name}" for p in avr.iterdir() if (p / "__init__.py").is_file()}
    modules = {f"avr/{p.name}" for p in avr.glob("*.py") if not p.name.startswith("_")}
    missing = sorted((packages | modules) - named)
    assert not missing, f"README layout does not name: {missing}"


def test_the_readme_is_short_and_opens_with_the_result_and_the_two_commands():
    lines = README.splitlines()
    assert len(lines) <= 330
    heads = [line for line in lines if line.startswith("## ")]
    assert heads[:3] == [
        "## The result, at a scale a laptop reruns",
        "## Two commands",
        "## On GPUs: four commands",
    ]


def test_links_resolve_and_every_doc_is_linked():
    docs = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "docs").glob("*.md"))
    links = set(re.findall(r"\]\(((?:docs|scripts)/[^)#]+)", README))
    assert not [link for link in links if not (REPO / link).exists()]
    assert set(docs) <= links
    for doc in (REPO / "docs").glob("*.md"):
        for link in re.findall(r"\]\((?!https?:)([^)#]+)", doc.read_text(encoding="utf-8")):
            assert (doc.parent / link).exists(), f"{doc.name}: broken link {link}"


UPSTREAM = {
    "verl",
    "vLLM",
    "vllm",
    "transformers",
    "LLaMA-Factory",
    "TRL",
    "Ray",
    "torch",
    "PyTorch",
    "VLMEvalKit",
}


def test_no_issue_numbers_in_docs_or_code():
    """A reader has no tracker: docs and comments say what and why, not which ticket. (An upstream
    project's issue, named with its project, is a citation: "verl issue 5003", "owner/repo issue #7".)"""
    pattern = re.compile(r"\bissue\s+#?\d+", re.IGNORECASE)
    texts = [REPO / "README.md", *(REPO / "docs").glob("*.md"), *(REPO / "avr").rglob("*.py")]
    texts += [*(REPO / "train_configs").rglob("*.yaml"), *(REPO / "scripts").rglob("*.sh")]
    texts += [*(REPO / "benchmarks").rglob("*.py")]
    hits = []
    for p in texts:
        text = p.read_text(encoding="utf-8")
        for m in pattern.finditer(text):
            before = text[max(0, m.start() - 40) : m.start()].split()
            if before and ("/" in before[-1] or before[-1].strip("(,;") in UPSTREAM):
                continue
            hits.append(f"{p.relative_to(REPO)}: {m.group(0)}")
    assert not hits
