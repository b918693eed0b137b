"""Synthesis without meta-analysis: direction by the point estimate, vote counts against R.

The arithmetic is compared with R (tests/fixtures/metafor/synthesis.csv, from
tools/synthesis_fixtures.R: binom.test, prop.test(correct = FALSE) and a hand-written Stouffer)
to 1e-10; the directions are checked on small packages built here.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import pandas as pd
import pytest

from explorer.analysis.synthesis import (
    CELL,
    DIRECTION_COLUMNS,
    DIRECTION_OUTCOMES,
    FEWER_EVENTS_BETTER,
    SOURCE_DIRECTION,
    SOURCE_PRINTED_MD,
    VOTE_COLUMNS,
    VOTE_LABEL,
    directions,
    sign_test,
    significant_from_p,
    stouffer,
    vote_counts,
    wilson_interval,
)
from explorer.data import load

from .test_effects import build, trial

FIXTURE = Path(__file__).parent / "fixtures" / "metafor" / "synthesis.csv"
TOL = 1e-10


@pytest.fixture(scope="module")
def cases() -> pd.DataFrame:
    return pd.read_csv(FIXTURE, dtype={"p_values": str, "signs": str, "sizes": str})


# --------------------------------------------------------------------------- against R


def test_fixtures_cover_the_edge_cases(cases: pd.DataFrame) -> None:
    assert len(cases) >= 40
    x, n = cases["x"], cases["n"]
    assert ((x == 0) & (n > 1)).any() and ((x == n) & (n > 1)).any() and (n == 1).any() and (2 * x == n).any()
    assert (cases["stouffer_weighted"] == False).any() and (cases["stouffer_weighted"] == True).any()  # noqa: E712


def test_sign_test_matches_binom_test(cases: pd.DataFrame) -> None:
    for r in cases.itertuples():
        assert sign_test(r.x, r.n) == pytest.approx(r.sign_p, abs=TOL, rel=0), r.case


def test_wilson_interval_matches_prop_test_without_correction(cases: pd.DataFrame) -> None:
    for r in cases.itertuples():
        lb, ub = wilson_interval(r.x, r.n)
        assert lb == pytest.approx(r.wilson_lb, abs=TOL, rel=0), r.case
        assert ub == pytest.approx(r.wilson_ub, abs=TOL, rel=0), r.case
        if r.x == 0:
            assert lb == 0.0  # exactly, as R
        if r.x == r.n:
            assert ub == 1.0


def test_stouffer_matches_hand_written_r(cases: pd.DataFrame) -> None:
    for r in cases.itertuples():
        p = [float(v) for v in r.p_values.split(";")]
        s = [int(v) for v in r.signs.split(";")]
        n = [math.nan if v == "NA" else float(v) for v in r.sizes.split(";")]
        got, weighted = stouffer(p, s, n)
        assert got == pytest.approx(r.stouffer_p, abs=TOL, rel=0), r.case
        assert weighted == bool(r.stouffer_weighted), r.case


def test_arithmetic_edges() -> None:
    assert math.isnan(sign_test(0, 0)) and all(math.isnan(v) for v in wilson_interval(0, 0))
    assert sign_test(6, 6) == 0.03125 and sign_test(3, 6) == 1.0
    assert stouffer([0.04, 0.04], [1, -1]) == (0.5, False)  # opposite results cancel
    assert stouffer([1.0, 1.0], [1, 1], [10, 20]) == (0.5, True)


def test_significance_from_a_printed_p() -> None:
    assert significant_from_p(0.03, "=") is True and significant_from_p(0.05, "=") is False
    assert significant_from_p(0.05, "<") is True and significant_from_p(0.001, "<=") is True
    assert significant_from_p(0.05, "<=") is None  # p <= 0.05 may be 0.05 itself
    assert significant_from_p(0.1, "<") is None  # p < 0.1 does not decide
    assert significant_from_p(0.05, ">") is False and significant_from_p(0.2, ">=") is False
    assert significant_from_p(0.01, ">") is None and significant_from_p(math.nan, "=") is None
    assert significant_from_p(0.01, None) is None


# --------------------------------------------------------------------------- vote counts


def _dirs(rows: list[tuple]) -> pd.DataFrame:
    """A directions frame of one cell: (direction, p_value, p_operator, n) per trial."""
    cell = dict(outcome="pain", therapy="epidural_steroid", comparator_kind="placebo_sham", window="short")
    return pd.DataFrame(
        [
            dict(**cell, study_id=f"s{i}", label=f"S{i}", direction=d, significant=None, basis="estimate",
                 n=n, p_value=p, p_operator=op)
            for i, (d, p, op, n) in enumerate(rows)
        ]
    )  # fmt: skip


def test_vote_counts_exclude_ties_from_the_proportion_and_the_sign_test() -> None:
    rows = [("arm", 0.02, "=", 100.0), ("arm", 0.3, "=", 50.0), ("arm", 0.01, "<", 80.0),
            ("comparator", 0.6, "=", 40.0), ("neither", 0.9, "=", 60.0), ("neither", math.nan, None, math.nan)]  # fmt: skip
    v = vote_counts(_dirs(rows))
    assert list(v.columns) == VOTE_COLUMNS and len(v) == 1
    r = v.iloc[0]
    assert (r.n_trials, r.n_favour, r.n_against, r.n_neither) == (6, 3, 1, 2)
    assert r.proportion == 0.75 and (r.prop_lb, r.prop_ub) == wilson_interval(3, 4)
    assert r.sign_p == sign_test(3, 4) == 0.625
    # exact p-values with a direction only: the '<' bound and the tie are left out
    assert r.stouffer_k == 3 and r.stouffer_weighted
    assert r.stouffer_p == stouffer([0.02, 0.3, 0.6], [1, 1, -1], [100, 50, 40])[0]
    assert r.label == VOTE_LABEL and "not how large" in r.label
    assert r.studies == "S0; S1; S2; S3; S4; S5"


def test_vote_counts_all_favour_and_unweighted_stouffer() -> None:
    rows = [("arm", 0.02, "=", 100.0), ("arm", 0.04, "=", math.nan)] + [("arm", math.nan, None, 30.0)] * 4
    r = vote_counts(_dirs(rows)).iloc[0]
    assert (r.n_favour, r.n_against) == (6, 0) and r.sign_p == 0.03125
    assert r.prop_ub == 1.0 and r.prop_lb == wilson_interval(6, 6)[0]
    assert r.stouffer_k == 2 and not r.stouffer_weighted  # one n unknown: unweighted
    assert r.stouffer_p == stouffer([0.02, 0.04], [1, 1])[0]


def test_vote_counts_without_two_exact_p_values_give_no_stouffer() -> None:
    r = vote_counts(_dirs([("arm", 0.02, "=", 100.0), ("comparator", 0.01, "<", 10.0)])).iloc[0]
    assert math.isnan(r.stouffer_p) and r.stouffer_k == 0
    r = vote_counts(_dirs([("neither", 0.5, "=", 10.0), ("neither", 0.7, "=", 10.0)])).iloc[0]
    assert math.isnan(r.proportion) and math.isnan(r.sign_p) and math.isnan(r.stouffer_p)


def test_vote_counts_of_nothing_keep_their_shape() -> None:
    assert list(vote_counts(pd.DataFrame(columns=DIRECTION_COLUMNS)).columns) == VOTE_COLUMNS


# --------------------------------------------------------------------------- directions


def _test_row(sid: str, oid: str, weeks: float, favours: str, p=None, op=None, swap=False, **kw) -> dict:
    arm, cmp = ("control", "steroid") if swap else ("steroid", "control")
    row = dict(outcome_id=oid, study_id=sid, arm_id=arm, comparator_arm_id=cmp, time_value=weeks, measure="test",
               favours=favours, scale_min="", scale_max="", scale_basis="", higher_is_better="", instrument="other")  # fmt: skip
    if p is not None:
        row.update(p_value=p, p_operator=op)
    return {**row, **kw}


def _one(d: pd.DataFrame, sid: str, **cell) -> pd.Series:
    m = d["study_id"] == sid
    for k, v in cell.items():
        m &= d[k] == v
    assert m.sum() == 1, d[m]
    return d[m].iloc[0]


def test_direction_is_the_point_estimate_not_its_significance(tmp_path: Path) -> None:
    small = trial("aaa2020", "10.1000/a", (3.0, 2.0, 40), (3.2, 2.0, 40))  # -0.2: not significant
    worse = trial("bbb2021", "10.1000/b", (4.0, 2.0, 40), (3.0, 2.0, 40))  # +1.0: favours control
    tie = trial("ccc2022", "10.1000/c", (3.0, 2.0, 40), (3.0, 2.5, 40))  # exactly at the null
    big = trial("ddd2023", "10.1000/d", (2.0, 1.0, 50), (4.0, 1.0, 50))
    d = directions(load(build(tmp_path, small, worse, tie, big)))
    assert list(d.columns) == DIRECTION_COLUMNS
    a = _one(d, "aaa2020", outcome="pain")
    assert (a.direction, a.significant, a.basis) == ("arm", False, "estimate") and a.n == 80
    assert a.significance_from == "Wald CI of the estimate" and a.yi == pytest.approx(-0.2)
    assert _one(d, "bbb2021", outcome="pain").direction == "comparator"
    assert _one(d, "ccc2022", outcome="pain").direction == "neither"
    b = _one(d, "ddd2023", outcome="pain")
    assert b.direction == "arm" and b.significant == True  # noqa: E712 - a pandas boolean
    v = vote_counts(d).iloc[0]
    assert (v.n_favour, v.n_against, v.n_neither) == (2, 1, 1)


def test_printed_direction_only_without_estimate_and_one_time_per_window(tmp_path: Path) -> None:
    s, a, o = trial("eee2020", "10.1000/e", (3.0, 2.0, 40), (3.4, 2.0, 40))
    # the trial with an estimate also prints a direction: the estimate decides
    o.append(_test_row("eee2020", "eee2020_090", 6, "comparator"))
    s2 = dict(study_id="fff2021", label="Fff 2021", doi="10.1000/f")
    a2 = [dict(a[0], study_id="fff2021"), dict(a[1], study_id="fff2021")]
    # direction only: significant at 6 weeks, not at 13 weeks (the same short-term window);
    # the time nearest the window's reference (7.5 weeks) stands, in whatever order the rows come
    rows = [
        _test_row("fff2021", "fff2021_001", 13, "neither", 0.4, "="),
        _test_row("fff2021", "fff2021_002", 6, "comparator", 0.03, "=", swap=True),  # stored control-first
    ]
    for order in (rows, rows[::-1]):
        d = directions(load(build(tmp_path / str(id(order)), (s, a, o), (s2, a2, order))))
        e = _one(d, "eee2020", outcome="pain", window="short")
        assert (e.direction, e.basis) == ("arm", "estimate")
        f = _one(d, "fff2021", outcome="pain", window="short")
        assert (f.direction, f.significant, f.basis) == ("arm", True, "reported direction")
        assert (f.p_value, f.p_operator, f.time_weeks, f.source) == (0.03, "=", 6.0, SOURCE_DIRECTION)


def test_a_printed_difference_without_a_common_scale_gives_a_direction(tmp_path: Path) -> None:
    s = dict(study_id="ggg2012", label="Ggg 2012", doi="10.1000/g")
    a = [dict(study_id="ggg2012", arm_id="steroid"),
         dict(study_id="ggg2012", arm_id="control", therapy="saline", agent_class="saline", role="comparator",
              comparator_kind="placebo_sham")]  # fmt: skip
    o = [dict(outcome_id="ggg2012_001", study_id="ggg2012", arm_id="steroid", comparator_arm_id="control",
              instrument="other", scale_min="", scale_max="", scale_basis="", measure="mean_difference",
              contrast_basis="change", mean=-1.26, ci_lb=-2.79, ci_ub=0.27, ci_level=95, p_value=0.11,
              p_operator="=", favours="neither", time_value=1, time_unit="month"),
         # higher is better: a positive difference favours the arm
         dict(outcome_id="ggg2012_002", study_id="ggg2012", arm_id="steroid", comparator_arm_id="control",
              domain="function", instrument="other", scale_min="", scale_max="", scale_basis="",
              higher_is_better="true", measure="mean_difference", contrast_basis="final", mean=4.0, ci_lb=1.0, ci_ub=7.0,
              time_value=1, time_unit="month")]  # fmt: skip
    d = directions(load(build(tmp_path, (s, a, o))))
    r = _one(d, "ggg2012", outcome="pain")
    assert (r.direction, r.significant, r.basis, r.source) == ("arm", False, "estimate", SOURCE_PRINTED_MD)
    assert (r.significance_from, r.p_value, r.p_operator) == ("printed CI", 0.11, "=")
    f = _one(d, "ggg2012", outcome="function")
    assert (f.direction, f.significant) == ("arm", True)


def test_binary_directions_follow_what_is_better(tmp_path: Path) -> None:
    s, a, o = trial("hhh2020", "10.1000/h", (3.0, 2.0, 40), (3.4, 2.0, 40))
    for arm, resp, surg, tot in (("steroid", 20, 8, 40), ("control", 10, 4, 40)):
        base = dict(study_id="hhh2020", arm_id=arm, instrument="responder_definition", scale_min="", scale_max="",
                    scale_basis="", higher_is_better="", total=tot)  # fmt: skip
        o.append(dict(base, outcome_id=f"hhh2020_{len(o) + 1:03d}", domain="responders", measure="responders",
                      events=resp, responder_definition=">=50% relief", responder_class="pain_relief_50"))  # fmt: skip
        o.append(dict(base, outcome_id=f"hhh2020_{len(o) + 1:03d}", domain="surgery", instrument="surgery",
                      measure="events", events=surg, time_value=52))  # fmt: skip
    d = directions(load(build(tmp_path, (s, a, o))))
    assert "surgery" in FEWER_EVENTS_BETTER and ("surgery", "RR") in DIRECTION_OUTCOMES
    assert _one(d, "hhh2020", outcome="responders").direction == "arm"  # more responders
    assert _one(d, "hhh2020", outcome="surgery").direction == "comparator"  # more operations


def test_directions_do_not_depend_on_row_order(tmp_path: Path) -> None:
    trials = [trial(f"t{i:02d}x2020", f"10.1000/t{i}", (3.0 + 0.1 * i, 2.0, 30 + i), (3.3, 2.0, 30), weeks=(4, 8, 26))
              for i in range(6)]  # fmt: skip
    ref = directions(load(build(tmp_path / "a", *trials)))
    rng = random.Random(7)
    for k in range(3):
        shuffled = [(s, a, rng.sample(o, len(o))) for s, a, o in rng.sample(trials, len(trials))]
        got = directions(load(build(tmp_path / f"s{k}", *shuffled)))
        pd.testing.assert_frame_equal(got, ref)
    assert set(ref["window"]) == {"short", "intermediate"} and ref.groupby(CELL).size().max() == 6
