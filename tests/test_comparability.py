"""The comparability rules (explorer.analysis.comparability) as effects(), explain() and pool() apply them."""

from __future__ import annotations

import csv
import math
import random
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from explorer.analysis import comparability as rules
from explorer.analysis.effects import ALIKE, POOL_COLUMNS, effects, explain, pool
from explorer.analysis.pooling import pool_arrays
from explorer.analysis.summary import how_sure
from explorer.analysis.windows import to_weeks
from explorer.data import load

from .builders import make_package
from .conftest import DATA
from .test_effects import build, trial


def test_strict_definition_turns_local_anaesthetic_placebos_active() -> None:
    arms = pd.DataFrame(
        {
            "therapy": ["local_anaesthetic", "saline", "saline", "sham", "epidural_steroid"],
            "agent_class": ["local_anaesthetic", "saline", "saline", "none", "corticosteroid"],
            "local_anaesthetic_added": [None, None, True, None, None],
            "comparator_kind": ["placebo_sham", "placebo_sham", "placebo_sham", "placebo_sham", None],
        }
    )
    assert list(rules.comparator_class(arms, "cochrane")[:4]) == ["placebo_sham"] * 4
    strict = rules.comparator_class(arms, "strict")
    assert list(strict[:4]) == ["active", "placebo_sham", "active", "placebo_sham"]
    assert pd.isna(strict.iloc[4])
    with pytest.raises(ValueError, match="cochrane or strict"):
        rules.comparator_class(arms, "lenient")


def test_parent_chains_resolve_to_the_root() -> None:
    st = pd.DataFrame({"study_id": ["a", "b", "c", "d"], "parent_id": [None, "a", "b", None]})
    assert list(rules.cohort_roots(st)) == ["a", "a", "a", "d"]


def test_time_placement_midpoint_and_anchor_offset() -> None:
    rows = pd.DataFrame(
        {
            "time_value": [13.0, 1.0, 1.0, 0.0],
            "time_value_max": [28.0, np.nan, np.nan, np.nan],
            "time_unit": ["month", "month", "month", "week"],
            "time_anchor": ["", "after the second injection", "after the last injection", ""],
            "anchor_offset_weeks": [np.nan, 2.0, np.nan, np.nan],
            "time_source": ["stated", "stated", "primary_endpoint", "stated"],
        }
    )
    placed = rules.place_in_time(rows, to_weeks)
    assert placed["time_weeks"].tolist() == pytest.approx([(13 + 28) / 2 * 52 / 12, 52 / 12 + 2, 52 / 12, 0.0])
    notes = placed["time_note"].tolist()
    assert "midpoint" in notes[0] and "shifted 2 weeks" in notes[1]
    assert "placed as printed" in notes[2] and "primary endpoint" in notes[2] and notes[3] == ""


def test_small_groups_use_t_and_the_printed_level() -> None:
    z95 = rules.critical_value(95.0)
    assert z95 == pytest.approx(1.959963984540054)
    assert rules.critical_value(90.0) == pytest.approx(1.6448536269514722)
    assert rules.critical_value(95.0, 11.0) == pytest.approx(2.200985160082949)  # qt(0.975, 11)
    df = rules.small_sample_df(np.array(["final", "final", "mean_difference", "mean_difference"]), np.array([12, 80, 24, 200]))
    assert df[0] == 11 and np.isnan(df[1]) and df[2] == 22 and np.isnan(df[3])


def test_se_from_an_exact_p_value() -> None:
    se = rules.se_from_p(np.array([-1.5, 2.0, 0.0]), np.array([0.05, 0.5, 0.2]))
    assert se[0] == pytest.approx(1.5 / 1.959963984540054)
    assert se[1] == pytest.approx(2.0 / 0.6744897501960817)
    assert np.isnan(se[2])  # a zero estimate fixes no SE


def _md_row(sid: str, arm: str, comp: str, md: str, **extra) -> dict:
    return dict(
        outcome_id=f"{sid}_001",
        study_id=sid,
        arm_id=arm,
        comparator_arm_id=comp,
        measure="mean_difference",
        contrast_basis="final",
        mean=md,
        time_value="6",
        **extra,
    )


def _two_arm(sid: str) -> list[dict]:
    return [
        dict(study_id=sid, arm_id="steroid"),
        dict(study_id=sid, arm_id="control", therapy="saline", agent_class="saline", role="comparator",
             comparator_kind="placebo_sham"),
    ]  # fmt: skip


