"""Guards on the bundled evidence base: coverage minimums and uniqueness (issue 4)."""

from __future__ import annotations

import pytest

from explorer.analysis.coverage import FAMILIES
from explorer.data import load

from .conftest import DATA


@pytest.fixture(scope="module")
def ev():
    return load(DATA)


def test_publication_counts(ev) -> None:
    assert len(ev.studies) >= 60
    assert (ev.studies["design"] == "rct").sum() >= 40


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_has_three_studies(ev, family: str) -> None:
    studies = set(ev.arms.loc[(ev.arms["therapy"] == family) & (ev.arms["role"] != "comparator"), "study_id"])
    assert len(studies) >= 3, f"{family}: {sorted(studies)}"


def test_identifiers_are_unique(ev) -> None:
    for col in ("doi", "pmid"):
        ids = ev.studies[col].dropna()
        ids = ids[ids != ""].str.lower()
        assert not ids.duplicated().any(), ids[ids.duplicated()].tolist()


def test_every_study_is_traceable(ev) -> None:
    assert (ev.studies["doi"].notna() | ev.studies["pmid"].notna()).all()
    assert ev.outcomes["locator"].notna().all() and ev.adverse_events["locator"].notna().all()


def test_reviews_are_recorded_as_their_own_kind(ev) -> None:
    reviews = set(ev.studies.loc[ev.studies["design"] == "systematic_review", "study_id"])
    assert reviews and set(ev.review_estimates["study_id"]) <= reviews
    assert "xie2021" in reviews  # the brief's "SCRT" MSC meta-analysis resolves to Xie 2021 (docs/sources.md)


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


@pytest.mark.parametrize(
    ("site", "approaches", "indications"),
    [
        ("intradiscal", {"intradiscal"}, None),
        ("facet", {"intraarticular", "periarticular"}, {"facet_arthropathy"}),
        ("sacroiliac", {"intraarticular", "periarticular"}, {"sacroiliac"}),
        ("epidural", {"caudal", "interlaminar", "transforaminal", "epidural_unspecified"}, None),
    ],
)
def test_prp_has_a_randomised_trial_at_every_site(ev, site, approaches, indications) -> None:
    arms = ev.arms.merge(ev.studies[["study_id", "design", "indication"]], on="study_id")
    prp = arms[
        (arms["therapy"] == "prp") & (arms["role"] != "comparator") & arms["approach"].isin(approaches)
    ]
    if indications:
        prp = prp[prp["indication"].isin(indications)]
    assert (prp["design"] == "rct").any(), site
