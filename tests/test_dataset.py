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


# --------------------------------------------------------------------------- the written scope
# docs/sources.md "Scope": the rules a counted trial must meet, applied to the bundled data.

OUT_OF_SCOPE_AGENTS = ("methylene blue", "ozone", "o2-o3", "platelet-rich fibrin", "prf)", "etanercept", "prolotherapy")


def _text(col):
    return col.astype(object).where(col.notna(), "").astype(str).str.strip()


@pytest.fixture(scope="module")
def strict(ev):
    from explorer.analysis.coverage import strict_rcts

    return strict_rcts(ev)


def test_every_study_has_a_scope_and_every_out_of_scope_study_a_reason(ev) -> None:
    s = ev.studies
    assert set(_text(s["scope"])) <= {"in", "out"}
    out = s[_text(s["scope"]) == "out"]
    assert (_text(out["scope_reason"]) != "").all(), sorted(out.loc[_text(out["scope_reason"]) == "", "study_id"])


def test_every_counted_rct_says_where_its_source_says_randomised(ev, strict) -> None:
    counted = ev.studies[ev.studies["study_id"].isin(strict.loc[strict["counted"], "study_id"])]
    assert (counted["design"] == "rct").all()
    src = _text(counted["design_source"])
    assert (src != "").all(), sorted(counted.loc[src == "", "study_id"])
    assert src.str.contains("random|RCT", case=False).all(), sorted(counted.loc[~src.str.contains("random|RCT", case=False), "study_id"])


def test_no_counted_trial_is_a_child_a_data_less_pilot_or_out_of_scope(ev, strict) -> None:
    counted = ev.studies.set_index("study_id").loc[strict.loc[strict["counted"], "study_id"]]
    assert (_text(counted["parent_id"]) == "").all()
    assert (_text(counted["scope"]) == "in").all()
    with_rows = set(ev.outcomes["study_id"])
    pilots = counted[_text(counted["pilot"]).str.lower() == "true"]
    assert all(sid in with_rows for sid in pilots.index), sorted(set(pilots.index) - with_rows)


def test_no_in_scope_study_tests_an_out_of_scope_agent(ev) -> None:
    """No in-scope study has an experimental (intervention or single) arm of methylene blue, ozone,
    platelet-rich fibrin, etanercept or prolotherapy; such agents appear in scope only as a control."""
    inscope = set(ev.studies.loc[_text(ev.studies["scope"]) == "in", "study_id"])
    a = ev.arms[ev.arms["study_id"].isin(inscope) & (ev.arms["role"] != "comparator")]
    text = (_text(a["arm_label"]) + " " + _text(a["agent_detail"])).str.lower()
    bad = a[text.apply(lambda t: any(w in t for w in OUT_OF_SCOPE_AGENTS))]
    assert bad.empty, bad[["study_id", "arm_id", "arm_label"]].to_string()


def test_every_in_scope_trial_has_a_scope_injection_arm(ev) -> None:
    """An in-scope randomised trial's experimental arm is a scope injection: a therapy family, or
    an intradiscal corticosteroid coded 'other' (Cao 2011, Nguyen 2017). (Single-arm context
    studies are not held to it: Comella 2017's adipose stromal fraction + PRP is coded 'other'.)"""
    from explorer.analysis.coverage import arm_family

    s = ev.studies
    inscope = set(s.loc[(_text(s["scope"]) == "in") & (s["design"] == "rct"), "study_id"])
    a = ev.arms.assign(family=arm_family(ev.arms))
    exp = a[a["study_id"].isin(inscope) & (a["role"] != "comparator")]
    with_family = set(exp.loc[exp["family"] != "", "study_id"])
    assert set(exp["study_id"]) <= with_family, sorted(set(exp["study_id"]) - with_family)


def test_audited_studies_are_decided_as_the_written_scope_says(ev, strict) -> None:
    s = ev.studies.set_index("study_id")
    for sid in ("kallewaard2019", "peng2010", "rahimzadeh2018", "fargaly2025"):
        assert s.loc[sid, "scope"] == "out", sid
    assert s.loc["cao2011", "scope"] == "in"
    for sid in ("ridley1988", "snoek1977"):
        assert _text(s[["design_source"]].loc[[sid]]["design_source"]).iloc[0] == "", sid
    for sid in ("snidvongs2017", "ellard2017"):
        assert str(s.loc[sid, "pilot"]).lower() == "true"
    assert "fargaly2025" not in set(ev.arms.loc[ev.arms["therapy"] == "prp", "study_id"])
    assert not strict.set_index("study_id").loc[["ridley1988", "snoek1977", "snidvongs2017", "ellard2017"], "counted"].any()


def test_screening_keeps_one_decision_per_record(ev) -> None:
    sc = ev.screening
    excluded = sc[sc["decision"] == "excluded"]
    assert set(_text(excluded["exclusion_kind"])) <= {"eligibility", "copy"}
    assert (_text(sc.loc[sc["decision"] == "duplicate", "exclusion_kind"]) == "duplicate").all()
    assert (_text(sc.loc[sc["decision"] == "included", "exclusion_kind"]) == "").all()
    assert set(_text(ev.searches["kind"])) == {"topic", "known_item"}