def test_ci_level_and_p_value_conversions_reach_the_effect(tmp_path: Path) -> None:
    studies = [dict(study_id=s, label=s, doi=f"10.1000/{s}") for s in ("aaa2020", "bbb2020", "ccc2020")]
    arms = [*_two_arm("aaa2020"), *_two_arm("bbb2020"), *_two_arm("ccc2020")]
    outs = [
        _md_row("aaa2020", "steroid", "control", "-1.0", ci_lb="-1.8225", ci_ub="-0.1775", ci_level="90"),
        _md_row("bbb2020", "steroid", "control", "-1.0", ci_lb="-1.8225", ci_ub="-0.1775", ci_level="95"),
        _md_row("ccc2020", "steroid", "control", "-1.0", p_value="0.04", p_operator="="),
    ]
    e = effects(load(make_package(tmp_path / "d", studies, arms, outs)), "pain").set_index("study_id")
    assert math.sqrt(e.at["aaa2020", "vi"]) == pytest.approx(1.645 / (2 * 1.6448536269514722))
    assert math.sqrt(e.at["bbb2020", "vi"]) == pytest.approx(1.645 / (2 * 1.959963984540054))
    assert math.sqrt(e.at["ccc2020", "vi"]) == pytest.approx(1.0 / 2.053748910631823)  # qnorm(0.98)
    assert e.at["ccc2020", "se_from_p"] and e.at["ccc2020", "source"] == "MD from p-value"


def test_rows_other_than_whole_trial_participants_are_shown_not_pooled(tmp_path: Path) -> None:
    studies = [dict(study_id=s, label=s, doi=f"10.1000/{s}") for s in ("aaa2020", "bbb2020", "ccc2020", "ddd2020")]
    arms = [a for s in ("aaa2020", "bbb2020", "ccc2020", "ddd2020") for a in _two_arm(s)]
    outs = [
        _md_row("aaa2020", "steroid", "control", "-1.0", se="0.4"),
        _md_row("bbb2020", "steroid", "control", "-1.0", se="0.4", unit="joints"),
        _md_row("ccc2020", "steroid", "control", "-1.0", se="0.4", subgroup="women"),
        _md_row("ddd2020", "steroid", "control", "-10", se="4", instrument="vas", scale_max="100",
                scale_basis="inferred"),
    ]  # fmt: skip
    e = effects(load(make_package(tmp_path / "d", studies, arms, outs)), "pain")
    x = explain(e).set_index("study_id")
    assert x.at["aaa2020", "status"] == "pooled"
    assert x.at["bbb2020", "reason"].startswith("unit:")
    assert x.at["ccc2020", "reason"].startswith("subgroup:")
    assert x.at["ddd2020", "reason"].startswith("scale:")
    assert int(pool(e)["k"].iloc[0]) == 1
    assert int(pool(e, inferred_scales=True)["k"].iloc[0]) == 2


def test_one_per_cohort_prefers_the_primary_row_then_itt(tmp_path: Path) -> None:
    s, a, o = trial("aaa2020", "10.1000/a", (3.0, 2.0, 40), (4.5, 2.5, 38), weeks=(4, 8))
    for row in o:
        row["primary"] = "true" if row["time_value"] == 8 else "false"
    e = effects(load(build(tmp_path, (s, a, o))), "pain")
    x = explain(e)
    chosen = x[x["status"] == "pooled"]
    assert len(chosen) == 1 and chosen["time_weeks"].iloc[0] == 8  # primary beats nearer-to-centre 4
    assert x[x["status"] != "pooled"]["reason"].iloc[0].startswith("one-per-cohort:")


def test_multi_arm_trial_is_combined_not_dropped(tmp_path: Path) -> None:
    """Two steroid arms against one placebo: the arms are merged (Handbook Table 6.5.a)."""
    sid = "mmm2020"
    studies = [dict(study_id=sid, label="Mmm 2020", doi="10.1000/m")]
    arms = [
        dict(study_id=sid, arm_id="tf", approach="transforaminal"),
        dict(study_id=sid, arm_id="il", approach="interlaminar"),
        dict(study_id=sid, arm_id="pl", therapy="saline", agent_class="saline", role="comparator",
             comparator_kind="placebo_sham"),
    ]  # fmt: skip
    vals = {"tf": (3.0, 2.0, 30), "il": (3.6, 2.4, 34), "pl": (4.5, 2.5, 33)}
    outs = [
        dict(outcome_id=f"{sid}_{i:03d}", study_id=sid, arm_id=arm, mean=m, sd=sd, n=n)
        for i, (arm, (m, sd, n)) in enumerate(vals.items(), start=1)
    ]
    e = effects(load(make_package(tmp_path / "d", studies, arms, outs)), "pain")
    assert len(e) == 2
    x = explain(e)
    assert (x["status"] == "combined").sum() == 2
    merged = x[x["status"] == "pooled"].iloc[0]
    n1, n2 = 30 + 34, 33
    m1 = (30 * 3.0 + 34 * 3.6) / n1
    sd1 = math.sqrt((29 * 4.0 + 33 * 5.76 + 30 * 34 / n1 * 0.36) / (n1 - 1))
    assert merged["yi"] == pytest.approx(m1 - 4.5)
    assert merged["vi"] == pytest.approx(sd1**2 / n1 + 2.5**2 / n2)
    p = pool(e)
    assert int(p["k"].iloc[0]) == 1 and p["n_participants"].iloc[0] == 97


