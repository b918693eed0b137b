"""The validator against broken data directories built here: each names file, row and column."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from explorer.cli import main
from explorer.data import DataError, load, validate_package

from .conftest import DATA


def rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def write(path: Path, header: list[str], records: list[dict[str, str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        w.writeheader()
        w.writerows(records)


def edit(data: Path, table: str, index: int, **changes: str) -> int:
    """Change cells of record ``index`` (0-based) and return its spreadsheet row number."""
    header, recs = rows(data / f"{table}.csv")
    recs[index].update(changes)
    write(data / f"{table}.csv", header, recs)
    return index + 2


def first(data: Path, table: str, **match: str) -> int:
    _, recs = rows(data / f"{table}.csv")
    for i, r in enumerate(recs):
        if all(r[k] == v for k, v in match.items()):
            return i
    raise LookupError(match)


def test_load_returns_typed_frames() -> None:
    ev = load(DATA)
    assert len(ev.studies) == len(rows(DATA / "studies.csv")[1])
    assert str(ev.studies["year"].dtype) == "Int64"
    assert ev.outcomes["mean"].dtype.kind == "f"
    assert set(ev.outcomes["study_id"]) <= set(ev.studies["study_id"])


def test_unknown_vocabulary_term_suggests_nearest(data_copy: Path) -> None:
    row = edit(data_copy, "arms", 0, guidance="fluroscopy")
    problems = validate_package(data_copy)
    assert [str(p) for p in problems] == [
        f"arms.csv:{row}:guidance: unknown guidance 'fluroscopy'; did you mean 'fluoroscopy'?"
    ]


def test_ci_not_containing_estimate(data_copy: Path) -> None:
    i = first(data_copy, "outcomes", measure="final")
    _, recs = rows(data_copy / "outcomes.csv")
    mean = float(recs[i]["mean"])
    row = edit(data_copy, "outcomes", i, ci_lb=str(mean + 0.5), ci_ub=str(mean + 1.0))
    msgs = [str(p) for p in validate_package(data_copy)]
    assert any(
        m.startswith(f"outcomes.csv:{row}:ci_lb: the confidence interval") and "does not contain" in m
        for m in msgs
    ), msgs


def test_value_outside_instrument_scale(data_copy: Path) -> None:
    i = first(data_copy, "outcomes", measure="final", scale_max="100")
    row = edit(data_copy, "outcomes", i, mean="140")
    msgs = [str(p) for p in validate_package(data_copy)]
    assert f"outcomes.csv:{row}:mean: 140 lies outside the instrument's scale [0, 100]" in msgs


def test_duplicate_primary_key(data_copy: Path) -> None:
    header, recs = rows(data_copy / "studies.csv")
    recs.append(dict(recs[0]))
    write(data_copy / "studies.csv", header, recs)
    problems = validate_package(data_copy)
    assert len(problems) == 1
    assert problems[0].file == "studies.csv" and problems[0].row == len(recs) + 1
    assert problems[0].column == "study_id" and "duplicate key" in problems[0].message


def test_dangling_study_id(data_copy: Path) -> None:
    row = edit(data_copy, "outcomes", 0, study_id="nosuchstudy2020")
    msgs = [str(p) for p in validate_package(data_copy)]
    assert f"outcomes.csv:{row}:study_id: unknown study_id 'nosuchstudy2020' (not in studies.csv)" in msgs


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("doi", "https://doi.org/10.1000/xyz", "malformed DOI"),
        ("pmid", "PMID12345", "malformed PMID"),
        ("year", "twenty", "is not a whole number"),
        ("year", "1800", "below the minimum"),
        ("design", "RCT", "did you mean 'rct'?"),
        ("title", "", "required value is missing"),
        ("label", " Padded", "leading or trailing spaces"),
    ],
)
def test_cell_problems_name_file_row_column(data_copy: Path, column: str, value: str, expected: str) -> None:
    row = edit(data_copy, "studies", 3, **{column: value})
    problems = validate_package(data_copy)
    assert any(
        p.file == "studies.csv" and p.row == row and p.column == column and expected in p.message
        for p in problems
    ), [str(p) for p in problems]


def test_non_utf8_file(data_copy: Path) -> None:
    path = data_copy / "arms.csv"
    data = path.read_bytes().split(b"\n")
    data[2] = data[2] + b"\xff\xfe"
    path.write_bytes(b"\n".join(data))
    problems = validate_package(data_copy)
    assert any(p.file == "arms.csv" and p.row == 3 and "not UTF-8" in p.message for p in problems)


def test_missing_column_and_unknown_column(data_copy: Path) -> None:
    header, recs = rows(data_copy / "arms.csv")
    header = [("guidnce" if h == "guidance" else h) for h in header]
    for r in recs:
        r["guidnce"] = r.pop("guidance")
    write(data_copy / "arms.csv", header, recs)
    msgs = [str(p) for p in validate_package(data_copy)]
    assert "arms.csv:1:guidnce: unknown column; did you mean 'guidance'?" in msgs
    assert "arms.csv:1:guidance: column is missing from the header" in msgs


def test_ragged_row_and_malformed_csv(data_copy: Path) -> None:
    path = data_copy / "studies.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[4] = lines[4] + ",extra"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = validate_package(data_copy)
    assert any(p.row == 5 and "cells; the header has" in p.message for p in problems)


def test_missing_file_and_missing_directory(data_copy: Path, tmp_path: Path) -> None:
    (data_copy / "outcomes.csv").unlink()
    assert next(str(p) for p in validate_package(data_copy)).startswith("outcomes.csv:0:: file not found")
    assert "data directory not found" in str(validate_package(tmp_path / "nope")[0])


def test_empty_file(data_copy: Path) -> None:
    (data_copy / "arms.csv").write_text("", encoding="utf-8")
    assert any(p.file == "arms.csv" and "empty" in p.message for p in validate_package(data_copy))


def test_events_exceeding_total(data_copy: Path) -> None:
    i = first(data_copy, "adverse_events")
    row = edit(data_copy, "adverse_events", i, events="500", total="10")
    assert f"adverse_events.csv:{row}:events: events (500) exceed total (10)" in [
        str(p) for p in validate_package(data_copy)
    ]


def test_load_raises_data_error_with_problems(data_copy: Path) -> None:
    edit(data_copy, "arms", 0, guidance="fluroscopy")
    with pytest.raises(DataError) as info:
        load(data_copy)
    assert info.value.problems and "fluroscopy" in str(info.value)


def test_validator_never_writes(data_copy: Path) -> None:
    edit(data_copy, "arms", 0, guidance="fluroscopy")
    before = {p.name: p.read_bytes() for p in data_copy.iterdir()}
    validate_package(data_copy)
    assert {p.name: p.read_bytes() for p in data_copy.iterdir()} == before


def test_cli_exit_codes(data_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(DATA)]) == 0
    edit(data_copy, "arms", 0, guidance="fluroscopy")
    assert main(["validate", str(data_copy)]) == 1
    out = capsys.readouterr().out
    assert "arms.csv:2:guidance: unknown guidance 'fluroscopy'; did you mean 'fluoroscopy'?" in out
    with pytest.raises(SystemExit) as info:
        main(["validate", "--no-such-flag"])
    assert info.value.code == 2


def test_env_var_selects_data(monkeypatch: pytest.MonkeyPatch, data_copy: Path) -> None:
    edit(data_copy, "arms", 0, guidance="fluroscopy")
    monkeypatch.setenv("EXPLORER_DATA", str(data_copy))
    assert validate_package() and validate_package(DATA) == []


def test_no_traceback_from_cli_subprocess(tmp_path: Path) -> None:
    import subprocess
    import sys

    bad = tmp_path / "bad"
    shutil.copytree(DATA, bad)
    (bad / "studies.csv").write_bytes(b"\x00\x01garbage")
    proc = subprocess.run(
        [sys.executable, "-m", "explorer", "validate", str(bad)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "studies.csv:1::" in proc.stdout
