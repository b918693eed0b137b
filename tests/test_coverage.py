"""The coverage report (``explorer coverage``) counts what the tables hold."""

from __future__ import annotations

import pytest

from explorer.analysis.coverage import FAMILIES
from explorer.data import load

from .conftest import DATA


@pytest.fixture(scope="module")
def ev():
    return load(DATA)


def test_coverage_report_counts_match_the_tables(ev) -> None:
    from explorer.analysis.coverage import by_design, by_domain_and_window, by_family

    fam = by_family(ev).set_index(["therapy", "approach"])
    for family in FAMILIES:
        ids = set(ev.arms.loc[(ev.arms["therapy"] == family) & (ev.arms["role"] != "comparator"), "study_id"])
        rcts = ids & set(ev.studies.loc[ev.studies["design"] == "rct", "study_id"])
        assert fam.loc[(family, "(all)"), "studies"] == len(ids)
        assert fam.loc[(family, "(all)"), "rcts"] == len(rcts)
    design = by_design(ev).set_index("design")
    assert design["publications"].sum() == len(ev.studies)
    assert (
        design.loc["rct", "with_outcomes"]
        == ev.outcomes.merge(ev.studies, on="study_id").query("design == 'rct'")["study_id"].nunique()
    )
    windows = by_domain_and_window(ev).set_index("domain")
    assert windows["total"].sum() == len(ev.outcomes)
    assert (windows.drop(columns="total").sum(axis=1) == windows["total"]).all()


def test_coverage_command_prints_markdown_and_csv(capsys) -> None:
    from explorer.cli import main

    assert main(["coverage"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Coverage of the evidence base") and "| therapy | approach |" in out
    assert main(["coverage", "--format", "csv"]) == 0
    assert "# designs\ndesign,publications" in capsys.readouterr().out
