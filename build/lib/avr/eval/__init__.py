"""Evaluation: benchmark loaders, inference modes, scoring profiles, metrics and reports (the generation
backends are `avr.generation`, shared with data annotation)."""
