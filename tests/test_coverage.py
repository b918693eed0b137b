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


# --------------------------------------------------------------------------- strict counts


def _trial(sid: str, **study) -> tuple[dict, list[dict]]:
    s = dict(study_id=sid, label=sid.title(), doi=f"10.1000/{sid}", **study)
    arms = [
        dict(study_id=sid, arm_id="steroid"),
        dict(study_id=sid, arm_id="control", therapy="saline", agent_class="saline", role="comparator", comparator_kind="placebo_sham"),
    ]
    return s, arms


def _finals(sid: str, steroid: tuple, control: tuple, week: int = 6, sd: bool = True) -> list[dict]:
    rows = []
    for arm, (m, s, n) in (("steroid", steroid), ("control", control)):
        num = 1 if arm == "steroid" else 2
        row = dict(outcome_id=f"{sid}_{num:03d}", study_id=sid, arm_id=arm, time_value=week, mean=m, n=n)
        if sd:
            row["sd"] = s
        rows.append(row)
    return rows


@pytest.fixture()
def strict_ev(tmp_path):
    from .builders import make_package, review_estimate

    studies, arms, outs = [], [], []

    def add(sid, rows=(), **study):
        s, a = _trial(sid, **study)
        studies.append(s)
        arms.extend(a)
        outs.extend(rows)

    add("aaa2020", _finals("aaa2020", (3.0, 2.0, 40), (4.5, 2.5, 38)))  # counted, number, poolable
    add("bbb2021", _finals("bbb2021", (3.1, 2.0, 30), (4.4, 2.5, 30), week=52), parent_id="aaa2020")  # child
    add("ccc2022", _finals("ccc2022", (3.0, 2.0, 20), (4.0, 2.0, 20)), scope="out", scope_reason="tests ozone")
    add("ddd2023", _finals("ddd2023", (3.0, 2.0, 20), (4.0, 2.0, 20)), design_source="")  # not confirmed
    add("eee2024", pilot="true")  # data-less pilot
    test_row = dict(outcome_id="fff2025_001", study_id="fff2025", arm_id="steroid", comparator_arm_id="control",
                    measure="test", p_value=0.03, p_operator="=", favours="arm")
    add("fff2025", [test_row], pilot="true")  # a pilot with data: counted, direction only
    add("ggg2026", _finals("ggg2026", (3.0, None, 25), (4.0, None, 25), sd=False)[:1])  # a number, nothing to pool
    add("hhh2027")  # counted, no outcome rows
    joints = [dict(r, unit="joints") for r in _finals("kkk2030", (3.0, 2.0, 40), (4.5, 2.5, 38))]
    add("kkk2030", joints)  # a contrast every pool leaves out (unit: joints, not participants)
    change = dict(outcome_id="lll2031_001", study_id="lll2031", arm_id="open", time_value=6, measure="change", mean=-2.0, sd=1.5, n=30)
    add("lll2031", [change])  # an open-label arm's change: a within-arm effect, not a between-group one
    arms.append(dict(study_id="lll2031", arm_id="open", role="single"))
    baseline = _finals("iii2028", (7.0, 2.0, 30), (7.1, 2.0, 30), week=0)
    add("iii2028", baseline)  # baseline values only: no point estimate
    s, a = _trial("jjj2029", design="nonrandomised_comparative", design_source="")
    studies.append(s)
    arms.extend(a)
    res = [
        review_estimate("rev2020_re01", (-1.2, -2.0, -0.4), timing="2 weeks to 3 months", time_weeks_min=2, time_weeks_max=13, scale_min=0, scale_max=10, k_studies=5),
        review_estimate("rev2020_re02", (0.4, 0.1, 0.7), timing="not stated", time_basis="not_stated", effect_measure="smd", comparison_class=""),
        review_estimate("rev2020_re03", (-5.0, -9.0, -1.0), timing="not stated", time_basis="not_stated", comparison_class=""),
    ]
    studies.append(dict(study_id="rev2020", label="Rev 2020", doi="10.1000/rev", design="systematic_review", blinding="not_applicable", design_source=""))
    return load(make_package(tmp_path / "d", studies, arms, outs, review_estimates=res))


