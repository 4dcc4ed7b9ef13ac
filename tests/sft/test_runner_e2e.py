"""Real stage-1 runs: `avr data sft` -> train-sft.sh -> LLaMA-Factory on the tiny Qwen3-VL, on the CPU."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from tests import REPO

pytestmark = pytest.mark.e2e


def _run(cmd, env, cwd=REPO):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    assert r.returncode == 0, f"{cmd}\nSTDOUT:\n{r.stdout[-4000:]}\nSTDERR:\n{r.stderr[-4000:]}"
    return r.stdout + r.stderr


def _losses(out_dir: Path) -> list[float]:
    rows = [json.loads(x) for x in (out_dir / "trainer_log.jsonl").read_text().splitlines()]
    return [r["loss"] for r in rows if "loss" in r]


@pytest.fixture(scope="module")
def sft_data(synthetic_records, tmp_path_factory, env):
    out = tmp_path_factory.mktemp("sft-data")
    _run([sys.executable, "-m", "avr.cli", "data", "sft", "-i", str(synthetic_records), "-o", str(out)], env)
    return out


def test_train_sft_runs_resumes_and_the_checkpoint_generates(tiny_model, sft_data, tmp_path, env):
    out = tmp_path / "run"
    common = [
        "bash",
        str(REPO / "train-sft.sh"),
        "tiny_cpu",
        f"model_name_or_path={tiny_model}",
        f"dataset_dir={sft_data}",
        f"output_dir={out}",
        "save_steps=3",
    ]
    log = _run([*common, "max_steps=3"], env)
    assert f"train-sft: SFT model (HF format): {out}" in log
    assert (out / "checkpoint-3").is_dir() and (out / "model.safetensors").is_file()

    # a rerun with more steps picks up where the first stopped
    log = _run([*common, "max_steps=6"], env)
    assert "train-sft: resume: " in log and "checkpoint-3" in log
    assert "Resuming training from" in log
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["global_step"] == 6
    assert "global step 3" in log  # HF Trainer restored step 3: steps 1-3 were not redone

    from PIL import Image
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from avr.formats import build_prompt, prompt_to_content

    processor = AutoProcessor.from_pretrained(out)
    model = AutoModelForImageTextToText.from_pretrained(out).eval()
    messages = [{"role": "user", "content": prompt_to_content(build_prompt("What colour is the shape?"))}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True)
    inputs = processor(text=[text], images=[Image.new("RGB", (96, 96), (40, 80, 220))], return_tensors="pt")
    with torch.no_grad():
        gen = model.generate(**inputs, max_new_tokens=12, do_sample=False)
    assert gen.shape[1] > inputs["input_ids"].shape[1]
    # the vision tower was frozen: its weights are the tiny model's, bit for bit
    base = AutoModelForImageTextToText.from_pretrained(tiny_model)
    assert torch.equal(base.model.visual.patch_embed.proj.weight, model.model.visual.patch_embed.proj.weight)
    assert not torch.equal(base.lm_head.weight, model.lm_head.weight)


def _eight_examples(tmp_path: Path) -> Path:
    """Eight multi-format examples whose answers depend on the image (same question, different colours)."""
    from avr.io import write_bytes
    from avr.miniature.synthetic import COLORS, describe, draw_scene

    rows = []
    colors = list(COLORS)
    for i in range(8):
        color = colors[i % len(colors)]
        scene = [{"shape": ["circle", "square"][i % 2], "color": color, "cell": 5 + i % 3}]
        write_bytes(tmp_path / f"img{i}.png", draw_scene(scene))
        row = {"image": f"img{i}.png", "question": "What colour is the shape?", "answer": color}
        if i % 3 >= 1:
            row["perception"] = describe(scene)
        if i % 3 == 2:
            row["reasoning"] = f"The only shape is {color}, so the answer is {color}."
        rows.append(row)
    path = tmp_path / "eight.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_overfits_eight_examples_and_labels_cover_only_the_answer(tiny_model, tmp_path, env):
    from avr.data.sft import build_sft_dataset

    data = tmp_path / "data"
    build_sft_dataset([_eight_examples(tmp_path)], data, name="eight")
    recipe = yaml.safe_load((REPO / "train_configs/sft/tiny_cpu.yaml").read_text())

    # 1. LLaMA-Factory's own preprocessing: labels are the assistant turn only; the image is expanded
    from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
    from llamafactory.hparams import get_train_args
    from llamafactory.model import load_tokenizer

    cfg = {
        **recipe,
        "model_name_or_path": str(tiny_model),
        "dataset_dir": str(data),
        "dataset": "eight",
        "output_dir": str(tmp_path / "parse"),
    }
    model_args, data_args, training_args, _, _ = get_train_args(cfg)
    tok_module = load_tokenizer(model_args)
    tok = tok_module["tokenizer"]
    template = get_template_and_fix_tokenizer(tok, data_args)
    ds = get_dataset(template, model_args, data_args, training_args, stage="sft", **tok_module)[
        "train_dataset"
    ]
    targets = [ex["messages"][1]["content"] for ex in json.loads((data / "eight.json").read_text())]
    image_id = tok.convert_tokens_to_ids("<|image_pad|>")
    for ex, target in zip(ds, targets, strict=True):
        labelled = [t for t in ex["labels"] if t != -100]
        assert tok.decode(labelled).startswith(target + "<|im_end|>")
        n_img = sum(t == image_id for t in ex["input_ids"])
        assert n_img > 1  # the placeholder became the image's patch tokens
        assert all(lab == -100 for t, lab in zip(ex["input_ids"], ex["labels"], strict=True) if t == image_id)

    # 2. The real training run: loss falls by more than half
    out = tmp_path / "overfit"
    _run(
        [
            "bash",
            str(REPO / "train-sft.sh"),
            "tiny_cpu",
            f"model_name_or_path={tiny_model}",
            f"dataset_dir={data}",
            "dataset=eight",
            f"output_dir={out}",
            "per_device_train_batch_size=8",
            "max_steps=80",
            "learning_rate=3e-3",
            "warmup_ratio=0.0",
            "save_steps=1000",
            "logging_steps=1",
        ],
        env,
    )
    losses = _losses(out)
    assert len(losses) >= 70
    first, last = losses[0], sum(losses[-5:]) / 5
    assert last < first / 2, (first, last)
