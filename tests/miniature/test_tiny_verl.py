"""verl loads the tiny model's tokenizer and processor, and its RLHFDataset reads image prompts with them.

verl 0.9.1 silently drops a row whose prompt fails to process (filter_overlong_prompts prints and
skips), so the row count is the real check that the Qwen3-VL image path works end to end.
"""

import json

import pyarrow as pa
import pyarrow.parquet as pq
from omegaconf import OmegaConf

from avr.formats import build_prompt


def test_verl_tokenizer_processor_and_rlhf_dataset(tiny_model, synthetic_records, tmp_path):
    from verl.utils.dataset.rl_dataset import RLHFDataset
    from verl.utils.tokenizer import hf_processor, hf_tokenizer

    tokenizer = hf_tokenizer(str(tiny_model))
    processor = hf_processor(str(tiny_model))
    assert type(processor).__name__ == "Qwen3VLProcessor"
    assert tokenizer.pad_token == "<|endoftext|>"

    rows = [json.loads(x) for x in synthetic_records.read_text().splitlines()[:6]]
    table = pa.table(
        {
            "data_source": ["synthetic"] * len(rows),
            "prompt": [
                [{"role": "user", "content": build_prompt(r["question"], r.get("choices"))}] for r in rows
            ],
            "images": [
                [{"bytes": (synthetic_records.parent / r["image"]).read_bytes(), "path": None}] for r in rows
            ],
            "reward_model": [{"style": "rule", "ground_truth": r["answer"]} for r in rows],
        }
    )
    pq.write_table(table, tmp_path / "rl.parquet")
    config = OmegaConf.create(
        {
            "max_prompt_length": 256,
            "image_patch_size": 16,
            "filter_overlong_prompts": True,
            "filter_overlong_prompts_workers": 1,
            "cache_dir": str(tmp_path / "cache"),
        }
    )
    ds = RLHFDataset(str(tmp_path / "rl.parquet"), tokenizer, config, processor=processor)
    assert len(ds) == len(rows)
    item = ds[0]
    content = item["raw_prompt"][0]["content"]
    assert content[0]["type"] == "image" and content[1]["text"].startswith("\nQuestion: ")
    # the filter really measured the image prompts: a limit below their length drops every row
    short = OmegaConf.merge(config, {"max_prompt_length": 12})
    assert len(RLHFDataset(str(tmp_path / "rl.parquet"), tokenizer, short, processor=processor)) == 0
