"""`avr data rl`: records -> verl parquet that verl's own RLHFDataset reads without dropping a row."""

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
from omegaconf import OmegaConf

from avr.data.rl import answer_type, build_rl_dataset, format_stats, to_verl_row
from avr.formats import FORMAT_INSTRUCTION
from avr.records import RecordError


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("12", ("integer", None)),
        ("1,000", ("integer", None)),
        ("0.25", ("float", 2)),
        ("red", ("text", None)),
    ],
)
def test_answer_type(answer, expected):
    assert answer_type(answer) == expected


def test_schema_and_split(synthetic_records, tmp_path):
    stats = build_rl_dataset([synthetic_records], tmp_path / "rl", val_fraction=0.25, seed=3)
    assert (stats["train"], stats["val"], stats["skipped"]) == (36, 12, 0)
    train = pq.read_table(tmp_path / "rl" / "train.parquet").to_pylist()
    val = pq.read_table(tmp_path / "rl" / "val.parquet").to_pylist()
    assert {r["extra_info"]["id"] for r in train}.isdisjoint({r["extra_info"]["id"] for r in val})
    row = train[0]
    assert set(row) == {"data_source", "prompt", "images", "ability", "reward_model", "extra_info"}
    assert row["prompt"][0]["role"] == "user"
    assert row["prompt"][0]["content"].count("<image>") == len(row["images"]) == 1
    assert row["images"][0]["bytes"][:8] == b"\x89PNG\r\n\x1a\n"
    assert row["reward_model"]["style"] == "rule" and isinstance(row["reward_model"]["ground_truth"], list)
    mc = [r for r in train if r["extra_info"]["choices"]]
    assert mc and all(r["extra_info"]["question_type"] == "multi_choice" for r in mc)
    assert all("\nOptions:\nA. " in r["prompt"][0]["content"] for r in mc)
    # the same seed gives the same split
    build_rl_dataset([synthetic_records], tmp_path / "rl2", val_fraction=0.25, seed=3)
    assert pq.read_table(tmp_path / "rl2" / "val.parquet").to_pylist() == val


def test_bad_ground_truth_is_rejected_at_build_time(tmp_path, synthetic_records):
    rows = [json.loads(x) for x in synthetic_records.read_text().splitlines()[:3]]
    rows[1]["answer"] = "  "
    for r in rows:
        r["image"] = str(synthetic_records.parent / r["image"])
    src = tmp_path / "bad.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(RecordError, match=r"bad\.jsonl: row 2: missing or empty 'answer'"):
        build_rl_dataset([src], tmp_path / "out")
    assert not (tmp_path / "out" / "train.parquet").exists()
    stats = build_rl_dataset([src], tmp_path / "out", on_error="skip", val_fraction=0)
    assert stats["train"] == 2 and stats["skipped"] == 1
    assert json.loads((tmp_path / "out" / "skipped.jsonl").read_text())["row"] == 2


def test_cli(synthetic_records, tmp_path, env):
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "avr.cli",
            "data",
            "rl",
            "-i",
            str(synthetic_records),
            "-o",
            str(tmp_path / "rl"),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    assert "46 train rows, 2 val rows, 0 skipped" in r.stdout and "data.train_files=" in r.stdout


def test_verl_rlhf_dataset_reads_every_row(synthetic_records, tiny_model, tmp_path):
    from verl.utils.dataset.rl_dataset import RLHFDataset
    from verl.utils.tokenizer import hf_processor, hf_tokenizer

    build_rl_dataset([synthetic_records], tmp_path / "rl", val_fraction=0.25)
    config = OmegaConf.create(
        {
            "max_prompt_length": 512,
            "image_patch_size": 16,
            "filter_overlong_prompts": True,
            "filter_overlong_prompts_workers": 1,
            "cache_dir": str(tmp_path / "cache"),
        }
    )
    tok, proc = hf_tokenizer(str(tiny_model)), hf_processor(str(tiny_model))
    for split, n in (("train", 36), ("val", 12)):
        ds = RLHFDataset(str(tmp_path / "rl" / f"{split}.parquet"), tok, config, processor=proc)
        assert len(ds) == n
    item = ds[0]
    assert list(item["reward_model"]["ground_truth"]) and item["extra_info"]["split"] == "val"
    assert item["raw_prompt"][0]["content"][0]["type"] == "image"


