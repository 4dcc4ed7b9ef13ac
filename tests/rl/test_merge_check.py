"""scripts/merge_checkpoint.sh on real FSDP2 checkpoints (the recipes' strategy) written by verl's checkpoint
manager: world size 2 (two gloo ranks on the CPU, each holding half of every sharded tensor) and 1."""

import json
import subprocess
import sys

import pytest
import torch

from tests import REPO

pytestmark = pytest.mark.e2e


def _save(tiny_model, ckpt, step, env, *extra):
    r = subprocess.run(
        [
            sys.executable,
            str(REPO / "tests/helpers/save_fsdp_checkpoint.py"),
            str(tiny_model),
            str(ckpt),
            str(step),
            *extra,
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 0, r.stderr[-3000:]


def _logits(model, processor_dir):
    """The model's logits on one image question, through the processor in processor_dir."""
    from PIL import Image
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(processor_dir)
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "How many?"}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    inputs = processor(text=[text], images=[Image.new("RGB", (64, 96), (10, 200, 30))], return_tensors="pt")
    with torch.no_grad():
        return model(**inputs).logits


def test_merges_the_latest_step_and_the_result_loads(tiny_model, tmp_path, env):
    from transformers import AutoModelForImageTextToText

    ckpt = tmp_path / "ckpt"
    _save(tiny_model, ckpt, 3, env)
    _save(tiny_model, ckpt, 10, env, "--perturb", "--world-size", "2")  # 10 > 3, though "10" < "3" as text
    shards = sorted(p.name for p in (ckpt / "global_step_10" / "actor").glob("model_world_size_*"))
    assert shards == ["model_world_size_2_rank_0.pt", "model_world_size_2_rank_1.pt"]
    assert json.loads((ckpt / "global_step_10" / "actor" / "fsdp_config.json").read_text()) == {
        "FSDP_version": 2,
        "world_size": 2,
    }
    r = subprocess.run(
        ["bash", str(REPO / "scripts/merge_checkpoint.sh"), str(ckpt)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    merged = ckpt / "global_step_10" / "actor_hf"
    assert f"merge_checkpoint: {merged} loads: Qwen3VLForConditionalGeneration" in r.stdout
    for f in (
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "processor_config.json",
        "chat_template.jinja",
    ):
        assert (merged / f).is_file(), f
    base = AutoModelForImageTextToText.from_pretrained(tiny_model)
    out = AutoModelForImageTextToText.from_pretrained(merged)
    bf16 = torch.bfloat16  # verl's merger writes bf16 weights
    with torch.no_grad():
        base.lm_head.weight.add_(1.0)  # step 10's weights, not 3's
    base = base.to(bf16)
    expected = base.state_dict()
    got = out.state_dict()
    assert set(got) == set(expected)
    for name, tensor in expected.items():  # every tensor whole again, from its two halves
        assert torch.equal(got[name], tensor), name
    # the same logits as the unsharded weights, loaded the same way (a .to(bf16) would also round the
    # rotary buffers, which a bf16 load keeps in float32)
    ref = AutoModelForImageTextToText.from_pretrained(tiny_model, dtype=bf16)
    ref.load_state_dict(expected)
    assert out.dtype == bf16 and torch.equal(_logits(out, tiny_model), _logits(ref, tiny_model))

    # an explicit step and target
    r = subprocess.run(
        [
            "bash",
            str(REPO / "scripts/merge_checkpoint.sh"),
            str(ckpt),
            "3",
            "--target-dir",
            str(tmp_path / "m3"),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    m3 = AutoModelForImageTextToText.from_pretrained(tmp_path / "m3")
    fresh = AutoModelForImageTextToText.from_pretrained(tiny_model)
    assert torch.equal(m3.lm_head.weight, fresh.lm_head.weight.to(bf16))


@pytest.mark.parametrize("args, message", [(["/no/such"], "checkpoint directory not found"), ([], "usage")])
def test_bad_arguments(args, message, tmp_path, env):
    r = subprocess.run(
        ["bash", str(REPO / "scripts/merge_checkpoint.sh"), *args], capture_output=True, text=True, env=env
    )
    assert r.returncode == 2 and message in r.stderr


def test_empty_checkpoint_dir(tmp_path, env):
    r = subprocess.run(
        ["bash", str(REPO / "scripts/merge_checkpoint.sh"), str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 2 and "no global_step_N directory" in r.stderr
