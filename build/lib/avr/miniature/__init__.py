"""The CPU-scale world: tiny models, synthetic data, the CPU stand-in, the demo and the miniature experiment."""
