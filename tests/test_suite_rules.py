"""Rules the test suite keeps about itself."""

from __future__ import annotations

import csv
import re

from .conftest import DATA, ROOT

TESTS = ROOT / "tests"


def test_only_dataset_tests_name_bundled_studies() -> None:
    """A code test that names a study of the bundled data would fail on a data change: such
    checks belong in tests/test_dataset.py (marker ``data``)."""
    with open(DATA / "studies.csv", newline="", encoding="utf-8") as fh:
        ids = {r["study_id"] for r in csv.DictReader(fh)}
    found = []
    for path in sorted(TESTS.glob("*.py")):
        if path.name == "test_dataset.py":
            continue
        text = path.read_text(encoding="utf-8")
        found += [f"{path.name}: {w}" for w in sorted(set(re.findall(r"\b[a-z][a-z0-9_]*\b", text)) & ids)]
    assert not found, found


def test_dataset_tests_carry_the_data_marker() -> None:
    text = (TESTS / "test_dataset.py").read_text(encoding="utf-8")
    assert "pytestmark = pytest.mark.data" in text
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"data: ' in pyproject  # registered, so --strict-markers and -m data work
