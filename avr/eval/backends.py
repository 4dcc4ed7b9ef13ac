"""Moved to ``avr.generation`` (generation sits below both eval and data); this alias keeps the
callers not yet updated (``avr.demo``) working. New code imports ``avr.generation``."""

from avr.generation import Backend, Decoding, Generation, GenRequest, HFBackend, VLLMBackend, make_backend

__all__ = ["Backend", "Decoding", "GenRequest", "Generation", "HFBackend", "VLLMBackend", "make_backend"]
