"""The bundled evidence base itself (marker ``data``): coverage minimums, named studies, validity.

These tests fail when the *data* change (a study removed, a count below its minimum), never because
of a code change; code tests build their own small packages or read the data generically.
Run them alone with ``pytest -m data``, or leave them out with ``-m "not data"``.
"""

from __future__ import annotations

import pytest

from explorer.analysis.coverage import FAMILIES
from explorer.data import load, validate_package

from .conftest import DATA

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def ev():
    return load(DATA)


def test_bundled_data_is_valid() -> None:
    assert validate_package(DATA) == []


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


def test_effect_directions_of_the_audit_cases(ev) -> None:
    """Issue 21: direction by the point estimate, significance apart, one time per window."""
    from explorer.analysis.synthesis import directions, vote_counts

    d = directions(ev)
    cell = (d["outcome"] == "pain") & (d["therapy"] == "epidural_steroid") & (d["window"] == "short")
    placebo = cell & (d["comparator_kind"] == "placebo_sham")
    cohen = d[placebo & (d["study_id"] == "cohen2012")].iloc[0]  # -1.26, CI -2.79 to 0.27
    assert (cohen["direction"], bool(cohen["significant"]), cohen["basis"]) == ("arm", False, "estimate")
    carette = d[placebo & (d["study_id"] == "carette1997")].iloc[0]  # leg pain at 6 weeks, P = 0.03
    assert (carette["direction"], bool(carette["significant"]), carette["time_weeks"]) == ("arm", True, 6.0)
    v = vote_counts(d).set_index(["outcome", "therapy", "comparator_kind", "window"])
    for key in (("pain", "epidural_steroid", "placebo_sham", "short"), ("pain", "prp", "active", "intermediate")):
        assert v.loc[key, "n_favour"] >= 6 and v.loc[key, "n_against"] == 0, key
        assert v.loc[key, "sign_p"] <= 0.03125, key
