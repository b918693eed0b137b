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


# --------------------------------------------------------------------------- issue 21 on the data


def _effects(outcome: str, measure: str = "MD"):
    from explorer.analysis.effects import effects

    return effects(load(DATA), outcome, measure)


def test_iversen_2011_pools_by_default_on_0_100_with_its_adjusted_contrast() -> None:
    """Issue 21 items 4 and D1 on the bundled data."""
    from explorer.analysis.effects import explain

    e = _effects("pain")
    iv = e[e["study_id"] == "iversen2011"]
    assert len(iv) and (iv["scale_basis"] == "derived").all() and not iv["scale_inferred"].any()
    x = explain(e, by=["therapy", "window", "comparator_kind"])
    chosen = x[(x["study_id"] == "iversen2011") & (x["status"] == "pooled")]
    assert set(chosen["window"]) >= {"short", "long"}
    assert (chosen["source"] == "reported MD (adjusted)").all()  # not the 'crude' (baseline-only) rows
    short = chosen[chosen["window"] == "short"].iloc[0]
    assert short["row_id"] == "iversen2011_010" and short["yi"] == pytest.approx(-0.26)


def test_manchikanti_responder_pool_from_derived_counts() -> None:
    """Issue 21 item 6: local anaesthetic vs local anaesthetic + steroid, long term, five trials."""
    from explorer.analysis.effects import pool

    e = _effects("responders", "RR")
    p = pool(e, by=["therapy", "window", "comparator_kind"])
    row = p[(p["therapy"] == "epidural_steroid") & (p["window"] == "long") & (p["responder_class"] == "composite_success")]
    assert len(row) == 1
    row = row.iloc[0]
    assert int(row["k"]) == 5 and int(row["n_derived_events"]) == 5
    assert row["exp_estimate"] == pytest.approx(1.04, abs=0.005)
    assert row["exp_ci_lb"] == pytest.approx(0.87, abs=0.005) and row["exp_ci_ub"] == pytest.approx(1.25, abs=0.005)
    assert "manchikanti2012d" not in row["derived_events_rows"]  # arm sizes not printed: no counts


def test_catch_all_responder_definitions_are_recoded(ev) -> None:
    """Rule 'responders': walking distance and a 75% ODI improvement no longer share a class; the
    RMDQ's 3 points is below its minimal important change (5 of 24, Ostelo 2008)."""
    o = ev.outcomes
    rc = o.set_index("outcome_id")["responder_class"]
    defs = o["responder_definition"].fillna("").str.lower()
    assert (o.loc[defs.str.contains("walking"), "responder_class"].dropna() == "other").all()
    assert (o.loc[defs.str.contains("75% improvement in odq"), "responder_class"] == "other").all()
    assert rc["levi2025_007"] == "function_improvement_30" and rc["schepers2022_003"] == "other"