def test_sd_imputed_from_other_studies_and_switchable(tmp_path: Path) -> None:
    """Three donor studies of the same instrument and scale (rule 'imputed-sd')."""
    t1 = trial("aaa2020", "10.1000/a", (3.0, 2.0, 40), (4.5, 2.5, 38))
    t2 = trial("bbb2020", "10.1000/b", (2.5, 1.5, 50), (3.1, 2.0, 52))
    t4 = trial("ddd2020", "10.1000/d", (3.5, 2.2, 20), (4.0, 2.4, 21))
    t3 = trial("ccc2020", "10.1000/c", (4.0, "", 30), (4.2, "", 31))
    e = effects(load(build(tmp_path, t1, t2, t3, t4)), "pain")
    row = e.set_index("study_id").loc["ccc2020"]
    ss = 39 * 4 + 37 * 6.25 + 49 * 2.25 + 51 * 4 + 19 * 2.2**2 + 20 * 2.4**2
    pooled_sd = math.sqrt(ss / (39 + 37 + 49 + 51 + 19 + 20))
    assert row["sd_imputed"] and row["vi"] == pytest.approx(pooled_sd**2 / 30 + pooled_sd**2 / 31)
    p = pool(e)
    assert int(p["k"].iloc[0]) == 4 and p["imputed_sd_rows"].iloc[0] == row["row_id"]
    assert int(p["n_imputed_sd"].iloc[0]) == 1
    assert int(pool(e, imputed_sd=False)["k"].iloc[0]) == 3


def test_pool_takes_a_plain_frame_and_keeps_one_shape() -> None:
    plain = pd.DataFrame({"yi": [-0.5, -0.2, -0.8], "vi": [0.04, 0.05, 0.06]})
    p = pool(plain, by=[])
    ref = pool_arrays(plain.yi, plain.vi, method="REML", test="adhoc")
    assert p["estimate"].iloc[0] == pytest.approx(ref["estimate"][0], abs=1e-12)
    assert p["ci_lb"].iloc[0] == pytest.approx(ref["ci_lb"][0], abs=1e-12)
    assert list(p.columns) == [*ALIKE, *POOL_COLUMNS]
    empty = pool(plain.iloc[:0], by=[])
    assert list(empty.columns) == list(p.columns) and empty.empty
    with pytest.raises(ValueError, match="yi and vi"):
        pool(pd.DataFrame({"yi": [1.0]}))


def test_prediction_interval_only_from_three_studies_and_ratios_exponentiated() -> None:
    two = pd.DataFrame({"yi": [0.2, 0.5], "vi": [0.04, 0.05], "measure": "RR"})
    p2 = pool(two, by=[])
    assert np.isnan(p2["pi_lb"].iloc[0]) and np.isnan(p2["exp_pi_lb"].iloc[0])
    assert p2["exp_estimate"].iloc[0] == pytest.approx(math.exp(p2["estimate"].iloc[0]))
    three = pd.DataFrame({"yi": [0.2, 0.5, 0.1], "vi": [0.04, 0.05, 0.03], "measure": "MD"})
    p3 = pool(three, by=[])
    assert np.isfinite(p3["pi_lb"].iloc[0]) and np.isnan(p3["exp_estimate"].iloc[0])


def test_how_sure_uses_the_pool_own_k() -> None:
    one = {"k": 1, "n_participants": 400, "high_rob": 0, "ci_lb": -1.0, "ci_ub": -0.2, "I2": 0.0}
    text = how_sure(one)["text"]
    assert "a single trial, not a pool" in text and "not a GRADE rating" in text
    many = {"k": 5, "n_participants": 900, "high_rob": 0, "ci_lb": -1.0, "ci_ub": -0.2, "I2": 10.0,
            "pi_lb": -1.4, "pi_ub": -0.1}  # fmt: skip
    assert how_sure(many)["level"] == "moderate"
    assert how_sure({**many, "ci_ub": 0.3})["level"] == "low"


