"""Adverse-event rates: Wilson intervals, denominators counted once, 'not reported' is not zero."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.analysis.harms import describe_rate, per_study, totals, wilson


def test_wilson_matches_newcombe_1998_examples() -> None:
    """Newcombe (Stat Med 1998;17:857), method 3, as R's prop.test(correct = FALSE) prints them."""
    lb, ub = wilson(np.array([81, 15, 0, 1]), np.array([263, 148, 20, 29]))
    np.testing.assert_allclose(lb, [0.2553, 0.0624, 0.0, 0.0061], atol=5e-5)
    np.testing.assert_allclose(ub, [0.3662, 0.1605, 0.1611, 0.1718], atol=5e-5)
    assert np.isnan(wilson(np.array([0]), np.array([0]))[0][0])


def _ae(rows) -> pd.DataFrame:
    cols = ["ae_id", "study_id", "arm_id", "event_type", "events", "total", "unit", "therapy", "label"]
    return pd.DataFrame(rows, columns=cols).assign(description="", locator="abstract")


def test_subtypes_add_events_but_not_denominators() -> None:
    ae = _ae([
        ("a_1", "a", "x", "pain_flare", 12, 300, "injections", "esi", "A"),  # back
        ("a_2", "a", "x", "pain_flare", 4, 300, "injections", "esi", "A"),  # leg
        ("b_1", "b", "x", "pain_flare", 3, 279, "injections", "esi", "B"),
    ])  # fmt: skip
    s = per_study(ae).set_index("study_id")
    assert s.at["a", "events"] == 16 and s.at["a", "total"] == 300 and s.at["a", "overlap"]
    t = totals(ae).iloc[0]
    assert (t["events"], t["total"], t["reporting_studies"]) == (19, 579, 2)
    assert "upper bound" in t["basis"] and "2 studies" in t["basis"]


def test_not_reported_is_not_zero_and_units_never_mix() -> None:
    ae = _ae([
        ("a_1", "a", "x", "infection", 0, 120, "participants", "esi", "A"),
        ("b_1", "b", "x", "headache", 2, 80, "participants", "esi", "B"),
        ("c_1", "c", "x", "infection", 1, 5000, "injections", "esi", "C"),
    ])  # fmt: skip
    t = totals(ae).set_index(["event_type", "unit"])
    inf = t.loc[("infection", "participants")]
    assert inf["events"] == 0 and inf["total"] == 120 and inf["reporting_studies"] == 1  # b did not report it
    assert inf["ci_ub"] > 0  # zero events still have an interval
    assert t.loc[("infection", "injections"), "total"] == 5000
    assert describe_rate(0, 120, inf["ci_lb"], inf["ci_ub"]) == "0 of 120 participants (0.0%, 95% CI 0.0 to 3.1%)"


def test_empty_input_keeps_columns() -> None:
    t = totals(_ae([]))
    assert {"events", "total", "rate", "ci_lb", "ci_ub", "basis"} <= set(t.columns) and t.empty
    with pytest.raises(KeyError):
        t.loc[0]
