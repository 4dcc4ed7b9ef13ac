"""Stage 2: FS-GRPO on stock verl: the reward, the verl adapters, config and GPU checks, and the CPU
backend that runs verl's own loop without a GPU (``avr.rl.cpu``)."""
