"""Stock verl 0.9.1's GRPO loop on a CPU: a ``cpu`` platform, an HF rollout replica and three guarded patches.

Nothing here is imported by this package itself: verl imports the modules in ``MODULES`` in every process
(``VERL_USE_EXTERNAL_MODULES``), and a Ray actor that unpickles a class from ``rollout`` imports that
module first, so this ``__init__`` must stay free of verl imports (see ``rollout``'s docstring).
``train-fs-grpo.sh --cpu`` sets that environment and the overrides the backend needs.
"""

MODULES = ("avr.rl.cpu.platform", "avr.rl.cpu.patches", "avr.rl.cpu.rollout")
