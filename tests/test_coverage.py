"""Guards on the bundled evidence base: coverage minimums and uniqueness (issue 4)."""

from __future__ import annotations

import pytest

from explorer.data import load

from .conftest import DATA

FAMILIES = [
    "epidural_steroid",
    "nerve_root_block",
    "facet_intraarticular",
    "medial_branch_block",
    "sacroiliac",
    "prp",
    "msc",
    "bmc",
]


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
