"""Reading records: a file that is missing or of an unknown kind is named (row-level checks run
through the writers: tests/data/test_sft.py, tests/data/test_rl.py)."""

import pytest

from avr.records import RecordError, read_records


def test_missing_records_file_and_unknown_suffix(tmp_path):
    with pytest.raises(RecordError, match="no such records file"):
        read_records([tmp_path / "nope.jsonl"])
    (tmp_path / "x.csv").write_text("a,b\n")
    with pytest.raises(RecordError, match="unsupported records file type"):
        read_records([tmp_path / "x.csv"])
