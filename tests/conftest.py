"""Shared fixtures: no test may reach a hub, and the tiny model is built once per session."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    from avr.miniature.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-qwen3vl")


@pytest.fixture(scope="session")
def synthetic_records(tmp_path_factory) -> Path:
    from avr.miniature.synthetic import generate

    return generate(tmp_path_factory.mktemp("records"), n=48, seed=0, name="train")


@pytest.fixture(scope="session")
def env() -> dict[str, str]:
    """Environment for subprocesses: this interpreter's bin first, offline."""
    return {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
