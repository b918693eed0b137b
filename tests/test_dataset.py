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
    s = ev.studies
    identified = s["doi"].notna() | s["pmid"].notna()
    referenced = s[["journal", "year", "volume_pages", "reference_url"]].notna().all(axis=1)
    assert (identified | referenced).all()
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
    # the audit counted 6 of 6 for PRP vs active; Fargaly 2025 (platelet-rich fibrin) has since left the scope
    for key, least in ((("pain", "epidural_steroid", "placebo_sham", "short"), 6), (("pain", "prp", "active", "intermediate"), 5)):
        assert v.loc[key, "n_favour"] >= least and v.loc[key, "n_against"] == 0, key
        assert v.loc[key, "sign_p"] == 2 * 0.5 ** v.loc[key, "n_favour"], key  # all one way: exact binomial


def test_same_therapy_comparisons_are_named_by_what_differs(ev) -> None:
    """Issue 21 (3): 'epidural steroid vs active' is mostly one steroid injection against another."""
    from explorer.analysis.comparisons import comparisons

    c = comparisons(ev.arms).set_index(["study_id", "arm_id", "comparator_arm_id"])
    assert tuple(c.loc[("hong2017", "tf", "pil"), ["comparison", "comparison_label"]]) == (
        "approach", "transforaminal vs interlaminar")  # fmt: skip
    assert c.loc[("ackerman2007", "tf", "caudal"), "comparison"] == "approach"
    assert c.loc[("elashmawy2020", "us", "fl"), "comparison_label"] == "ultrasound vs fluoroscopy"
    assert c.loc[("kang2011", "tri5", "tri40"), "comparison"] == "dose"
    assert c.loc[("park2010", "dex", "ta"), "comparison"] == "agent"
    assert tuple(c.loc[("gupta2024", "prp", "steroid"), ["comparison", "comparison_label"]]) == (
        "other_therapy", "PRP vs steroid")  # fmt: skip
    assert c.loc[("ghahreman2010", "tf_steroid", "im_steroid"), "comparison"] == "systemic_drug"
    # every comparator class keeps its coarse grouping
    roles = ev.arms.set_index(["study_id", "arm_id"])
    kind = [roles.at[(s, a), "comparator_kind"] for s, a, _ in c.index.map(lambda k: (k[0], k[2], k[1]))]
    coarse = {"placebo_sham": "placebo_sham", "conservative": "conservative"}
    assert all(coarse.get(k, "active") == coarse.get(x, "active") for k, x in zip(kind, c["comparison"], strict=True))
    active = c[c.index.get_level_values("study_id").isin(
        ev.arms.loc[ev.arms["therapy"].eq("epidural_steroid") & ev.arms["role"].eq("intervention"), "study_id"])]
    same = active[active["comparison"].isin(["approach", "agent", "dose", "guidance", "injections"])]
    assert same.index.get_level_values("study_id").nunique() >= 16


def test_clinical_questions_land_on_rows_that_name_the_comparison() -> None:
    """Issue 23's questions: caudal or transforaminal, fluoroscopic guidance, and the leg-pain
    question each land on findings rows that name that comparison and give an answer."""
    from explorer.dashboard.state import FilterState, Model

    m = Model(load(DATA))
    routes = m.findings(FilterState(comparisons=("approach",)))
    assert len(routes) and (routes["comparison"] == "approach").all()
    assert routes["variant"].str.contains("transforaminal").any() and (routes["answer"] != "").all()
    guided = m.findings(FilterState(comparisons=("guidance",)))
    assert len(guided) and guided["variant"].str.contains("fluoroscopy").all()
    esi = m.findings(FilterState(therapies=("epidural_steroid",), comparisons=("placebo_sham",)))
    short = esi[(esi["outcome"] == "pain") & (esi["window"] == "short")].iloc[0]
    assert "Oliveira 2020" in short["review"] and "points on 0-10" in short["review"]
    every = m.findings(FilterState())
    assert (every["answer"] != "").all()  # no row says only "no estimate"


def test_the_manchikanti_responder_pool_says_its_counts_are_derived() -> None:
    from explorer.analysis.findings import findings

    f = findings(load(DATA))
    row = f[(f["therapy"] == "epidural_steroid") & (f["comparison"] == "placebo_sham") & (f["outcome"] == "responders")
            & (f["window"] == "long") & (f["k"] == 5)].iloc[0]  # fmt: skip
    assert row["answer"].startswith("RR 1.04 (0.87 to 1.25), pool of 5 trials (counts derived from printed percentages in 5 of 5)")
