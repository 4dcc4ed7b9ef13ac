"""A tiny random Qwen3-VL, built locally, that every framework loads like Qwen/Qwen3-VL-2B-Instruct.

Tests and the CPU demo cannot download a model, so this builds a complete Hugging Face model
directory from nothing: config (same architecture and rope layout as the 2B, shrunk), random
weights, a byte-level BPE tokenizer trained here with the Qwen special and vision tokens, a chat
template with Qwen3-VL's prompt layout, image and video processors, and a generation config.
Everything is a pure function of the seed, so two builds are byte-identical.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from avr.formats import FORMAT_INSTRUCTION, build_target

# Qwen3-VL's added tokens, in the real tokenizer's order; the first 14 are "special".
SPECIAL_TOKENS: tuple[str, ...] = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
EXTRA_TOKENS: tuple[str, ...] = (
    "<tool_call>",
    "</tool_call>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
    "<|repo_name|>",
    "<|file_sep|>",
    "<tool_response>",
    "</tool_response>",
    "<think>",
    "</think>",
)

# Qwen2/3 pre-tokenisation, so that the trained BPE splits text the way the real tokenizer does.
PRETOKENIZE_REGEX = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

# Qwen3-VL's prompt layout: ChatML turns, an image as <|vision_start|><|image_pad|><|vision_end|>,
# no default system prompt. Written for AVR; it accepts string content and the list-of-parts content
# that verl and transformers build from "<image>" placeholders.
CHAT_TEMPLATE = """{%- set image_count = namespace(value=0) -%}
{%- set video_count = namespace(value=0) -%}
{%- macro render(content) -%}
{%- if content is string -%}{{- content -}}
{%- else -%}{%- for part in content -%}
{%- if part.type == 'image' or 'image' in part or 'image_url' in part -%}
{%- set image_count.value = image_count.value + 1 -%}
{%- if add_vision_id %}Picture {{ image_count.value }}: {% endif -%}
<|vision_start|><|image_pad|><|vision_end|>
{%- elif part.type == 'video' or 'video' in part -%}
{%- set video_count.value = video_count.value + 1 -%}
{%- if add_vision_id %}Video {{ video_count.value }}: {% endif -%}
<|vision_start|><|video_pad|><|vision_end|>
{%- elif 'text' in part -%}{{- part.text -}}
{%- endif -%}
{%- endfor -%}{%- endif -%}
{%- endmacro -%}
{%- for message in messages -%}
{{- '<|im_start|>' + message.role + '\\n' -}}{{- render(message.content) -}}{{- '<|im_end|>\\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"""


def _tokenizer_corpus() -> list[str]:
    """Deterministic training text: the formats, prompts, digits and the words our data uses."""
    words = [
        "what",
        "how",
        "many",
        "which",
        "is",
        "are",
        "the",
        "a",
        "an",
        "of",
        "in",
        "on",
        "color",
        "colour",
        "shape",
        "count",
        "number",
        "largest",
        "smallest",
        "left",
        "right",
        "top",
        "bottom",
        "above",
        "below",
        "red",
        "green",
        "blue",
        "yellow",
        "purple",
        "orange",
        "black",
        "white",
        "gray",
        "circle",
        "square",
        "triangle",
        "star",
        "bar",
        "chart",
        "value",
        "total",
        "sum",
        "difference",
        "more",
        "fewer",
        "than",
        "image",
        "picture",
        "shows",
        "there",
        "I",
        "see",
        "so",
        "answer",
        "question",
        "options",
        "first",
        "then",
        "because",
        "therefore",
        "each",
        "row",
        "column",
        "digit",
        "user",
        "assistant",
        "system",
        "Question",
        "Options",
        "negative",
        "difference",
        "fewer",
        "Answer",
        "with",
        "number",
        "if",
        "two",
        "digits",
        "one",
        "larger",
        "smaller",
        "minus",
    ]
    lines = [FORMAT_INSTRUCTION]
    for i, w in enumerate(words):
        n = (i * 7) % 23
        lines.append(
            build_target(
                f"{n}",
                f"The image shows {n} {w} objects.",
                f"Count the {w} ones: {n} + {i} = {n + i}, so the answer is {n}.",
            )
        )
        lines.append(f"Question: How many {w} shapes are there?\nOptions:\nA. {n}\nB. {n + 1}\nC. {i}")
    lines += ["user\nassistant\nsystem\nQuestion:\nOptions:\n"] * 8  # chat roles as the template writes them
    lines.append(" ".join(str(i) for i in range(200)))
    lines.append("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ .,;:!?()[]{}<>/\\+-*=_'\"#%&@$^~`|")
    return lines * 4


def build_tokenizer(vocab_size: int = 1024):
    """Train a byte-level BPE with Qwen's pre-tokenizer, special tokens and chat template."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        trainers,
    )
    from transformers import Qwen2Tokenizer

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
    )
    tok.train_from_iterator(_tokenizer_corpus(), trainer=trainer)
    model = json.loads(tok.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    # Added tokens follow the BPE vocab in Qwen's order (<|endoftext|>, <|im_start|>, <|im_end|>, ...),
    # so that ids keep the real tokenizer's relative layout.
    vocab = dict(model["vocab"])
    for t in SPECIAL_TOKENS + EXTRA_TOKENS:
        vocab[t] = len(vocab)
    qwen = Qwen2Tokenizer(
        vocab=vocab,
        merges=merges,
        unk_token=None,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        errors="replace",
        model_max_length=32768,
        clean_up_tokenization_spaces=False,
    )
    qwen.add_tokens(
        [AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS], special_tokens=True
    )
    qwen.add_tokens([AddedToken(t, special=False, normalized=False) for t in EXTRA_TOKENS])
    qwen.chat_template = CHAT_TEMPLATE
    return qwen


# Model sizes. ``tiny`` (~0.8M parameters) is for tests and the plain demo: it runs every stage in
# seconds but learns nothing about the images. ``small`` (~3M) is the miniature experiment's model
# (``avr experiment``): large enough to learn to read digits from pixels in minutes on a CPU.
SIZES: dict[str, dict[str, int]] = {
    "tiny": {
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_layers": 2,
        "num_heads": 4,
        "num_kv_heads": 2,
        "head_dim": 16,
        "vision_hidden": 32,
        "vision_intermediate": 64,
        "vision_depth": 2,
    },
    "small": {
        "hidden_size": 256,
        "intermediate_size": 512,
        "num_layers": 4,
        "num_heads": 8,
        "num_kv_heads": 4,
        "head_dim": 32,
        "vision_hidden": 64,
        "vision_intermediate": 128,
        "vision_depth": 2,
    },
}


def _mrope_section(head_dim: int) -> list[int]:
    """Qwen3-VL's (t, h, w) split of the rotary half-dimension, [24, 20, 20] of 64 in the 2B, scaled."""
    half = head_dim // 2
    h = w = (half * 20) // 64
    return [half - h - w, h, w]


def tiny_config(tokenizer, *, size: str = "tiny"):
    """Qwen3-VL-2B's architecture, shrunk: same rope layout (interleaved mrope), patch 16, merge 2."""
    from transformers import Qwen3VLConfig

    if size not in SIZES:
        raise ValueError(f"unknown model size {size!r}; known: {', '.join(SIZES)}")
    dims = SIZES[size]
    hidden_size, num_layers, vision_depth = dims["hidden_size"], dims["num_layers"], dims["vision_depth"]
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    vocab_size = ((len(tokenizer) + 63) // 64) * 64
    text_config = {
        "vocab_size": vocab_size,
        "hidden_size": hidden_size,
        "intermediate_size": dims["intermediate_size"],
        "num_hidden_layers": num_layers,
        "num_attention_heads": dims["num_heads"],
        "num_key_value_heads": dims["num_kv_heads"],
        "head_dim": dims["head_dim"],
        "hidden_act": "silu",
        "max_position_embeddings": 32768,
        "rms_norm_eps": 1e-6,
        # transformers 5.5 keeps the rope settings here; mrope_section sums to head_dim / 2.
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 5_000_000.0,
            "mrope_section": _mrope_section(dims["head_dim"]),
            "mrope_interleaved": True,
        },
        "tie_word_embeddings": True,
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
        "dtype": "float32",
    }
    vision_config = {
        "depth": vision_depth,
        "hidden_size": dims["vision_hidden"],
        "intermediate_size": dims["vision_intermediate"],
        "num_heads": 2,
        "in_channels": 3,
        "patch_size": 16,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "out_hidden_size": hidden_size,
        "num_position_embeddings": 256,
        "deepstack_visual_indexes": list(range(min(vision_depth, num_layers))),
        "hidden_act": "gelu_pytorch_tanh",
    }
    return Qwen3VLConfig(
        text_config=text_config,
        vision_config=vision_config,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=True,
    )


def build_processor(tokenizer, *, min_pixels: int = 32 * 32, max_pixels: int = 128 * 128):
    """Image + video processor with the 2B's patching; small pixel bounds keep CPU runs fast."""
    from transformers import Qwen2VLImageProcessor, Qwen3VLProcessor, Qwen3VLVideoProcessor

    image_processor = Qwen2VLImageProcessor(
        patch_size=16,
        temporal_patch_size=2,
        merge_size=2,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
        size={"shortest_edge": min_pixels, "longest_edge": max_pixels},
    )
    video_processor = Qwen3VLVideoProcessor(
        patch_size=16,
        temporal_patch_size=2,
        merge_size=2,
        size={"shortest_edge": min_pixels, "longest_edge": max_pixels * 4},
    )
    return Qwen3VLProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=video_processor,
        chat_template=CHAT_TEMPLATE,
    )


def build_tiny_model(
    out_dir: str | os.PathLike, *, seed: int = 0, overwrite: bool = False, size: str = "tiny"
) -> Path:
    """Write a random model of ``size`` (``SIZES``) atomically: built in a temp dir, then renamed into place."""
    import torch
    from transformers import GenerationConfig, Qwen3VLForConditionalGeneration

    out = Path(out_dir)
    if out.exists():
        if not overwrite and (out / "config.json").is_file():
            built = json.loads((out / "config.json").read_text())["text_config"]["hidden_size"]
            if built != SIZES[size]["hidden_size"]:
                raise FileExistsError(f"{out} holds a model of another size than {size!r}; pass --overwrite")
            return out  # already built: a rerun is free
        if not overwrite and any(out.iterdir()):
            raise FileExistsError(f"{out} exists and is not a tiny-model directory; pass --overwrite")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        tokenizer = build_tokenizer()
        config = tiny_config(tokenizer, size=size)
        torch.manual_seed(seed)
        model = Qwen3VLForConditionalGeneration(config).to(torch.float32).eval()
        model.generation_config = GenerationConfig(
            bos_token_id=config.text_config.bos_token_id,
            eos_token_id=[
                tokenizer.convert_tokens_to_ids("<|im_end|>"),
                tokenizer.convert_tokens_to_ids("<|endoftext|>"),
            ],
            pad_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
            do_sample=False,
        )
        model.save_pretrained(tmp)
        build_processor(tokenizer).save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a model dir is shared like any other
        for f in tmp.iterdir():
            os.chmod(f, 0o644)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
