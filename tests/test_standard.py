"""The data package reads with the reference implementation of the Frictionless standards
(frictionless-py), as other tools of the ecosystem would read it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.data import validate_package
from explorer.data.schema import read_package

from .builders import ARM, make_package
from .conftest import DATA


def frictionless(package: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "frictionless", "validate", "--json", str(package)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def errors(proc: subprocess.CompletedProcess[str]) -> list[tuple[str, str]]:
    report = json.loads(proc.stdout)
    return [(task["name"], e["type"]) for task in report["tasks"] for e in task["errors"]]


def test_bundled_package_passes_frictionless_validate() -> None:
    proc = frictionless(DATA / "datapackage.json")
    assert proc.returncode == 0, errors(proc)[:10]


@pytest.mark.parametrize("standards", ["v1", "v2"])
def test_descriptor_conforms_to_both_versions_of_the_specs(standards: str) -> None:
    from frictionless import Package, system

    descriptor = json.loads((DATA / "datapackage.json").read_text(encoding="utf-8"))
    with system.use_context(standards=standards):
        found = list(Package.metadata_validate(descriptor))
    assert found == []


def _small(tmp_path: Path, comparator: str) -> Path:
    arms = [
        dict(study_id="a2020", arm_id="x"),
        dict(
            study_id="a2020",
            arm_id="y",
            role="comparator",
            comparator_kind="active",
            therapy="local_anaesthetic",
            agent_class="local_anaesthetic",
        ),
    ]
    outcomes = [
        dict(outcome_id="a2020_001", study_id="a2020", arm_id="x", mean="3"),
        dict(
            outcome_id="a2020_002",
            study_id="a2020",
            arm_id="x",
            comparator_arm_id=comparator,
            measure="mean_difference",
            contrast_basis="final",
            mean="-1",
        ),
    ]
    return make_package(tmp_path / "pkg", [dict(study_id="a2020")], [{**ARM, **a} for a in arms], outcomes)


def test_rows_without_a_comparator_are_valid_for_both(tmp_path: Path) -> None:
    pkg = _small(tmp_path, comparator="y")  # row 1 has no comparator, row 2 has a real one
    assert validate_package(pkg) == []
    assert frictionless(pkg / "datapackage.json").returncode == 0


def test_a_dangling_comparator_is_caught_by_the_explorer(tmp_path: Path) -> None:
    pkg = _small(tmp_path, comparator="nosuch")
    assert [(p.file, p.row, p.column, p.code) for p in validate_package(pkg)] == [
        ("outcomes.csv", 3, "comparator_arm_id", "foreign-key")
    ]


def test_standard_foreign_keys_are_read_as_the_reference_implementation_reads_them(tmp_path: Path) -> None:
    """A composite key of ``foreignKeys`` with one empty field is checked (and fails), as in
    frictionless; only ``optionalForeignKeys`` skip it."""
    pkg = _small(tmp_path, comparator="y")
    raw = json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))
    schema = next(r for r in raw["resources"] if r["name"] == "outcomes")["schema"]
    schema["foreignKeys"] += schema.pop("optionalForeignKeys")
    (pkg / "datapackage.json").write_text(json.dumps(raw), encoding="utf-8")
    from explorer.data.schema import parse_package
    from explorer.data.validate import collect

    ours = [(p.row, p.code) for p in collect(pkg, parse_package(raw))[0]]
    theirs = errors(frictionless(pkg / "datapackage.json"))
    assert ours == [(2, "foreign-key")] and theirs == [("outcomes", "foreign-key")]


def test_optional_foreign_keys_are_part_of_the_schema() -> None:
    outcomes = read_package().resource("outcomes")
    optional = [fk for fk in outcomes.foreign_keys if fk.optional]
    assert [fk.fields for fk in optional] == [("study_id", "comparator_arm_id")]
