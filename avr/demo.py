"""The CPU demo: built-in data -> tiny Qwen3-VL -> stage-1 SFT through train-sft.sh -> a look at the outputs.

Every step is the real one (the same builders, recipe runner and LLaMA-Factory training a GPU run
uses), on a model small enough for a laptop. Each step skips work already done, so a rerun after
an interruption resumes. Stage 2 (FS-GRPO) and the full evaluation join as their issues land.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]


def _train_sft(out: Path, model: Path, data: Path, steps: int) -> Path:
    """Run train-sft.sh with the tiny_cpu recipe; show a progress bar fed by LLaMA-Factory's log."""
    sft_dir = out / "sft"
    log_path = out / "logs" / "sft.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    if (sft_dir / "trainer_state.json").is_file() and (sft_dir / "model.safetensors").is_file():
        print(f"[demo] SFT already done: {sft_dir}")
        return sft_dir
    cmd = [
        "bash",
        str(REPO / "train-sft.sh"),
        "tiny_cpu",
        f"model_name_or_path={model}",
        f"dataset_dir={data}",
        f"output_dir={sft_dir}",
        f"max_steps={steps}",
        f"save_steps={max(steps // 2, 1)}",
    ]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    trainer_log = sft_dir / "trainer_log.jsonl"
    with log_path.open("w") as log, tqdm(total=steps, desc="SFT (LLaMA-Factory)", unit="step") as bar:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        while proc.poll() is None:
            time.sleep(0.5)
            if trainer_log.is_file():
                lines = trainer_log.read_text().splitlines()
                if lines:
                    last = json.loads(lines[-1])
                    bar.n = int(last.get("current_steps", bar.n))
                    bar.set_postfix(loss=last.get("loss"))
                    bar.refresh()
    if proc.returncode != 0:
        raise RuntimeError(f"SFT failed (exit {proc.returncode}); see {log_path}")
    for line in log_path.read_text().splitlines():
        if line.startswith("train-sft:"):
            print(f"[demo] {line}")
    return sft_dir


def _look(model_dir: Path, records: Path, k: int = 24) -> dict:
    """Greedy answers of the SFT model on held-out rows: format mix and accuracy (avr.grading)."""
    import torch
    from PIL import Image
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from avr.data.records import read_records
    from avr.formats import FORMAT_NAMES, build_prompt, parse, prompt_to_content
    from avr.grading import is_correct

    recs, _ = read_records([records])
    recs = recs[:k]
    processor = AutoProcessor.from_pretrained(model_dir)
    model = AutoModelForImageTextToText.from_pretrained(model_dir).eval()
    rows = []
    for rec in tqdm(recs, desc="answering held-out questions", unit="q"):
        prompt = build_prompt(rec.question, rec.choices, n_images=len(rec.images))
        messages = [{"role": "user", "content": prompt_to_content(prompt)}]
        text = processor.apply_chat_template(messages, add_generation_prompt=True)
        images = [Image.open(io.BytesIO(im.data)).convert("RGB") for im in rec.images]
        inputs = processor(text=[text], images=images, return_tensors="pt")
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=96, do_sample=False)
        new = out[0, inputs["input_ids"].shape[1] :]
        response = processor.tokenizer.decode(new, skip_special_tokens=True)
        p = parse(response)
        correct = p.valid and is_correct(p.answer, rec.answers, rec.choices)
        rows.append(
            {"id": rec.id, "format": p.format, "correct": correct, "tokens": len(new), "response": response}
        )
    n = len(rows)
    mix = {FORMAT_NAMES[f]: sum(r["format"] == f for r in rows) / n for f in range(4)}
    return {
        "n": n,
        "accuracy": sum(r["correct"] for r in rows) / n,
        "mean_tokens": sum(r["tokens"] for r in rows) / n,
        "format_mix": mix,
        "examples": rows[:3],
    }


def run_demo(out: Path, n: int = 240, steps: int = 400) -> int:
    from avr.data.sft import build_sft_dataset, format_stats
    from avr.data.synthetic import generate
    from avr.io import write_json
    from avr.tiny import build_tiny_model

    out = out.resolve()
    print(f"[demo] 1/4 built-in data -> {out / 'data'}")
    rec_dir = out / "data" / "records"
    train = rec_dir / "train.jsonl"
    held = rec_dir / "heldout.jsonl"
    if not train.is_file():
        generate(rec_dir, n=n, seed=0, name="train")
    if not held.is_file():
        generate(rec_dir, n=max(n // 8, 12), seed=1, name="heldout")
    print(format_stats(build_sft_dataset([train], out / "data" / "sft", name="avr_sft")))

    print("[demo] 2/4 tiny random Qwen3-VL")
    model = build_tiny_model(out / "tiny-qwen3vl")

    print("[demo] 3/4 stage 1: multi-format SFT (LLaMA-Factory, tiny_cpu recipe)")
    sft_dir = _train_sft(out, model, out / "data" / "sft", steps)

    print("[demo] 4/4 the SFT model answers held-out questions")
    summary = _look(sft_dir, held)
    write_json(out / "stage1_summary.json", summary)
    print(f"[demo] format mix: {summary['format_mix']}")
    print(f"[demo] accuracy: {summary['accuracy']:.2f}, mean output tokens: {summary['mean_tokens']:.1f}")
    print(f"[demo] example response: {summary['examples'][0]['response']!r}")
    print("[demo] not yet in the demo: stage 2 (FS-GRPO) and the evaluation report (open issues).")
    print(
        f"[demo] done: SFT model at {sft_dir}, loss curve at {sft_dir / 'training_loss.png'}, summary at "
        f"{out / 'stage1_summary.json'}"
    )
    return 0
