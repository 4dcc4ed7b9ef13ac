"""Stage 2's reinforcement-learning backends for stock verl (the CPU backend lives in ``avr.rl.cpu``)."""