def _shuffled_copy(src: Path, dest: Path, seed: int) -> Path:
    shutil.copytree(src, dest)
    rng = random.Random(seed)
    for p in dest.glob("*.csv"):
        with open(p, newline="", encoding="utf-8") as fh:
            r = csv.DictReader(fh)
            header, rows = r.fieldnames, list(r)
        rng.shuffle(rows)
        with open(p, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
    return dest


def _all_pools(data: Path, seed: int | None = None) -> pd.DataFrame:
    """Every pool of the package; with ``seed``, the effect rows are also shuffled before pooling
    (so both the CSV order and the order effects() hands to pool() are put to the test)."""
    ev = load(data)
    frames = []
    for outcome, measure in (("pain", "MD"), ("function", "MD"), ("pain", "SMD"), ("responders", "RR"),
                             ("responders", "RD"), ("surgery_avoided", "RR")):  # fmt: skip
        e = effects(ev, outcome, measure)
        if seed is not None:
            e = e.sample(frac=1.0, random_state=seed)
        p = pool(e, by=["therapy", "window", "comparator_kind"], inferred_scales=True)
        frames.append(p)
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values([*["therapy", "window", "comparator_kind"], *ALIKE]).reset_index(drop=True)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shuffling_rows_changes_no_pooled_figure(tmp_path: Path, seed: int) -> None:
    """Ties between candidate rows are broken by ids, never by row order."""
    base = _all_pools(DATA)
    assert len(base) >= 5
    shuffled = _all_pools(_shuffled_copy(DATA, tmp_path / "d", seed), seed)
    pd.testing.assert_frame_equal(base, shuffled, check_exact=False, rtol=1e-12)


# --------------------------------------------------------------------------- issue 21 rules


def _vas_trial(sid: str, values: dict, basis: str = "inferred", scale_max: str = "10") -> tuple:
    """A two-arm VAS trial at 6 weeks: ``values`` maps arm -> (mean, sd, n) on the printed scale."""
    s = dict(study_id=sid, label=sid.title(), doi=f"10.1000/{sid}")
    arms = _two_arm(sid)
    outs = [
        dict(outcome_id=f"{sid}_{i:03d}", study_id=sid, arm_id=arm, instrument="vas", scale_max=scale_max,
             scale_basis=basis, mean=m, sd=sd, n=n)
        for i, (arm, (m, sd, n)) in enumerate(values.items(), start=1)
    ]  # fmt: skip
    return s, arms, outs


def test_scale_derived_by_arithmetic_pools_by_default(tmp_path: Path) -> None:
    """Rule 'scale': a VAS whose own numbers exceed 10 is 0-100 ('derived', pooled); a VAS taken as
    0-10 because no value exceeds 10 stays 'inferred' (left out unless asked)."""
    big = _vas_trial("aaa2020", {"steroid": (30.0, 12.0, 40), "control": (45.0, 14.0, 40)}, scale_max="100")
    # entered as 0-10 although an SD of 10.5 is impossible there: the arithmetic wins
    wrong = _vas_trial("bbb2020", {"steroid": (6.0, 10.5, 30), "control": (8.0, 9.0, 30)})
    small = _vas_trial("ccc2020", {"steroid": (3.0, 2.0, 30), "control": (4.0, 2.0, 30)})
    ev = load(build(tmp_path, big, wrong, small))
    e = effects(ev, "pain").set_index("study_id")
    assert e.at["aaa2020", "scale_basis"] == "derived" and not e.at["aaa2020", "scale_inferred"]
    assert e.at["aaa2020", "yi"] == pytest.approx(-1.5)  # 30 - 45 on 0-100 is -1.5 on 0-10
    assert e.at["bbb2020", "scale_basis"] == "derived" and e.at["bbb2020", "yi"] == pytest.approx(-0.2)
    assert e.at["ccc2020", "scale_basis"] == "inferred" and e.at["ccc2020", "scale_inferred"]
    x = explain(e.reset_index()).set_index("study_id")
    assert x.at["aaa2020", "status"] == "pooled" and x.at["bbb2020", "status"] == "pooled"
    assert x.at["ccc2020", "reason"].startswith("scale:")
    assert int(pool(e.reset_index())["k"].iloc[0]) == 2
    assert int(pool(e.reset_index(), inferred_scales=True)["k"].iloc[0]) == 3


def test_derive_scales_reads_every_number_of_the_instrument_in_the_study() -> None:
    rows = pd.DataFrame(
        {
            "study_id": ["a", "a", "b", "b", "c"],
            "instrument": ["vas", "vas", "vas", "vas", "nrs"],
            "domain": ["pain_leg", "pain_back", "pain_leg", "pain_leg", "pain_leg"],
            "measure": ["mean_difference", "final", "final", "final", "final"],
            "scale_min": [np.nan, 0.0, 0.0, 0.0, np.nan],
            "scale_max": [np.nan, 10.0, 10.0, 10.0, np.nan],
            "scale_basis": [None, "inferred", "inferred", "inferred", None],
            "higher_is_better": pd.array([pd.NA, False, False, False, pd.NA], dtype="boolean"),
            "mean": [11.2, 3.0, 3.0, 4.0, 5.0],
            "ci_lb": [-1.0, np.nan, np.nan, np.nan, np.nan],
            "ci_ub": [23.4, np.nan, np.nan, np.nan, np.nan],
            "sd": [np.nan, np.nan, 2.0, 9.9, np.nan],
            "range_max": [np.nan, np.nan, np.nan, np.nan, 12.0],
        }
    )
    d = rules.derive_scales(rows)
    # study a: a difference of 11.2 (CI to 23.4) is impossible on 0-10: both of its VAS rows
    assert d["scale_basis"].tolist()[:2] == ["derived", "derived"] and d["scale_max"].tolist()[:2] == [100.0, 100.0]
    assert not d["higher_is_better"].iloc[0]  # a pain row: lower is better
    assert d["scale_basis"].tolist()[2:4] == ["inferred", "inferred"]  # b: nothing above 10
    assert d["scale_basis"].iloc[4] == "derived"  # an NRS without a range whose maximum is 12


def test_adjusted_contrast_is_preferred_to_a_baseline_only_one(tmp_path: Path) -> None:
    """D1: covariate-adjusted before adjusted-for-baseline, before the row-id tie-break."""
    sid = "aaa2020"
    outs = [
        {**_md_row(sid, "steroid", "control", "-1.0", se="0.4"), "contrast_basis": "adjusted_baseline"},
        {**_md_row(sid, "steroid", "control", "-0.8", se="0.4"), "contrast_basis": "adjusted", "outcome_id": f"{sid}_002"},
    ]  # fmt: skip
    studies = [dict(study_id=sid, label="Aaa 2020", doi="10.1000/a")]
    e = effects(load(make_package(tmp_path / "d", studies, _two_arm(sid), outs)), "pain")
    x = explain(e)
    assert x.loc[x["status"] == "pooled", "row_id"].tolist() == [f"{sid}_002"]
    assert set(e["source"]) == {"reported MD (adjusted)", "reported MD (adjusted for baseline)"}


def test_reported_contrast_without_n_uses_its_arms_sizes(tmp_path: Path) -> None:
    """D3: a printed 95% CI of a difference with no n of its own: t with n1 + n2 - 2 df where the
    arms' randomised numbers are known, the normal where they are not."""
    studies = [dict(study_id=s, label=s, doi=f"10.1000/{s}") for s in ("aaa2020", "bbb2020")]
    arms = _two_arm("aaa2020") + _two_arm("bbb2020")
    for a in arms[:2]:
        a["n_randomised"] = "20"
    outs = [_md_row(s, "steroid", "control", "-1.0", ci_lb="-2.0", ci_ub="0.0") for s in ("aaa2020", "bbb2020")]
    e = effects(load(make_package(tmp_path / "d", studies, arms, outs)), "pain").set_index("study_id")
    assert math.sqrt(e.at["aaa2020", "vi"]) == pytest.approx(1.0 / 2.0243941639119694)  # qt(0.975, 38)
    assert math.sqrt(e.at["bbb2020", "vi"]) == pytest.approx(1.0 / 1.959963984540054)


def _cohort_pair(active_a, active_b) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "yi": [-1.0, -0.5],
            "vi": [0.1, 0.1],
            "study_id": ["s1", "s1"],
            "row_id": ["a", "b"],
            "comparator_arm_id": ["ca", "cb"],
            "placebo_is_active": pd.array([active_a, active_b], dtype="boolean"),
        }
    )


