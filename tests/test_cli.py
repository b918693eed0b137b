"""The command line: effects, pool, cite, dictionary; exit codes; no tracebacks."""

from __future__ import annotations

import csv
import io
import subprocess
import sys

import pytest

from explorer.cli import main
from explorer.data import load

from .conftest import DATA


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_effects_and_pool_csv_columns(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["effects", "--data", str(DATA), "--outcome", "pain", "--format", "csv"], capsys)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and {"yi", "vi", "therapy", "window", "study_id"} <= set(rows[0])
    code, out, _ = run(["pool", "--data", str(DATA), "--by", "therapy,window", "--method", "DL"], capsys)
    assert code == 0
    pooled = list(csv.DictReader(io.StringIO(out)))
    assert {"k", "estimate", "se", "ci_lb", "ci_ub", "tau2", "I2", "Q", "pi_lb", "pi_ub"} <= set(pooled[0])


def test_pool_rejects_unknown_group(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["pool", "--data", str(DATA), "--by", "colour"], capsys)
    assert code == 2 and "cannot group by colour" in err


def test_cite_bibtex_and_ris(capsys: pytest.CaptureFixture[str]) -> None:
    studies = load(DATA).studies
    code, out, _ = run(["cite", "--data", str(DATA)], capsys)
    assert code == 0 and out.count("@article{") == len(studies)
    one = studies[studies["doi"].notna()].iloc[0]
    code, out, _ = run(["cite", "--data", str(DATA), "--format", "ris", "--study", one["study_id"]], capsys)
    assert code == 0 and out.count("TY  - JOUR") == 1 and f"DO  - {one['doi']}" in out


def test_cite_escapes_bibtex_specials(data_copy, capsys: pytest.CaptureFixture[str]) -> None:
    path = data_copy / "studies.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        r = csv.DictReader(fh)
        header, recs = r.fieldnames, list(r)
    recs[0]["title"] = "50% relief & {braces} #1 } @evil{x,"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        w.writeheader()
        w.writerows(recs)
    code, out, _ = run(["cite", "--data", str(data_copy), "--study", recs[0]["study_id"]], capsys)
    assert code == 0
    assert r"50\% relief \& \{braces\} \#1 \} @evil\{x," in out
    assert out.count("@article{") == 1


def test_invalid_data_exit_1_without_traceback(data_copy) -> None:
    (data_copy / "arms.csv").write_text("nonsense\n", encoding="utf-8")
    for cmd in (
        ["validate", str(data_copy)],
        ["pool", "--data", str(data_copy)],
        ["cite", "--data", str(data_copy)],
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "explorer", *cmd], capture_output=True, text=True, check=False
        )
        assert proc.returncode == 1, cmd
        assert "Traceback" not in proc.stdout + proc.stderr
        assert "arms.csv:1:" in proc.stdout


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["pool", "--method", "XX"], ["nonsense"], []):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
