"""The miniature AVR experiment: FS-GRPO shown at a scale a CPU affords, with ablations.

``avr experiment RECIPE --out DIR`` (and ``avr demo --full``) builds the digits world, trains a small
Qwen3-VL from scratch through LLaMA-Factory, measures the precondition (does writing the steps help
where the world says it should?), runs FS-GRPO arms through the CPU stand-in, evaluates everything
with ``avr eval`` at the training resolution, and writes ``report.md`` with tables and plots.

- ``recipe``: the experiment recipe (``train_configs/experiment/*.yaml``), validated;
- ``run``: the stages, each resumable and skipped when its output is there;
- ``report``: per-level metrics, training curves per level, tables and plots.
"""

from avr.miniature.experiment.recipe import load_experiment
from avr.miniature.experiment.run import run_experiment

__all__ = ["load_experiment", "run_experiment"]
