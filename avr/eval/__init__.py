"""Evaluation: benchmark loaders, generation backends, inference modes, metrics and reports."""