def _records(tmp_path, n: int):
    """n one-pixel records: enough to count a split."""
    from PIL import Image

    Image.new("RGB", (1, 1)).save(tmp_path / "px.png")
    rows = [{"id": f"r{i}", "question": f"q{i}?", "answer": str(i), "image": "px.png"} for i in range(n)]
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize(
    ("n", "fraction", "n_val"),
    [
        (29, 0.05, 1),  # 1.45 rounds down (a ceiling would give 2)
        (31, 0.05, 2),  # 1.55 rounds up (truncation would give 1)
        (10, 0.05, 1),  # 0.5 rounds to 0, but a non-zero fraction of several rows keeps one
        (1, 0.5, 0),  # a single row is all training
        (2, 0.4, 1),
        (20, 0.0, 0),  # no validation asked for: none, and no val.parquet
        (9, 0.9, 8),
    ],
)
def test_validation_split_sizes(tmp_path, n, fraction, n_val):
    stats = build_rl_dataset([_records(tmp_path, n)], tmp_path / "rl", val_fraction=fraction, seed=0)
    assert (stats["train"], stats["val"]) == (n - n_val, n_val)
    assert (tmp_path / "rl" / "val.parquet").is_file() == (n_val > 0)
    train = pq.read_table(tmp_path / "rl" / "train.parquet").to_pylist()
    assert [r["extra_info"]["index"] for r in train] == list(range(n - n_val))
    assert {r["extra_info"]["split"] for r in train} == {"train"}


def test_the_split_is_seeded_and_covers_every_row(tmp_path):
    src = _records(tmp_path, 40)

    def val_ids(seed: int) -> list[str]:
        build_rl_dataset([src], tmp_path / f"rl{seed}", val_fraction=0.25, seed=seed)
        rows = pq.read_table(tmp_path / f"rl{seed}" / "val.parquet").to_pylist()
        return [r["extra_info"]["id"] for r in rows]

    first = val_ids(1)
    assert len(first) == 10 and val_ids(1) == first and set(val_ids(2)) != set(first)
    train = pq.read_table(tmp_path / "rl1" / "train.parquet").to_pylist()
    ids = [r["extra_info"]["id"] for r in train] + first
    assert sorted(ids) == sorted(f"r{i}" for i in range(40))
    # both sets keep the input order
    assert [r["extra_info"]["id"] for r in train] == sorted(
        (r["extra_info"]["id"] for r in train), key=lambda x: int(x[1:])
    )


@pytest.mark.parametrize("fraction", [-0.1, 1.0])
def test_a_fraction_outside_zero_to_one_is_refused(tmp_path, fraction):
    with pytest.raises(ValueError, match=r"val_fraction must be in \[0, 1\)"):
        build_rl_dataset([_records(tmp_path, 3)], tmp_path / "rl", val_fraction=fraction)


def test_stats_and_their_summary(tmp_path):
    stats = build_rl_dataset([_records(tmp_path, 4)], tmp_path / "rl", val_fraction=0)
    assert stats["by_source"] == {"records": 4}  # a record without a source is named by its file
    assert stats["by_question_type"] == {"free_form": 4}
    assert json.loads((tmp_path / "rl" / "stats.json").read_text()) == stats
    text = format_stats({**stats, "excluded": 2})
    assert (
        text.splitlines()[0] == "RL data: 4 train rows, 0 val rows, 0 skipped, 2 excluded as benchmark items"
    )
    assert "  type   free_form                    4" in text


def _record(**kw):
    import hashlib

    from avr.records import Image, Record

    data = b"\x89PNG fake"
    base = dict(question=" How many? ", answers=["0.50", "1/2"], images=[Image(data=data, ext="png",
                sha256=hashlib.sha256(data).hexdigest())], format=2, perception="p", source="src", id="r1")  # fmt: skip
    return Record(**{**base, **kw})


def test_one_verl_row_by_hand():
    row = to_verl_row(_record(), 3, "val", min_pixels=10, max_pixels=20)
    assert row == {
        "data_source": "src",
        "prompt": [{"role": "user", "content": "<image>\nQuestion: How many?"}],
        "images": [{"bytes": b"\x89PNG fake", "path": None, "min_pixels": 10, "max_pixels": 20}],
        "ability": "math",  # a number
        "reward_model": {"style": "rule", "ground_truth": ["0.50", "1/2"]},
        "extra_info": {
            "index": 3,
            "split": "val",
            "id": "r1",
            "question": " How many? ",
            "choices": None,
            "question_type": "free_form",
            "answer_type": "float",
            "precision": 2,
            "sft_format": "perception",
        },
    }
    mc = to_verl_row(_record(answers=["B"], choices=["x", "y"], format=1), 0, "train", instruction=True)
    assert mc["ability"] == "multiple_choice" and mc["extra_info"]["choices"] == ["x", "y"]
    assert mc["extra_info"]["question_type"] == "multi_choice" and mc["extra_info"]["sft_format"] == "answer"
    assert mc["prompt"][0]["content"].startswith("<image>\nQuestion: How many?\nOptions:\nA. x\nB. y\n\n")
    text = to_verl_row(_record(answers=["red"]), 0, "train")
    assert (text["ability"], text["extra_info"]["answer_type"], text["extra_info"]["precision"]) == (
        "vqa",
        "text",
        None,
    )
    two = to_verl_row(_record(images=_record().images * 2), 0, "train")
    assert two["prompt"][0]["content"].startswith("<image><image>\nQuestion:") and len(two["images"]) == 2