def test_unrecorded_placebo_activity_is_not_taken_for_inert() -> None:
    """D8: inert, then not recorded, then active, before the row-id tie-break."""
    x = explain(_cohort_pair(pd.NA, False), by=[])
    assert x.loc[x["status"] == "pooled", "row_id"].tolist() == ["b"]  # ids alone would pick 'a'
    x = explain(_cohort_pair(True, pd.NA), by=[])
    assert x.loc[x["status"] == "pooled", "row_id"].tolist() == ["b"]
    assert rules.PLACEBO_ACTIVITY_RANK[False] < rules.PLACEBO_ACTIVITY_RANK[None] < rules.PLACEBO_ACTIVITY_RANK[True]


def test_sd_not_imputed_from_two_donors_and_the_reason_is_said(tmp_path: Path) -> None:
    """Rule 'imputed-sd': at least three donor studies; otherwise the row stays without a variance
    and explain() says why."""
    t1 = trial("aaa2020", "10.1000/a", (3.0, 2.0, 40), (4.5, 2.5, 38))
    t2 = trial("bbb2020", "10.1000/b", (2.5, 1.5, 50), (3.1, 2.0, 52))
    t3 = trial("ccc2020", "10.1000/c", (4.0, "", 30), (4.2, "", 31))
    e = effects(load(build(tmp_path, t1, t2, t3)), "pain")
    row = e.set_index("study_id").loc["ccc2020"]
    assert not row["sd_imputed"] and np.isnan(row["vi"]) and "fewer than the 3" in row["sd_note"]
    x = explain(e).set_index("study_id")
    assert x.at["ccc2020", "status"] == "left out" and x.at["ccc2020", "reason"].startswith("imputed-sd:")
    assert int(pool(e)["k"].iloc[0]) == 2


def test_sd_donors_share_instrument_and_scale(tmp_path: Path) -> None:
    """Donors on another scale (VAS 0-100, VAS 0-10 inferred) do not lend an SD to an NRS 0-10."""
    donors = [
        _vas_trial(f"v{i}x2020", {"steroid": (30.0, 20.0, 30), "control": (40.0, 20.0, 30)}, "stated", "100")
        for i in range(3)
    ]
    t3 = trial("ccc2020", "10.1000/c", (4.0, "", 30), (4.2, "", 31))
    e = effects(load(build(tmp_path, *donors, t3)), "pain").set_index("study_id")
    assert not e.at["ccc2020", "sd_imputed"] and "0 other studies" in e.at["ccc2020", "sd_note"]


