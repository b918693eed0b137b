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


def test_pool_honours_method_and_test(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    """``explorer pool --method M --test T`` pools with M and T: each estimator's tau², estimate and
    CI, as the library computes them, and four estimators give four different answers here."""
    from explorer.analysis.effects import effects, pool

    from .test_effects import build, trial

    data = build(
        tmp_path,
        trial("aaa2020", "10.1000/a", (3.0, 2.0, 40), (4.5, 2.5, 38)),
        trial("bbb2021", "10.1000/b", (2.5, 1.8, 50), (3.1, 2.0, 52)),
        trial("ccc2022", "10.1000/c", (4.0, 2.2, 30), (4.2, 2.1, 31)),
        trial("ddd2023", "10.1000/d", (1.0, 1.0, 60), (5.0, 1.2, 60)),
    )
    eff = effects(load(data))
    seen = {}
    for method in ("FE", "DL", "REML", "PM"):
        for test in ("z", "adhoc"):
            code, out, err = run(["pool", "--data", str(data), "--method", method, "--test", test], capsys)
            assert code == 0, err
            (got,) = csv.DictReader(io.StringIO(out))
            want = pool(eff, method=method, test=test).iloc[0]
            for col in ("k", "tau2", "estimate", "ci_lb", "ci_ub"):
                assert float(got[col]) == pytest.approx(float(want[col]), rel=1e-9, abs=1e-12), (method, test, col)  # %.10g
            seen[method, test] = (float(got["tau2"]), float(got["estimate"]), float(got["ci_lb"]))
    assert seen["FE", "z"][0] == 0 and len({v[:2] for v in seen.values()}) == 4  # one answer per estimator
    assert all(seen[m, "z"][2] != seen[m, "adhoc"][2] for m in ("DL", "REML", "PM"))  # and per test
