"""Does a merged checkpoint load? Run by ``scripts/merge_checkpoint.sh`` after verl's model merger.

    python -m avr.rl.merge_check MODEL_DIR

A merge that silently drops the processor or a weight file shows up only when evaluation starts;
this loads the directory as ``avr eval`` will, and names what is missing.
"""

from __future__ import annotations

import sys
from pathlib import Path


class MergeCheckError(ValueError):
    pass


HF_REQUIRED = ("config.json", "tokenizer_config.json", "processor_config.json")


def hf_check(model_dir: str | Path) -> list[str]:
    """A merged model directory is usable: files present, and transformers loads model + processor."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    d = Path(model_dir)
    missing = [f for f in HF_REQUIRED if not (d / f).is_file()]
    if not any(d.glob("*.safetensors")):
        missing.append("*.safetensors")
    if missing:
        raise MergeCheckError(f"{d}: missing {', '.join(missing)}")
    processor = AutoProcessor.from_pretrained(d)
    model = AutoModelForImageTextToText.from_pretrained(d)
    n = sum(p.numel() for p in model.parameters())
    return [f"{d} loads: {type(model).__name__} ({n:,} parameters), {type(processor).__name__}"]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        lines = hf_check(argv[0])
    except (MergeCheckError, OSError) as e:
        print(f"merge_checkpoint: error: {e}", file=sys.stderr)
        return 2
    for line in lines:
        print(f"merge_checkpoint: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