def test_implausibly_small_imputed_sd_is_refused(tmp_path: Path) -> None:
    """An SD below a tenth of the scale's range (1 point on 0-10) is refused, as the audit's 0.906."""
    donors = [trial(f"d{i}x2020", f"10.1000/d{i}", (3.0, 0.6, 30), (3.5, 0.7, 30)) for i in range(3)]
    t3 = trial("ccc2020", "10.1000/c", (4.0, "", 30), (4.2, "", 31))
    e = effects(load(build(tmp_path, *donors, t3)), "pain")
    row = e.set_index("study_id").loc["ccc2020"]
    assert not row["sd_imputed"] and "below a tenth of the scale's range" in row["sd_note"]
    assert explain(e).set_index("study_id").at["ccc2020", "reason"].startswith("imputed-sd:")


def test_reference_sd_with_its_source_and_the_donor_range(monkeypatch) -> None:
    key = ("nrs", 0.0, 10.0, "final")
    rec = pd.DataFrame({"study_id": ["r"], "instrument": ["nrs"], "scale_min": [0.0], "scale_max": [10.0], "kind": ["final"]})
    none = pd.DataFrame({c: pd.Series(dtype=object) for c in ["study_id", "instrument", "scale_min", "scale_max", "kind", "sd", "n"]})
    monkeypatch.setitem(rules.REFERENCE_SD, key, (2.5, "Test 2000"))
    sd, note = rules.impute_sd(rec, none, np.array([10.0]))
    assert sd[0] == 2.5 and "reference SD from Test 2000" in note[0]
    one = pd.DataFrame({"study_id": ["d"], "instrument": ["nrs"], "scale_min": [0.0], "scale_max": [10.0],
                        "kind": ["final"], "sd": [1.5], "n": [40.0]})  # fmt: skip
    sd, note = rules.impute_sd(rec, one, np.array([10.0]))
    assert np.isnan(sd[0]) and "outside its donors' range" in note[0]


def _percent_trial(sid: str, pct: tuple, arm_n=("20", "20"), row_n=("", ""), **row) -> tuple:
    s = dict(study_id=sid, label=sid.title(), doi=f"10.1000/{sid}")
    arms = _two_arm(sid)
    for a, n in zip(arms, arm_n, strict=True):
        a["n_randomised"] = n
    outs = [
        dict(outcome_id=f"{sid}_{i:03d}", study_id=sid, arm_id=arm, domain="responders",
             instrument="responder_definition", scale_min="", scale_max="", scale_basis="", higher_is_better="",
             measure="responders", percent=p, n=n, responder_definition="at least 50% pain relief",
             responder_class="pain_relief_50", time_value="6", **row)
        for i, (arm, p, n) in enumerate(zip(("steroid", "control"), pct, row_n, strict=True), start=1)
    ]  # fmt: skip
    return s, arms, outs


def test_events_from_printed_percentages(tmp_path: Path) -> None:
    """Rule 'derived-events': percent x denominator, rounded half up; the analysed n before the
    randomised one; never without a denominator; flagged, counted, and switchable."""
    a = _percent_trial("aaa2020", ("12.5", "50"))  # 2.5 -> 3 (halves up), 10
    b = _percent_trial("bbb2020", ("70", "63"), row_n=("30", "30"))  # 21, 18.9 -> 19 of 30 analysed
    c = _percent_trial("ccc2020", ("40", "20"), arm_n=("", ""))  # no denominator: no count
    e = effects(load(build(tmp_path, a, b, c)), "responders", "RR").set_index("study_id")
    assert "ccc2020" not in e.index
    assert (e.at["aaa2020", "e1"], e.at["aaa2020", "n1"], e.at["aaa2020", "e2"], e.at["aaa2020", "n2"]) == (3, 20, 10, 20)
    assert (e.at["bbb2020", "e1"], e.at["bbb2020", "n1"], e.at["bbb2020", "e2"]) == (21, 30, 19)
    assert e["events_derived"].all() and (e["source"] == "arms' percentages").all()
    assert e.at["aaa2020", "yi"] == pytest.approx(math.log((3 / 20) / (10 / 20)))
    p = pool(e.reset_index())
    assert int(p["k"].iloc[0]) == 2 and int(p["n_derived_events"].iloc[0]) == 2
    assert p["derived_events_rows"].iloc[0] == "aaa2020_001+aaa2020_002; bbb2020_001+bbb2020_002"
    x = explain(e.reset_index(), derived_events=False)
    assert (x["status"] == "left out").all() and x["reason"].str.startswith("derived-events:").all()
    assert pool(e.reset_index(), derived_events=False).empty
    assert rules.events_from_percent([70.0, 12.5, np.nan], [30, 20, 10]).tolist()[:2] == [21.0, 3.0]