@pytest.mark.parametrize(
    ("answer", "expected"), [("-3", ("integer", None)), ("1/2", ("float", None)), ("2.0", ("float", 1))]
)
def test_answer_type_of_signs_fractions_and_places(answer, expected):
    assert answer_type(answer) == expected


def test_pixel_bounds_are_checked(tmp_path):
    with pytest.raises(ValueError, match="need 0 < min_pixels <= max_pixels, got 20 and 10"):
        build_rl_dataset([_records(tmp_path, 2)], tmp_path / "rl", min_pixels=20, max_pixels=10)
    with pytest.raises(ValueError, match="need 0 < min_pixels <= max_pixels, got 0 and 10"):
        build_rl_dataset([_records(tmp_path, 2)], tmp_path / "rl", min_pixels=0, max_pixels=10)
    stats = build_rl_dataset(
        [_records(tmp_path, 2)], tmp_path / "rl", val_fraction=0, min_pixels=7, max_pixels=7
    )
    row = pq.read_table(tmp_path / "rl" / "train.parquet").to_pylist()[0]
    assert (row["images"][0]["min_pixels"], row["images"][0]["max_pixels"], stats["train"]) == (7, 7, 2)


def test_validation_from_its_own_files(tmp_path):
    (tmp_path / "v").mkdir()
    stats = build_rl_dataset(
        [_records(tmp_path, 3)], tmp_path / "rl", val_inputs=[_records(tmp_path / "v", 2)], val_fraction=0.5
    )
    assert (stats["train"], stats["val"]) == (3, 2)  # every input row trains; the fraction is not used


def test_image_root_leakage_guard_and_skipped_rows_reach_the_build(tmp_path):
    from PIL import Image

    from avr.data.exclude import LeakageIndex
    from avr.eval.items import EvalItem

    pics = tmp_path / "pics"
    pics.mkdir()
    for i, colour in enumerate(["red", "blue", "green"]):
        Image.new("RGB", (2, 2), colour).save(pics / f"{i}.png")
    rows = [{"id": f"r{i}", "question": "q?", "answer": "1", "image": f"{i}.png"} for i in range(3)]
    src = tmp_path / "recs" / "train.jsonl"
    src.parent.mkdir()
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    leaked = EvalItem(
        id="b", benchmark="mathvista", question="x", images=[(pics / "1.png").read_bytes()], answers=["y"]
    )
    stats = build_rl_dataset(
        [src], tmp_path / "rl", val_fraction=0, image_root=pics, exclude=LeakageIndex().add([leaked])
    )  # images found under image_root; one of them is a benchmark's
    assert (stats["train"], stats["excluded"]) == (2, 1)
    assert json.loads((tmp_path / "rl" / "excluded.jsonl").read_text())["id"] == "r1"
    bad_val = tmp_path / "val.jsonl"
    bad_val.write_text(json.dumps({"question": "q", "answer": "", "image": "0.png"}) + "\n")
    stats = build_rl_dataset(
        [src], tmp_path / "rl2", val_inputs=[bad_val], on_error="skip", image_root=pics, instruction=True
    )
    assert (stats["train"], stats["val"], stats["skipped"]) == (3, 0, 1)  # the bad validation row is skipped
    prompt = pq.read_table(tmp_path / "rl2" / "train.parquet").to_pylist()[0]["prompt"][0]["content"]
    assert prompt.endswith("\n\n" + FORMAT_INSTRUCTION)  # instruction=True reaches every prompt
    with pytest.raises(ValueError, match=r"^no valid training rows in .*val\.jsonl \(1 skipped\)$"):
        build_rl_dataset([bad_val], tmp_path / "rl3", on_error="skip", image_root=pics)