def test_strict_rcts_count_only_confirmed_in_scope_first_reports(strict_ev) -> None:
    from explorer.analysis.coverage import strict_rcts

    t = strict_rcts(strict_ev).set_index("study_id")
    assert sorted(t.index) == ["aaa2020", "bbb2021", "ccc2022", "ddd2023", "eee2024", "fff2025", "ggg2026", "hhh2027", "iii2028", "kkk2030", "lll2031"]
    assert sorted(t.index[t["counted"]]) == ["aaa2020", "fff2025", "ggg2026", "hhh2027", "iii2028", "kkk2030", "lll2031"]
    assert t.loc["kkk2030", ["point_estimate", "poolable"]].tolist() == [True, False]
    assert t.loc["lll2031", ["point_estimate", "poolable"]].tolist() == [True, False]
    assert t.loc["bbb2021", "reason"].startswith("later report")
    assert t.loc["ccc2022", "reason"] == "out of scope: tests ozone"
    assert t.loc["ddd2023", "reason"].startswith("design not confirmed")
    assert t.loc["eee2024", "reason"].startswith("feasibility pilot")
    assert t.loc["aaa2020", ["point_estimate", "poolable", "direction_only", "no_outcomes"]].tolist() == [True, True, False, False]
    assert t.loc["fff2025", ["point_estimate", "poolable", "direction_only"]].tolist() == [False, False, True]
    assert t.loc["ggg2026", ["point_estimate", "poolable"]].tolist() == [True, False]
    assert t.loc["hhh2027", "no_outcomes"] and not t.loc["hhh2027", "point_estimate"]
    assert not t.loc["iii2028", "point_estimate"]  # a baseline value is not an estimate
    assert t.loc["aaa2020", "families"] == "epidural_steroid"
    assert t.loc["aaa2020", "comparisons"] == "epidural_steroid vs placebo_sham"


def test_a_later_reports_rows_count_for_its_cohort(strict_ev, tmp_path) -> None:
    from explorer.analysis.coverage import strict_rcts

    o = strict_ev.outcomes
    ev = strict_ev.__class__(**{**strict_ev.__dict__, "outcomes": o[o["study_id"] != "aaa2020"].reset_index(drop=True)})
    t = strict_rcts(ev).set_index("study_id")
    assert t.loc["aaa2020", "point_estimate"] and t.loc["aaa2020", "poolable"]  # through bbb2021, its child
    assert not t.loc["bbb2021", "counted"]


def test_strict_counts_tables(strict_ev) -> None:
    from explorer.analysis.coverage import strict_by_comparison, strict_by_family, strict_counts

    c = strict_counts(strict_ev).set_index("count")["value"]
    assert c["randomised trials in the data (design rct)"] == 11
    assert c.filter(like="counted RCTs").iloc[0] == 7
    assert c.filter(like="with a point estimate").iloc[0] == 4
    assert c.filter(like="a pool can use").iloc[0] == 1
    assert c.filter(like="direction or p-value only").iloc[0] == 1
    assert c.filter(like="no outcome rows").iloc[0] == 1
    assert c.filter(like="out of scope").iloc[0] == 1 and c.filter(like="later report").iloc[0] == 1
    fam = strict_by_family(strict_ev).set_index("family")
    assert fam.loc["epidural_steroid"].tolist() == [7, 4, 1, 1, 1]
    comp = strict_by_comparison(strict_ev).set_index("comparison")
    assert comp.loc["epidural_steroid vs placebo_sham", "rcts"] == 7


def test_review_estimate_shares(strict_ev) -> None:
    from explorer.analysis.coverage import review_estimate_shares

    r = review_estimate_shares(strict_ev).set_index("count")
    assert r.loc["reviews giving estimates", "value"] == 1 and r.loc["comparative estimates", "value"] == 3
    assert r.loc["  comparative, with a window in weeks", "value"] == 1
    # an md with its scale, and an smd; not the md without one
    assert r.loc["  comparative, with a scale or a unitless measure", "value"] == 2
    assert r.loc["  comparative, with a comparison class", "value"] == 1
    assert r.loc["  comparative, with a normalised sign (estimate)", "value"] == 3
    assert r.loc["  comparative, with k (studies pooled)", ["value", "share"]].tolist() == [1, "33%"]


def test_coverage_command_prints_the_strict_counts(capsys) -> None:
    from explorer.cli import main

    assert main(["coverage"]) == 0
    out = capsys.readouterr().out
    assert "## Strict counts\n" in out and "## Strict counts per therapy family" in out
    assert "## Randomised trials not counted" in out and "## Published pooled estimates" in out
