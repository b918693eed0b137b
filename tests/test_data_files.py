"""Data files: nothing silently lost (missing files, spreadsheets' encodings and separators, file
modes), and problems with stable codes for tools."""

from __future__ import annotations

import csv
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.cli import main
from explorer.data import validate_package
from explorer.data.problems import CODES

from .test_add import entry_file


def test_a_listed_file_that_is_missing_is_an_error(data_copy: Path) -> None:
    (data_copy / "adverse_events.csv").unlink()
    problems = validate_package(data_copy)
    assert [(p.file, p.code) for p in problems] == [("adverse_events.csv", "file-missing")]
    assert "datapackage.json lists it" in problems[0].message


def _as_excel_would(path: Path, delimiter: str = ",", encoding: str = "utf-8") -> None:
    with open(path, newline="", encoding="utf-8") as fh:
        records = list(csv.reader(fh))
    with open(path, "w", newline="", encoding=encoding) as fh:
        csv.writer(fh, delimiter=delimiter, lineterminator="\r\n").writerows(records)


def test_semicolon_separated_file_is_one_clear_problem(data_copy: Path) -> None:
    _as_excel_would(data_copy / "studies.csv", delimiter=";")
    problems = validate_package(data_copy)
    assert len(problems) == 1, [str(p) for p in problems]
    p = problems[0]
    assert (p.file, p.row, p.code) == ("studies.csv", 1, "delimiter-error")
    assert "semicolons" in p.message and "CSV UTF-8, comma-separated" in p.message


def _with_a_cp1252_accent(path: Path, row: int = 5) -> None:
    """Re-save ``path`` in Windows-1252 with an accent in record ``row``, as a spreadsheet would."""
    with open(path, newline="", encoding="utf-8") as fh:
        records = list(csv.reader(fh))
    records[row][-1] += " é"
    with open(path, "w", newline="", encoding="cp1252", errors="replace") as fh:
        csv.writer(fh, lineterminator="\n").writerows(records)


def test_windows_1252_file_is_one_clear_problem(data_copy: Path) -> None:
    _with_a_cp1252_accent(data_copy / "studies.csv")
    problems = validate_package(data_copy)  # not a problem per arm and outcome pointing at the studies
    assert len(problems) == 1, [str(p) for p in problems[:5]]
    p = problems[0]
    assert (p.file, p.row, p.code) == ("studies.csv", 6, "encoding-error")
    assert "CSV UTF-8, comma-separated" in p.message


def test_bad_second_file_after_a_correct_first_one_is_said_once(data_copy: Path) -> None:
    _with_a_cp1252_accent(data_copy / "arms.csv")
    problems = validate_package(data_copy)
    assert [(p.file, p.code) for p in problems] == [("arms.csv", "encoding-error")]


def test_add_to_a_non_utf8_table_names_the_file_and_writes_nothing(
    data_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _with_a_cp1252_accent(data_copy / "outcomes.csv")
    before = {p.name: p.read_bytes() for p in data_copy.glob("*.csv")}
    assert main(["add", str(entry_file(tmp_path)), "--data", str(data_copy)]) == 1
    out = capsys.readouterr()
    assert "unexpected error" not in out.err and "UnicodeDecodeError" not in out.out + out.err
    assert out.out.count("outcomes.csv") == 1 and "CSV UTF-8, comma-separated" in out.out
    assert "nothing was written" in out.err
    assert {p.name: p.read_bytes() for p in data_copy.glob("*.csv")} == before


def test_add_keeps_each_files_mode(data_copy: Path, tmp_path: Path) -> None:
    old = os.umask(0o077)  # a strict umask must not matter for files that exist
    try:
        for p in data_copy.glob("*.csv"):
            p.chmod(0o664)
        (data_copy / "arms.csv").chmod(0o644)
        assert main(["add", str(entry_file(tmp_path)), "--data", str(data_copy)]) == 0
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in data_copy.glob("*.csv")}
    assert modes.pop("arms.csv") == 0o644
    assert set(modes.values()) == {0o664}, modes


def test_dictionary_output_keeps_its_mode(tmp_path: Path) -> None:
    out = tmp_path / "data.md"
    out.write_text("old", encoding="utf-8")
    out.chmod(0o644)
    assert main(["dictionary", "--output", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o644 and out.read_text(encoding="utf-8") != "old"


def test_problems_carry_stable_codes(data_copy: Path) -> None:
    from .test_validate import edit

    edit(data_copy, "arms", 0, guidance="fluroscopy", n_randomised="many")
    edit(data_copy, "outcomes", 0, study_id="nosuchstudy2020")
    codes = {(p.column, p.code) for p in validate_package(data_copy)}
    assert {("guidance", "constraint-error"), ("n_randomised", "type-error")} <= codes
    assert ("study_id", "foreign-key") in codes
    assert all(code in CODES for _, code in codes)


def test_validate_json_report(data_copy: Path) -> None:
    from .test_validate import edit

    row = edit(data_copy, "arms", 0, guidance="fluroscopy")
    for data, code in ((data_copy, 1), (None, 0)):
        args = [sys.executable, "-m", "explorer", "validate", "--format", "json"]
        proc = subprocess.run([*args, *([str(data)] if data else [])], capture_output=True, text=True)
        assert proc.returncode == code, proc.stderr
        report = json.loads(proc.stdout)
        assert report["valid"] is (code == 0)
        if code:
            assert report["problems"] == [
                {
                    "file": "arms.csv",
                    "row": row,
                    "column": "guidance",
                    "code": "constraint-error",
                    "message": "unknown guidance 'fluroscopy'; did you mean 'fluoroscopy'?",
                }
            ]
        else:
            assert report["problems"] == [] and report["rows"]["studies"] > 0
