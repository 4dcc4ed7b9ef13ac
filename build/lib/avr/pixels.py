"""Image resolution, one pair of bounds for SFT, RL and evaluation.

A policy should see an image at the same size, and so with the same number of visual tokens, when it
is fine-tuned, when it is trained by RL and when it is evaluated. Each stage applies the bounds its
own way; these constants are the one place they are set:
- SFT: the LLaMA-Factory recipes' ``image_min_pixels`` / ``image_max_pixels`` (YAML cannot import
  this module; ``tests/test_pixels.py`` holds the paper recipes to these values);
- RL: ``avr data rl`` writes ``min_pixels`` / ``max_pixels`` into every parquet image dict, which
  verl 0.9.1 hands to ``qwen_vl_utils.fetch_image`` (without them fetch_image allows 16,384 tokens
  an image, and Qwen3-VL trains at almost full resolution);
- evaluation: the defaults of ``avr eval --min-pixels / --max-pixels``.

The values are the paper's SFT setting: at most 512 x 512 = 262,144 pixels (256 tokens at Qwen3-VL's
32 px per merged token), and at least 65,536, the floor of Qwen3-VL's own image processor
(``shortest_edge`` in its preprocessor_config.json), which applies in SFT and in vLLM whatever
LLaMA-Factory is told. The authors evaluated at 35,840..458,752 pixels: pass those to ``avr eval``
to reproduce their setting.
"""

from __future__ import annotations

IMAGE_MIN_PIXELS = 65_536
IMAGE_MAX_PIXELS = 262_144
