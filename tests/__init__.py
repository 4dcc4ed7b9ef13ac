"""AVR's tests, laid out as the package: tests/<package>/test_<module>.py."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]  # the checkout: launchers, recipes and scripts live here
