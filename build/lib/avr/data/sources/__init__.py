"""Converters from the public data sets the paper trained on to AVR records.

Each converter reads one data set in the layout its publisher ships (an ``hf download``
snapshot or the official release archive) and yields one build step per source row; ``convert``
validates every row with ``avr.records.parse_record`` and writes ``{out}/{name}.jsonl`` plus
content-addressed images under ``{out}/images/``. The JSONL is written atomically at the end and
images are named by their hash, so a rerun overwrites consistently and an interrupted run leaves
nothing half-written.

The format of a row is the longest one the data set's *own* texts support in full: Vision-SR1's
see-think responses give format 3, CLEVR's scene graph gives a perception (format 2), and every other
set gives a direct answer (format 1). Texts that support only part of a longer format travel in the
row anyway (ScienceQA's ``solution`` as ``reasoning``, GQA's ``fullAnswer`` as ``full_answer``) so a
later annotation step can complete them; the explicit ``format`` keeps such a row valid.

Multiple-choice rows store the options in ``choices`` and the answer as its letter, as the authors did.

Layout: one module per data set (its reader, record builder and ``SOURCE``), ``common`` for what they
share, ``registry`` for lookup by name and ``--src`` resolution, ``converter`` for ``convert``.
"""

from __future__ import annotations

from avr.data.sources.clevr import describe_clevr_scene
from avr.data.sources.common import Source, SourceRow, letter_answer
from avr.data.sources.converter import convert, output_paths
from avr.data.sources.okvqa import rank_answers
from avr.data.sources.registry import SOURCES, get_source, resolve_src
from avr.data.sources.vision_sr1_cold import (
    clean_sr1_question,
    extract_boxed,
    split_see_think,
    split_sr1_options,
)

__all__ = [
    "SOURCES",
    "Source",
    "SourceRow",
    "clean_sr1_question",
    "convert",
    "describe_clevr_scene",
    "extract_boxed",
    "get_source",
    "letter_answer",
    "output_paths",
    "rank_answers",
    "resolve_src",
    "split_see_think",
    "split_sr1_options",
]
