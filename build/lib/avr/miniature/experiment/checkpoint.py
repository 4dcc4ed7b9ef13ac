"""The demo's committed checkpoint: the experiment's SFT model, stored in bf16 (~6 MB).

Learning to read digits from pixels takes most of the experiment's stage 1 (about 9 minutes on two
cores), more than the plain ``avr demo``'s 10-minute budget allows for the whole pipeline. So the demo
starts its shortened stage 2 from this checkpoint, and a command in the repo rebuilds it:

    bash scripts/build_demo_checkpoint.sh        # avr experiment digits --until sft, then this export

    python -m avr.miniature.experiment.checkpoint SFT_DIR OUT_DIR
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

ASSET = Path(__file__).resolve().parents[2] / "assets" / "digits_sft"  # avr/assets/digits_sft
FILES = (
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "processor_config.json",
    "chat_template.jinja",
)


def export_bf16(sft_dir: str | Path, out_dir: str | Path, provenance: dict | None = None) -> Path:
    """Copy an HF model directory with its float weights cast to bf16; written atomically."""
    import torch
    from safetensors.torch import load_file, save_file

    src, out = Path(sft_dir), Path(out_dir)
    missing = [f for f in ("model.safetensors", *FILES) if not (src / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{src}: not a complete model directory (missing {missing})")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        weights = {
            k: (v.to(torch.bfloat16) if v.is_floating_point() else v).contiguous()
            for k, v in load_file(src / "model.safetensors").items()
        }
        save_file(weights, tmp / "model.safetensors", metadata={"format": "pt"})
        for f in FILES:
            shutil.copy2(src / f, tmp / f)
        info = {
            **(provenance or {}),
            "source": str(src),
            "dtype": "bfloat16 (loaded as float32 by the demo)",
            "sha256": hashlib.sha256((tmp / "model.safetensors").read_bytes()).hexdigest(),
        }
        (tmp / "provenance.json").write_text(json.dumps(info, indent=1) + "\n")
        tmp.chmod(0o755)
        for f in tmp.iterdir():
            f.chmod(0o644)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


if __name__ == "__main__":  # pragma: no cover - the script's entry point
    if len(sys.argv) != 3:
        sys.exit("usage: python -m avr.miniature.experiment.checkpoint SFT_DIR OUT_DIR")
    print(export_bf16(sys.argv[1], sys.argv[2], {"command": "bash scripts/build_demo_checkpoint.sh"}))
