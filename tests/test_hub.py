"""Every download command AVR prints or documents runs with the locked hub client (``hf download``)."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from avr.data.sources import SOURCES
from avr.eval.benchmarks import SPECS, download_hint
from avr.hub import download_command, offline
from tests import REPO

HF = Path(__import__("sys").executable).parent / "hf"
# up to the end of the line, a `;`, a backtick, or two spaces (the hints' "  (val only)" remarks)
COMMAND = re.compile(r"\bhf download .*?(?=;|`|  | #|$)", re.MULTILINE)
# hf download's options that take a value; anything else not starting with -- is a positional argument
VALUED = {
    "--repo-type",
    "--type",
    "--revision",
    "--include",
    "--exclude",
    "--cache-dir",
    "--local-dir",
    "--token",
    "--max-workers",
}


def printed_commands() -> list[str]:
    """The commands in the converters' and benchmarks' hints, and in the README and docs."""
    found = []
    for source in SOURCES.values():
        found += COMMAND.findall(source.download.replace("SRC", "/data/raw/x"))
    for name in SPECS:
        found += COMMAND.findall(download_hint(name, Path("/data/benchmarks") / name))
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        found += [f"{doc.name}: {c}" for c in COMMAND.findall(doc.read_text(encoding="utf-8"))]
    return found


def test_no_deprecated_cli_is_printed_or_documented():
    texts = [s.download for s in SOURCES.values()] + [download_hint(n, Path("/d")) for n in SPECS]
    texts += [p.read_text(encoding="utf-8") for p in [REPO / "README.md", *(REPO / "docs").glob("*.md")]]
    texts += [p.read_text(encoding="utf-8") for p in (REPO / "avr").rglob("*.py") if p.name != "hub.py"]
    assert not [t for t in texts if "huggingface-cli" in t]


def test_there_are_commands_to_check():
    names = " ".join(printed_commands())
    for repo in ("lmms-lab/OK-VQA", "AI4Math/MathVista", "echo840/OCRBench"):
        assert repo in names


@pytest.mark.parametrize("command", printed_commands())
def test_each_printed_command_parses_with_the_installed_cli(command):
    """``hf download ARGS --help``: the CLI parses every flag (an unknown one exits 2), then prints help."""
    args = shlex.split(command.split(": ", 1)[-1])
    assert args[:2] == ["hf", "download"]
    positional, rest = [], iter(args[2:])
    for a in rest:
        if a in VALUED:
            next(rest)
        else:
            positional.append(a)
    # one repository and no file names: a second --include pattern without its flag reads as a file name
    assert len(positional) == 1, f"{command}: positional arguments {positional}"
    r = subprocess.run([str(HF), *args[1:], "--help"], capture_output=True, text=True, timeout=120,
                       env={"PATH": str(HF.parent), "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_UPDATE_CHECK": "1"})  # fmt: skip
    assert r.returncode == 0, f"{command}: {r.stderr[-500:]}"
    assert "Usage: hf download" in r.stdout


def test_a_wrong_flag_is_caught_by_that_check():
    r = subprocess.run([str(HF), "download", "a/b", "--local_dir", "x", "--help"], capture_output=True,
                       text=True, timeout=120, env={"PATH": str(HF.parent), "HF_HUB_OFFLINE": "1"})  # fmt: skip
    assert r.returncode != 0


def test_download_command_and_offline(monkeypatch):
    assert (
        download_command("a/b", "/x y", include="data/*")
        == "hf download a/b --repo-type dataset --local-dir '/x y' --include 'data/*'"
    )
    assert download_command("org/model", "m", repo_type="model") == "hf download org/model --local-dir m"
    for value, want in (("1", True), ("on", True), ("Yes", True), ("0", False), ("", False)):
        monkeypatch.setenv("HF_HUB_OFFLINE", value)
        assert offline() is want
