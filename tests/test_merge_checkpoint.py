"""scripts/merge_checkpoint.sh on a real world-size-1 FSDP checkpoint written by verl's checkpoint manager."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
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


def test_merges_the_latest_step_and_the_result_loads(tiny_model, tmp_path, env):
    from transformers import AutoModelForImageTextToText

    ckpt = tmp_path / "ckpt"
    _save(tiny_model, ckpt, 3, env)
    _save(tiny_model, ckpt, 10, env, "--perturb")  # 10 > 3 numerically, though "10" < "3" as text
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
    assert torch.equal(out.lm_head.weight, (base.lm_head.weight + 1.0).to(bf16))  # step 10's weights, not 3's
    assert torch.equal(
        out.model.visual.patch_embed.proj.weight, base.model.visual.patch_embed.proj.weight.to(bf16)
    )

    # an explicit step and target
    r = subprocess.run(
        [
            "bash",
            str(REPO / "scripts/merge_checkpoint.sh"),
            str(ckpt),
            "3",
            "--target_dir",
            str(tmp_path / "m3"),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    m3 = AutoModelForImageTextToText.from_pretrained(tmp_path / "m3")
    assert torch.equal(m3.lm_head.weight, base.lm_head.weight.to(bf16))


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
