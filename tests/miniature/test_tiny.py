"""The tiny Qwen3-VL must load everywhere the real one does, and be a pure function of its seed."""

import hashlib
import json

import pytest
import torch
from PIL import Image

from avr.miniature.tiny import build_tiny_model


def _digest(path):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.iterdir()) if p.is_file()}


def test_deterministic_from_seed(tmp_path, tiny_model):
    again = build_tiny_model(tmp_path / "again", seed=0)
    other = build_tiny_model(tmp_path / "other", seed=1)
    assert _digest(again) == _digest(tiny_model)
    assert _digest(other)["model.safetensors"] != _digest(tiny_model)["model.safetensors"]
    assert _digest(other)["tokenizer.json"] == _digest(tiny_model)["tokenizer.json"]


def test_model_dir_is_readable_by_others(tiny_model):
    assert tiny_model.stat().st_mode & 0o777 == 0o755
    assert all(f.stat().st_mode & 0o777 == 0o644 for f in tiny_model.iterdir())


def test_rerun_keeps_an_existing_model(tiny_model):
    before = _digest(tiny_model)
    build_tiny_model(tiny_model)
    assert _digest(tiny_model) == before


def test_refuses_to_clobber_a_foreign_directory(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        build_tiny_model(tmp_path / "x")


def test_config_matches_qwen3vl_layout(tiny_model):
    cfg = json.loads((tiny_model / "config.json").read_text())
    assert cfg["model_type"] == "qwen3_vl"
    assert cfg["architectures"] == ["Qwen3VLForConditionalGeneration"]
    rope = cfg["text_config"]["rope_parameters"]
    assert rope["mrope_interleaved"] is True
    assert sum(rope["mrope_section"]) * 2 == cfg["text_config"]["head_dim"]
    assert cfg["vision_config"]["patch_size"] == 16
    assert cfg["vision_config"]["out_hidden_size"] == cfg["text_config"]["hidden_size"]


def test_tokenizer_has_qwen_special_tokens_and_ids_match_config(tiny_model):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model)
    cfg = json.loads((tiny_model / "config.json").read_text())
    assert tok.convert_tokens_to_ids("<|image_pad|>") == cfg["image_token_id"]
    assert tok.convert_tokens_to_ids("<|video_pad|>") == cfg["video_token_id"]
    assert tok.convert_tokens_to_ids("<|vision_start|>") == cfg["vision_start_token_id"]
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"
    # special tokens are single tokens, in Qwen's relative order
    ids = [tok.convert_tokens_to_ids(t) for t in ("<|endoftext|>", "<|im_start|>", "<|im_end|>")]
    assert ids == sorted(ids) and ids[1] == ids[0] + 1
    pieces = tok.tokenize("<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|><think>")
    assert pieces[0] == "<|im_start|>" and pieces[-4:] == [
        "<|vision_start|>",
        "<|image_pad|>",
        "<|vision_end|>",
        "<think>",
    ]
    assert len(tok) <= cfg["text_config"]["vocab_size"]
    text = "<perception>\n2 red circles\n</perception>"
    assert tok.decode(tok(text)["input_ids"]) == text


def test_transformers_loads_and_generates_with_an_image(tiny_model):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    processor = AutoProcessor.from_pretrained(tiny_model)
    assert type(processor).__name__ == "Qwen3VLProcessor"
    assert processor.video_processor is not None  # LLaMA-Factory's Qwen3-VL plugin needs it
    model = AutoModelForImageTextToText.from_pretrained(tiny_model).eval()
    messages = [
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "\nQuestion: what?"}]}
    ]
    text = processor.apply_chat_template(messages, add_generation_prompt=True)
    assert text == (
        "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>\nQuestion: what?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    inputs = processor(text=[text], images=[Image.new("RGB", (64, 48), (200, 0, 0))], return_tensors="pt")
    n_image_tokens = int((inputs["input_ids"] == model.config.image_token_id).sum())
    assert n_image_tokens == int(inputs["image_grid_thw"].prod()) // 4
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=5, do_sample=False)
    assert (
        out.shape[1] == inputs["input_ids"].shape[1] + 5 or out[0, -1] in model.generation_config.eos_token_id
    )


def test_small_size_is_the_same_architecture_larger(tmp_path, tiny_model):
    from transformers import AutoModelForImageTextToText

    small = build_tiny_model(tmp_path / "small", size="small")
    cfg = json.loads((small / "config.json").read_text())
    text, vision = cfg["text_config"], cfg["vision_config"]
    assert (text["hidden_size"], text["num_hidden_layers"], vision["hidden_size"]) == (256, 4, 64)
    assert sum(text["rope_parameters"]["mrope_section"]) * 2 == text["head_dim"]
    assert vision["out_hidden_size"] == text["hidden_size"]
    assert _digest(small)["tokenizer.json"] == _digest(tiny_model)["tokenizer.json"]
    n = sum(p.numel() for p in AutoModelForImageTextToText.from_pretrained(small).parameters())
    assert 2_500_000 < n < 4_000_000


def test_a_model_of_another_size_is_not_silently_reused(tmp_path, tiny_model):
    with pytest.raises(FileExistsError, match="another size"):
        build_tiny_model(tiny_model, size="small")
    with pytest.raises(ValueError, match="unknown model size 'huge'"):
        build_tiny_model(tmp_path / "h", size="huge")
