"""One pair of image bounds for SFT, RL and evaluation (avr/pixels.py), and verl honouring them in RL."""

import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from PIL import Image

from avr.data.rl import build_rl_dataset
from avr.pixels import IMAGE_MAX_PIXELS, IMAGE_MIN_PIXELS
from tests import REPO

PAPER_SFT = ["qwen3vl_2b_full_sft", "qwen3vl_4b_full_sft", "qwen3vl_8b_full_sft", "qwen3vl_2b_lora_sft"]


@pytest.mark.parametrize("recipe", [*PAPER_SFT, "internvl3_2b_full_sft"])
def test_sft_recipes_use_the_bounds(recipe):
    cfg = yaml.safe_load((REPO / "train_configs/sft" / f"{recipe}.yaml").read_text())
    assert (cfg["image_min_pixels"], cfg["image_max_pixels"]) == (IMAGE_MIN_PIXELS, IMAGE_MAX_PIXELS)


def test_eval_defaults_are_the_bounds():
    from avr.cli import build_parser
    from avr.generation import Decoding

    assert (Decoding().min_pixels, Decoding().max_pixels) == (IMAGE_MIN_PIXELS, IMAGE_MAX_PIXELS)
    args = build_parser().parse_args(["eval", "run", "--model", "m", "--benchmarks", "b", "--out", "o"])
    assert (args.min_pixels, args.max_pixels) == (IMAGE_MIN_PIXELS, IMAGE_MAX_PIXELS)


@pytest.fixture(scope="module")
def big_image_records(tmp_path_factory):
    """Two rows whose 1200 x 900 image (1.08 M pixels) is far above the bound."""
    d = tmp_path_factory.mktemp("big")
    buf = io.BytesIO()
    Image.new("RGB", (1200, 900), (200, 30, 30)).save(buf, format="PNG")
    (d / "big.png").write_bytes(buf.getvalue())
    rows = [
        {"image": "big.png", "question": f"What colour? {i}", "answer": "red", "id": str(i)} for i in range(2)
    ]
    (d / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return d / "r.jsonl"


def _verl_image_size(parquet: Path, tiny_model: Path) -> tuple[int, int]:
    """The image exactly as verl 0.9.1's agent loop gets it from a row: RLHFDataset._build_messages,
    then the dataset class's multimodal extraction (qwen_vl_utils.fetch_image with the row's dict)."""
    from omegaconf import OmegaConf
    from verl.utils import hf_processor, hf_tokenizer
    from verl.utils.dataset.rl_dataset import RLHFDataset

    tokenizer, processor = hf_tokenizer(str(tiny_model)), hf_processor(str(tiny_model))
    config = OmegaConf.create(
        {"image_key": "images", "image_patch_size": 16, "filter_overlong_prompts": False}
    )
    ds = RLHFDataset([str(parquet)], tokenizer, config, processor)
    messages = ds[0]["raw_prompt"]
    images, _, _ = RLHFDataset._process_multi_modal_info(messages, image_patch_size=16, config=config)
    return images[0].size


@pytest.mark.e2e
def test_rl_parquet_carries_the_bounds_and_verl_applies_them(big_image_records, tiny_model, tmp_path):
    build_rl_dataset([big_image_records], tmp_path / "default", val_fraction=0)
    row = pq.read_table(tmp_path / "default" / "train.parquet").to_pylist()[0]
    assert (row["images"][0]["min_pixels"], row["images"][0]["max_pixels"]) == (
        IMAGE_MIN_PIXELS,
        IMAGE_MAX_PIXELS,
    )
    w, h = _verl_image_size(tmp_path / "default" / "train.parquet", tiny_model)
    assert w * h <= IMAGE_MAX_PIXELS and (w % 32, h % 32) == (0, 0)
    assert w * h > IMAGE_MAX_PIXELS * 0.8 and abs(w / h - 1200 / 900) < 0.1  # shrunk, not squashed

    # another bound from the command line reaches verl the same way
    build_rl_dataset(
        [big_image_records], tmp_path / "small", val_fraction=0, min_pixels=4096, max_pixels=65536
    )
    w, h = _verl_image_size(tmp_path / "small" / "train.parquet", tiny_model)
    assert 4096 <= w * h <= 65536


def test_bad_bounds_are_refused(big_image_records, tmp_path):
    with pytest.raises(ValueError, match="min_pixels <= max_pixels"):
        build_rl_dataset([big_image_records], tmp_path, min_pixels=10, max_pixels=5)
