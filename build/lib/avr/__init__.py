"""AVR: train vision-language models to choose how much to think (multi-format SFT + FS-GRPO)."""

__version__ = "0.1.0"
