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