def test_responder_classes_hold_one_definition_each() -> None:
    """Rule 'responders' and D10: no catch-all class pools; the RMDQ's line is 5 of 24 points."""
    import json

    pkg = json.loads((DATA / "datapackage.json").read_text(encoding="utf-8"))
    out = next(r for r in pkg["resources"] if r["name"] == "outcomes")
    enum = next(f for f in out["schema"]["fields"] if f["name"] == "responder_class")["constraints"]["enum"]
    assert set(enum) == set(rules.POOLED_RESPONDER_CLASSES) | {"other"}
    assert not {"pain_relief_other", "function_improvement"} & set(enum)
    assert "other" not in rules.POOLED_RESPONDER_CLASSES


def test_unlike_responder_definitions_are_shown_not_pooled(tmp_path: Path) -> None:
    """Two trials whose definitions match no class ('other') never pool; one class does."""
    a = _percent_trial("aaa2020", ("40", "20"))
    b = _percent_trial("bbb2020", ("45", "25"))
    for _, _, outs in (a,):
        for o in outs:
            o.update(responder_definition="walking distance over 100 m", responder_class="other")
    e = effects(load(build(tmp_path, a, b)), "responders", "RR")
    x = explain(e).set_index("study_id")
    assert x.at["aaa2020", "reason"].startswith("alike:") and x.at["bbb2020", "status"] == "pooled"


def test_rmdq_minimal_important_change_is_5_of_24_points() -> None:
    """D10 (Ostelo 2008): the RMDQ's line is 5 of 24 points (20.8 % of its range), never the
    ODI's 10 %; where both instruments are shown no single line is drawn."""
    from explorer.analysis.harmonise import mic

    assert rules.mic_points("rmdq") == 5.0 and rules.mic_points("odi") == 10.0
    assert mic("function", ["rmdq"]) == pytest.approx(100 * 5 / 24)
    assert mic("function", ["odi"]) == 10.0 and mic("function", ["odi", "rmdq"]) is None


# --------------------------------------------------------------------------- rule 'comparison'


def _arm(**kw) -> dict:
    return {"therapy": "epidural_steroid", "approach": "transforaminal", "agent_class": "corticosteroid",
            "guidance": "fluoroscopy", "role": "intervention", **kw}  # fmt: skip


def _cmp(**kw) -> dict:
    return _arm(**{"role": "comparator", "comparator_kind": "active", **kw})


@pytest.mark.parametrize(
    ("arm", "comp", "expected"),
    [
        (_arm(), _cmp(approach="interlaminar"), ("approach", "transforaminal vs interlaminar", "approach")),
        (_arm(guidance="ultrasound"), _cmp(), ("guidance", "ultrasound vs fluoroscopy", "guidance")),
        (_arm(approach="caudal", guidance="ultrasound"), _cmp(),
         ("approach", "caudal vs transforaminal", "approach; guidance")),
        (_arm(therapy="prp", agent_class="prp"), _cmp(), ("other_therapy", "PRP vs steroid", "therapy")),
        (_arm(), _cmp(therapy="intramuscular_steroid", approach="intramuscular", guidance="not_applicable"),
         ("systemic_drug", "epidural steroid vs intramuscular steroid", "")),
        (_arm(agent_detail="triamcinolone 5 mg"), _cmp(agent_detail="triamcinolone 40 mg"),
         ("dose", "triamcinolone 5 mg vs 40 mg", "dose")),
        (_arm(agent_detail="dexamethasone 7.5 mg (nonparticulate)"),
         _cmp(agent_detail="triamcinolone 40 mg (particulate)"),
         ("agent", "dexamethasone vs triamcinolone (non-particulate vs particulate)", "agent")),
        (_arm(arm_label="steroid + ketamine"), _cmp(arm_label="steroid + saline"),
         ("agent", "with ketamine vs without", "agent")),
        (_arm(approach="interlaminar", arm_label="Parasagittal interlaminar ESI"),
         _cmp(approach="interlaminar", arm_label="Midline interlaminar ESI"),
         ("approach", "parasagittal vs midline", "approach")),
        (_arm(n_injections="1"), _cmp(n_injections="3"), ("injections", "injections: 1 vs 3", "injections")),
        (_arm(guidance="not_reported"), _cmp(), ("unclassified", "epidural steroid: two forms (what differs is "
                                                 "not recorded in the arms)", "")),
        (_arm(), _cmp(therapy="saline", agent_class="saline", comparator_kind="placebo_sham"),
         ("placebo_sham", "steroid vs saline", "")),
        (_arm(), _cmp(therapy="conservative", agent_class="none", comparator_kind="conservative"),
         ("conservative", "epidural steroid vs conservative care", "")),
    ],
)  # fmt: skip
def test_comparison_is_named_by_what_differs(arm, comp, expected) -> None:
    from explorer.analysis.comparisons import comparison_of

    assert comparison_of(arm, comp) == expected


