"""Stage 1: multi-format SFT with LLaMA-Factory: the checks before a run and the runner."""
