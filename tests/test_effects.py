"""From tables to effects and pools: orientation, derivations, one study per pool, alike groups."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from explorer.analysis.effects import effects, pool
from explorer.analysis.pooling import pool_arrays
from explorer.data import load

from .builders import make_package
from .conftest import DATA


def trial(sid: str, doi: str, steroid: tuple, control: tuple, weeks=(6,), comparator="placebo_sham", **study):
    """Two-arm trial: (mean, sd, n) per arm at each time in ``weeks`` on NRS 0-10."""
    s = dict(study_id=sid, label=sid.title(), doi=doi, **study)
    arms = [
        dict(study_id=sid, arm_id="steroid"),
        dict(
            study_id=sid,
            arm_id="control",
            therapy="saline",
            agent_class="saline",
            role="comparator",
            comparator_kind=comparator,
        ),
    ]
    outs = []
    for t in weeks:
        for arm, (m, sd, n) in (("steroid", steroid), ("control", control)):
            outs.append(
                dict(
                    outcome_id=f"{sid}_{len(outs) + 1:03d}",
                    study_id=sid,
                    arm_id=arm,
                    time_value=t,
                    mean=m,
                    sd=sd,
                    n=n,
                )
            )
    return s, arms, outs


def build(tmp_path: Path, *trials) -> Path:
    studies, arms, outs = [], [], []
    for s, a, o in trials:
        studies.append(s)
        arms += a
        outs += o
    return make_package(tmp_path / "d", studies, arms, outs)


def test_md_from_arm_finals_matches_formula(tmp_path: Path) -> None:
    ev = load(build(tmp_path, trial("aaa2020", "10.1000/a", (3.0, 2.0, 40), (4.5, 2.5, 38))))
    e = effects(ev, "pain")
    assert len(e) == 1
    r = e.iloc[0]
    assert r.yi == pytest.approx(-1.5)
    assert r.vi == pytest.approx(2.0**2 / 40 + 2.5**2 / 38)
    assert r.source == "arms' final values" and r.window == "short" and r.comparator_kind == "placebo_sham"


def test_reported_md_is_preferred_and_oriented(tmp_path: Path) -> None:
    s, a, o = trial("bbb2021", "10.1000/b", (3.0, 2.0, 40), (4.5, 2.5, 38))
    # the paper reports control minus steroid: the row is stored that way and must be turned round
    o.append(
        dict(
            outcome_id="bbb2021_099",
            study_id="bbb2021",
            arm_id="control",
            comparator_arm_id="steroid",
            time_value=6,
            measure="mean_difference",
            contrast_basis="adjusted",
            mean=1.2,
            ci_lb=0.2,
            ci_ub=2.2,
        )
    )
    ev = load(build(tmp_path, (s, a, o)))
    e = effects(ev, "pain")
    reported = e[e.source == "reported MD (adjusted)"].iloc[0]
    assert reported.arm_id == "steroid" and reported.yi == pytest.approx(-1.2)
    assert math.sqrt(reported.vi) == pytest.approx(2.0 / (2 * 1.959963984540054))
    p = pool(e, by=["therapy", "window"])
    assert p.loc[0, "k"] == 1 and p.loc[0, "estimate"] == pytest.approx(-1.2)  # reported MD chosen


def test_pool_one_study_per_cohort_and_matches_engine(tmp_path: Path) -> None:
    t1 = trial("ccc2019", "10.1000/c", (3.0, 2.0, 40), (4.5, 2.5, 38), weeks=(4, 8))
    t2 = trial("ddd2018", "10.1000/d", (2.0, 1.5, 60), (2.4, 1.6, 61), weeks=(6,))
    t3 = trial("eee2017", "10.1000/e", (5.0, 2.2, 25), (5.1, 2.0, 24), weeks=(6,))
    follow = trial("ccc2022", "10.1000/f", (3.1, 2.0, 40), (4.4, 2.5, 38), weeks=(6,), parent_id="ccc2019")
    ev = load(build(tmp_path, t1, t2, t3, follow))
    e = effects(ev, "pain")
    p = pool(e, by=["therapy", "window"], method="DL")
    assert p.loc[0, "k"] == 3  # ccc2019 (2 times) and its follow-up paper count once
    chosen = e[(e.study_id != "ccc2022") & ~((e.study_id == "ccc2019") & (e.time_weeks == 4))]
    ref = pool_arrays(chosen.yi.to_numpy(float), chosen.vi.to_numpy(float), method="DL")
    assert p.loc[0, "estimate"] == pytest.approx(ref["estimate"][0], abs=1e-12)
    assert p.loc[0, "tau2"] == pytest.approx(ref["tau2"][0], abs=1e-12)


def test_unlike_comparators_are_not_pooled(tmp_path: Path) -> None:
    t1 = trial("fff2019", "10.1000/g", (3.0, 2.0, 40), (4.5, 2.5, 38))
    t2 = trial("ggg2018", "10.1000/h", (2.0, 1.5, 60), (2.4, 1.6, 61), comparator="active")
    e = effects(load(build(tmp_path, t1, t2)), "pain")
    p = pool(e, by=["therapy", "window"])
    assert sorted(p["comparator_kind"]) == ["active", "placebo_sham"] and (p["k"] == 1).all()


def test_smd_and_binary_measures(tmp_path: Path) -> None:
    s, a, o = trial("hhh2020", "10.1000/i", (3.0, 2.0, 40), (4.5, 2.5, 38))
    for arm, ev_, tot in (("steroid", 20, 40), ("control", 10, 38)):
        o.append(
            dict(
                outcome_id=f"hhh2020_{len(o) + 1:03d}",
                study_id="hhh2020",
                arm_id=arm,
                domain="responders",
                instrument="responder_definition",
                scale_min="",
                scale_max="",
                scale_basis="",
                higher_is_better="",
                measure="responders",
                events=ev_,
                total=tot,
                responder_definition=">=50% relief",
                responder_class="pain_relief_50",
            )
        )
    ev = load(build(tmp_path, (s, a, o)))
    smd = effects(ev, "pain", measure="SMD").iloc[0]
    sp = math.sqrt((39 * 4.0 + 37 * 6.25) / 76)
    m = 76
    j = math.exp(math.lgamma(m / 2) - math.log(math.sqrt(m / 2)) - math.lgamma((m - 1) / 2))
    assert smd.yi == pytest.approx(j * (-1.5) / sp, rel=1e-9)
    rr = effects(ev, "responders", measure="RR").iloc[0]
    assert rr.yi == pytest.approx(math.log((20 / 40) / (10 / 38)))
    with pytest.raises(ValueError, match="needs a binary outcome"):
        effects(ev, "pain", measure="RR")


def test_effects_on_bundled_data_are_finite() -> None:
    ev = load(DATA)
    for outcome in ("pain", "function"):
        e = effects(ev, outcome)
        # a variance everywhere but on rows whose SD was not imputed, which say why (rule 'imputed-sd')
        said = e["sd_note"] != ""
        assert np.isfinite(e["yi"].astype(float)).all() and (e.loc[~said, "vi"].astype(float) >= 0).all()
        assert e.loc[said, "vi"].isna().all() and e.loc[said, "sd_note"].str.contains("SD").all()
        assert set(e["effect_kind"]) <= {"contrast", "within_arm"}
    p = pool(effects(ev, "pain"), by=["therapy", "window"])
    assert (p["k"] >= 1).all()


def _many(tmp_path: Path, k: int):
    rng = np.random.default_rng(7)
    trials = []
    for i in range(k):
        d = float(rng.normal(-1.0, 0.5))
        approach = "transforaminal" if i % 2 else "interlaminar"
        s, a, o = trial(f"t{i:02d}x2020", f"10.1000/t{i}", (4 + d, 2.0, 30 + i), (4.0, 2.1, 31 + i))
        a[0]["approach"] = approach
        trials.append((s, a, o))
    return load(build(tmp_path, *trials))


def test_leave_one_out_funnel_and_subgroups(tmp_path: Path) -> None:
    from explorer.analysis.effects import funnel, sensitivity, subgroups
    from explorer.analysis.pooling import egger_test, leave_one_out, subgroup_test

    ev = _many(tmp_path, 12)
    e = effects(ev, "pain")
    loo = sensitivity(e)
    assert len(loo) == 12
    ref = leave_one_out(e.yi.to_numpy(float), e.vi.to_numpy(float), test="adhoc")
    np.testing.assert_allclose(loo["estimate"].to_numpy(float), ref["estimate"], rtol=1e-12)
    points, test = funnel(e)
    assert len(points) == 12 and test is not None
    assert test["pval"] == pytest.approx(egger_test(e.yi.to_numpy(float), e.vi.to_numpy(float), test="adhoc")["pval"])
    table, sub = subgroups(e, "approach")
    assert sorted(table["approach"]) == ["interlaminar", "transforaminal"]
    ref_sub = subgroup_test(e.yi.to_numpy(float), e.vi.to_numpy(float), e.approach.to_numpy(), test="adhoc")
    assert sub["pval"] == pytest.approx(ref_sub["pval"])
    _, small = funnel(e.head(5))
    assert small is None  # Egger's test only where k >= 10


def test_sensitivity_needs_one_group(tmp_path: Path) -> None:
    from explorer.analysis.effects import sensitivity

    t1 = trial("fff2019", "10.1000/g", (3.0, 2.0, 40), (4.5, 2.5, 38))
    t2 = trial("ggg2018", "10.1000/h", (2.0, 1.5, 60), (2.4, 1.6, 61), comparator="active")
    e = effects(load(build(tmp_path, t1, t2)), "pain")
    with pytest.raises(ValueError, match="filter them to one group"):
        sensitivity(e)