def test_comparison_reaches_effects_and_pools_and_keeps_the_coarse_class(tmp_path: Path) -> None:
    studies = [dict(study_id=s, label=s, doi=f"10.1000/{s}") for s in ("aaa2020", "bbb2020", "ccc2020", "ddd2020")]
    arms, outs = [], []
    for sid, comp in [
        ("aaa2020", dict(approach="interlaminar")),
        ("bbb2020", dict(approach="interlaminar", guidance="ultrasound")),
        ("ccc2020", dict(approach="caudal")),
        ("ddd2020", dict(therapy="prp", agent_class="prp")),
    ]:
        arms += [dict(study_id=sid, arm_id="tf", n_randomised="40"),
                 dict(study_id=sid, arm_id="c", role="comparator", comparator_kind="active", n_randomised="40",
                      **comp)]  # fmt: skip
        outs.append(_md_row(sid, "tf", "c", "-0.5", ci_lb="-1.5", ci_ub="0.5"))
    e = effects(load(make_package(tmp_path / "d", studies, arms, outs)), "pain").set_index("study_id")
    assert set(e["comparator_kind"]) == {"active"}
    assert e["comparison"].to_dict() == {
        "aaa2020": "approach", "bbb2020": "approach", "ccc2020": "approach", "ddd2020": "other_therapy",
    }  # fmt: skip
    assert e.at["bbb2020", "differs"] == "approach; guidance"
    assert e.at["ccc2020", "comparison_label"] == "transforaminal vs caudal"
    coarse = pool(e.reset_index(), by=["therapy", "window", "comparator_kind"])
    assert coarse["k"].tolist() == [4]  # one coarse pool: every comparator is active
    fine = pool(e.reset_index(), by=["therapy", "window", "comparison"]).set_index("comparison")
    assert fine.at["approach", "k"] == 3 and fine.at["other_therapy", "k"] == 1
    why = explain(e.reset_index(), by=["therapy", "window", "comparison"])
    assert set(why["status"]) == {"pooled"}


def test_strict_definition_compares_a_local_anaesthetic_placebo_by_agent(tmp_path: Path) -> None:
    from explorer.analysis.comparisons import comparisons

    arms = pd.DataFrame(
        [
            dict(study_id="s", arm_id="st", **_arm(local_anaesthetic_added=True, comparator_kind=None)),
            dict(study_id="s", arm_id="la", **_arm(therapy="local_anaesthetic", agent_class="local_anaesthetic",
                 role="comparator", local_anaesthetic_added=True, comparator_kind="placebo_sham")),
        ]
    )  # fmt: skip
    get = lambda d: comparisons(arms, d).set_index("arm_id").loc["st", ["comparison", "comparison_label"]].tolist()  # noqa: E731
    assert get("cochrane") == ["placebo_sham", "steroid vs local anaesthetic"]
    assert get("strict") == ["agent", "steroid vs local anaesthetic alone"]


def test_directions_by_comparison(tmp_path: Path) -> None:
    from explorer.analysis.synthesis import CELL_BY_COMPARISON, directions, vote_counts

    studies = [dict(study_id=s, label=s, doi=f"10.1000/{s}") for s in ("aaa2020", "bbb2020")]
    arms = [
        dict(study_id="aaa2020", arm_id="tf", n_randomised="40"),
        dict(study_id="aaa2020", arm_id="il", approach="interlaminar", role="comparator", comparator_kind="active",
             n_randomised="40"),
        dict(study_id="aaa2020", arm_id="us", guidance="ultrasound", role="comparator", comparator_kind="active",
             n_randomised="40"),
        dict(study_id="bbb2020", arm_id="tf", n_randomised="40"),
        dict(study_id="bbb2020", arm_id="il", approach="interlaminar", role="comparator", comparator_kind="active",
             n_randomised="40"),
    ]  # fmt: skip
    outs = [
        {**_md_row("aaa2020", "tf", "il", "-0.5", ci_lb="-1.5", ci_ub="0.5"), "outcome_id": "aaa2020_001"},
        {**_md_row("aaa2020", "tf", "us", "0.5", ci_lb="-0.5", ci_ub="1.5"), "outcome_id": "aaa2020_002"},
        _md_row("bbb2020", "tf", "il", "-0.7", ci_lb="-1.5", ci_ub="0.1"),
    ]
    ev = load(make_package(tmp_path / "d", studies, arms, outs))
    fine = directions(ev, outcomes=[("pain", "MD")], by_comparison=True)
    got = {(r.study_id, r.comparison): r.direction for r in fine.itertuples()}
    assert got == {("aaa2020", "approach"): "arm", ("aaa2020", "guidance"): "comparator", ("bbb2020", "approach"): "arm"}
    votes = vote_counts(fine, by_comparison=True).set_index("comparison")
    assert list(votes.columns[: len(CELL_BY_COMPARISON) - 1]) == [c for c in CELL_BY_COMPARISON if c != "comparison"]
    assert votes.at["approach", "n_favour"] == 2 and votes.at["guidance", "n_against"] == 1
    coarse = directions(ev, outcomes=[("pain", "MD")])
    assert len(coarse) == 2  # one direction per trial in the coarse cell
    assert set(coarse.loc[coarse["study_id"] == "aaa2020", "comparison"].iloc[0].split("; ")) <= {"approach", "guidance"}
