"""AVR's recipes and presets, shipped as package data (``avr.train_configs``); see avr/config.py."""
