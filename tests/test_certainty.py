""""How sure" (explorer.analysis.certainty) and the two-trial rule: each rule has a test that
fails when the rule is broken (checked by breaking it: counting rob_not_assessed as nothing,
calling every CI that includes 0 imprecise, dropping the MID band, and not flagging k = 2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.testing import assert_allclose

from explorer.analysis import certainty, summary
from explorer.analysis.effects import pool
from explorer.analysis.pooling import few_studies, pool_arrays

BASE = {"k": 5, "n_participants": 900, "high_rob": 0, "rob_not_assessed": 0, "ci_lb": -1.0, "ci_ub": -0.2,
        "I2": 10.0, "pi_lb": -1.4, "pi_ub": -0.1, "measure": "MD", "outcome": "pain"}  # fmt: skip


def test_moved_with_a_re_export() -> None:
    assert summary.how_sure is certainty.how_sure
    assert summary.HOW_SURE_NOTE == certainty.HOW_SURE_NOTE


def test_risk_of_bias_not_assessed_is_a_concern() -> None:
    clean = certainty.how_sure(BASE)
    assert clean["level"] == "moderate" and clean["concerns"] == []
    unassessed = certainty.how_sure({**BASE, "rob_not_assessed": 5})
    assert unassessed["level"] == "low"
    assert "risk of bias not assessed for 5 of 5 trials" in unassessed["text"]
    # high and not assessed are one domain: one concern, both named
    both = certainty.how_sure({**BASE, "rob_not_assessed": 3, "high_rob": 2})
    assert both["level"] == "low" and len(both["concerns"]) == 1
    assert "2 trials of 5 at high risk of bias and risk of bias not assessed for 3 of 5" in both["text"]


def test_pool_counts_unassessed_trials_from_the_data() -> None:
    rows = pd.DataFrame({"yi": [-1.0, -0.5, -0.8], "vi": [0.1, 0.2, 0.1], "measure": "MD",
                         "risk_of_bias": ["low", "not_assessed", None]})  # fmt: skip
    p = pool(rows, by=[])
    assert p["rob_not_assessed"].iloc[0] == 2 and p["high_rob"].iloc[0] == 0
    assert "risk of bias not assessed for 2 of 3" in certainty.how_sure(p.iloc[0])["text"]


def test_precise_estimate_near_no_difference() -> None:
    # RR 0.95 (0.85 to 1.06): within GRADE's default 0.75-1.25 band, so precise, not a concern
    near = {**BASE, "measure": "RR", "outcome": "responders",
            "ci_lb": np.log(0.85), "ci_ub": np.log(1.06), "pi_lb": np.log(0.8), "pi_ub": np.log(1.1)}  # fmt: skip
    out = certainty.how_sure(near)
    assert out["level"] == "moderate", out
    assert "probably makes little or no difference to responders" in out["text"]
    assert "not a GRADE rating" in out["text"]
    # the same with one concern: 'may'
    assert "may make little or no difference" in certainty.how_sure({**near, "n_participants": 200})["text"]
    # a wide RR interval that includes 1 and 0.6 is imprecise
    wide = certainty.how_sure({**near, "ci_lb": np.log(0.6), "ci_ub": np.log(1.1)})
    assert wide["level"] == "low" and "includes no difference and an important effect" in wide["text"]
    # mean differences: no sourced between-group MID in the package, so no band unless passed
    md = {**BASE, "ci_lb": -0.3, "ci_ub": 0.2, "pi_lb": -0.5, "pi_ub": 0.4}
    assert certainty.how_sure(md)["level"] == "low"
    assert "little or no difference" in certainty.how_sure(md, mid=0.5)["text"]
    assert certainty.how_sure(md, mid=0.5)["level"] == "moderate"


def test_statements_follow_santesso() -> None:
    assert "the injection probably improves pain" in certainty.how_sure(BASE)["text"]
    assert "the injection may improve pain" in certainty.how_sure({**BASE, "n_participants": 100})["text"]
    worse = certainty.how_sure({**BASE, "ci_lb": 0.2, "ci_ub": 1.0, "pi_lb": 0.1, "pi_ub": 1.4})
    assert "probably worsens pain" in worse["text"]
    surgery = certainty.how_sure({**BASE, "measure": "RR", "outcome": "surgery", "ci_lb": 0.1, "ci_ub": 0.5,
                                  "pi_lb": 0.05, "pi_ub": 0.6})  # fmt: skip
    assert "probably worsens surgery" in surgery["text"]  # more operations with the injection
    very = certainty.how_sure({**BASE, "k": 1, "n_participants": 60, "rob_not_assessed": 1})
    assert very["level"] == "very low" and "very uncertain" in very["text"]
    assert "risk of bias not assessed for the trial" in very["text"]


# --------------------------------------------------------------------------- two trials


def test_two_trials_flagged_with_a_common_effect_interval() -> None:
    # two precise, discordant trials: HKSJ (ad hoc) is far wider than either trial's own interval
    rows = pd.DataFrame({"yi": [-2.5, -0.3], "vi": [0.09, 0.16], "measure": "MD"})
    p = pool(rows, by=[]).iloc[0]
    assert bool(p["few_studies"]) and bool(p["wider_than_trials"])
    fe = pool_arrays(rows.yi, rows.vi, method="FE")
    assert_allclose([p.fe_estimate, p.fe_ci_lb, p.fe_ci_ub], [fe["estimate"][0], fe["ci_lb"][0], fe["ci_ub"][0]])
    assert (p.ci_ub - p.ci_lb) > (p.fe_ci_ub - p.fe_ci_lb)
    text = summary.describe_pool({**p.to_dict(), "comparator_kind": "placebo_sham", "window": "short"})
    assert "Two trials only" in text and "wider than either trial's own" in text
    assert f"if both estimate one common effect, it is {p.fe_estimate:.1f}" in text
    # three trials: no flag, no common-effect columns, no sentence
    three = pool(pd.concat([rows, rows.iloc[[0]]], ignore_index=True), by=[]).iloc[0]
    assert not bool(three["few_studies"]) and np.isnan(three["fe_estimate"])
    assert summary.two_trials_sentence(three.to_dict()) == ""


def test_two_trials_ratio_and_grouping() -> None:
    y = np.log([0.8, 0.9, 0.7, 1.1, 1.0])
    v = np.array([0.02, 0.03, 0.05, 0.04, 0.02])
    codes = np.array([0, 0, 1, 1, 1])
    re = pool_arrays(y, v, codes, test="adhoc")
    out = few_studies(y, v, codes, re["ci_lb"], re["ci_ub"])
    assert out["few_studies"].tolist() == [True, False]
    assert np.isfinite(out["fe_estimate"][0]) and np.isnan(out["fe_estimate"][1])
    rows = pd.DataFrame({"yi": y[:2], "vi": v[:2], "measure": "RR"})
    p = pool(rows, by=[]).iloc[0]
    assert_allclose(p.exp_fe_estimate, np.exp(p.fe_estimate))
    text = summary.describe_pool({**p.to_dict(), "comparator_kind": "placebo_sham", "window": "short"})
    assert f"it is {p.exp_fe_estimate:.2f} (95% CI" in text and "points" not in text.split("Two trials")[1]
