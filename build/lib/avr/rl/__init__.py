"""Stage 2: FS-GRPO on stock verl. The reward, the verl adapters, config checks and GPU checks."""
