"""Analysis layer: time windows, common scales and arm series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.analysis.harmonise import harmonise, pain_priority
from explorer.analysis.series import arm_series
from explorer.analysis.windows import DEFAULT_WINDOWS, Window, assign_windows, to_weeks
from explorer.data import load

from .conftest import DATA


def test_to_weeks_units() -> None:
    w = to_weeks(pd.Series([14, 6, 3, 1]), pd.Series(["day", "week", "month", "year"]))
    np.testing.assert_allclose(w, [2.0, 6.0, 13.0, 52.0])


@pytest.mark.parametrize(
    ("weeks", "window"),
    [
        (0, ""),
        (1, "immediate"),
        (2, "immediate"),
        (2.01, "short"),
        (13, "short"),
        (13.1, "intermediate"),
        (51.9, "intermediate"),
        (52, "long"),
        (260, "long"),
    ],
)
def test_cochrane_windows_boundaries(weeks: float, window: str) -> None:
    assert assign_windows(np.array([weeks]))[0] == window


def test_custom_windows() -> None:
    wins = (Window("early", "Early", 0, 6), Window("late", "Late", 6, np.inf))
    assert list(assign_windows(np.array([3, 6, 7]), wins)) == ["early", "early", "late"]
    assert DEFAULT_WINDOWS[0].name == "immediate"


def _rows(**kw) -> pd.DataFrame:
    base = dict(
        measure="final",
        mean=np.nan,
        sd=np.nan,
        se=np.nan,
        ci_lb=np.nan,
        ci_ub=np.nan,
        median=np.nan,
        n=pd.NA,
        scale_min=0.0,
        scale_max=100.0,
        higher_is_better=False,
    )
    base.update(kw)
    return pd.DataFrame({k: [v] for k, v in base.items()})


def test_harmonise_vas_mm_to_0_10_with_ci_from_sd() -> None:
    h = harmonise(_rows(mean=62.0, sd=20.0, n=25), top=10).iloc[0]
    assert h.value == pytest.approx(6.2)
    assert h.se == pytest.approx(2.0 / 5)
    assert h.ci_lb == pytest.approx(6.2 - 1.959963984540054 * 0.4)
    assert "CI from SD/√n" in h.derivation


def test_harmonise_improvement_and_higher_is_better() -> None:
    imp = harmonise(
        _rows(measure="improvement", mean=3.0, scale_max=10.0, ci_lb=2.0, ci_ub=4.0), top=10
    ).iloc[0]
    assert (
        imp.value == pytest.approx(-3.0)
        and imp.ci_lb == pytest.approx(-4.0)
        and imp.ci_ub == pytest.approx(-2.0)
    )
    hib = harmonise(_rows(mean=80.0, higher_is_better=True), top=100).iloc[0]
    assert hib.value == pytest.approx(20.0) and "direction reversed" in hib.derivation


def test_harmonise_median_is_flagged() -> None:
    h = harmonise(_rows(median=4.0, scale_max=10.0), top=10).iloc[0]
    assert h.value == pytest.approx(4.0) and bool(h.approximate)


def test_pain_priority_prefers_leg_pain_for_radicular() -> None:
    dom = pd.Series(["pain_leg", "pain_back", "pain_leg", "pain_back"])
    ind = pd.Series(["radiculopathy", "radiculopathy", "discogenic", "discogenic"])
    assert list(pain_priority(dom, ind)) == [0, 2, 2, 0]


def test_arm_series_on_bundled_data() -> None:
    ev = load(DATA)
    s = arm_series(ev, "pain")
    assert not s.empty
    assert s["value"].between(0, 10).all()
    assert (s.groupby("study_id")["domain"].nunique() == 1).all()  # one pain domain per study
    assert set(s["window"]) <= {"", "immediate", "short", "intermediate", "long"}
    f = arm_series(ev, "function")
    assert f["value"].between(0, 100).all()
    with pytest.raises(ValueError, match="unknown outcome"):
        arm_series(ev, "mood")
