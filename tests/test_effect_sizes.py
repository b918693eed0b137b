"""Effect sizes against metafor::escalc() output (tests/fixtures/metafor, tools/metafor_fixtures.R)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from explorer.analysis import effect_sizes as es

FIXTURES = Path(__file__).parent / "fixtures" / "metafor"
TOL = {"rtol": 1e-6, "atol": 1e-6}


def _fixture(name: str) -> pd.DataFrame:
    return pd.read_csv(FIXTURES / name)


# --------------------------------------------------------------------------- metafor fixtures

BINARY = {"RR": es.log_risk_ratio, "OR": es.log_odds_ratio, "RD": es.risk_difference}


@pytest.mark.parametrize("measure", sorted(BINARY))
@pytest.mark.parametrize("to", ["only0", "all", "if0all", "none"])
def test_binary_matches_escalc(measure: str, to: str) -> None:
    ref = _fixture("es_binary.csv")
    ref = ref[(ref.measure == measure) & (ref.to == to)]
    assert len(ref) > 10
    yi, vi = BINARY[measure](ref.ai, ref.n1, ref.ci, ref.n2, add=0.5, to=to)
    assert_allclose(yi, ref.yi, **TOL)
    assert_allclose(vi, ref.vi, **TOL)


def test_binary_defaults_are_metafor_defaults() -> None:
    ref = _fixture("es_binary.csv")
    ref = ref[(ref.measure == "RR") & (ref.to == "only0")]
    yi, vi = es.log_risk_ratio(ref.ai, ref.n1, ref.ci, ref.n2)
    assert_allclose(yi, ref.yi, **TOL)
    assert_allclose(vi, ref.vi, **TOL)
    # the double-zero table is kept (drop00=False) and the missing count gives NaN
    cases = ref.case.tolist()
    assert np.isfinite(yi[cases.index("double_zero")])
    assert np.isnan(yi[cases.index("missing_ai")])


@pytest.mark.parametrize(
    ("measure", "func"),
    [("MD", es.mean_difference), ("SMD", es.standardized_mean_difference)],
)
def test_continuous_matches_escalc(measure: str, func) -> None:
    ref = _fixture("es_continuous.csv")
    ref = ref[ref.measure == measure]
    yi, vi = func(ref.m1, ref.sd1, ref.n1, ref.m2, ref.sd2, ref.n2)
    assert_allclose(yi, ref.yi, **TOL)
    assert_allclose(vi, ref.vi, **TOL)
    # a missing SD leaves vi undefined (for SMD also yi), as in metafor
    assert np.isnan(vi[ref.case.tolist().index("missing_sd")])


def test_smd_undefined_for_tiny_trials() -> None:
    # n1 + n2 - 2 <= 1: the exact Hedges correction is undefined, metafor gives NA
    yi, vi = es.standardized_mean_difference(5, 2, 1, 4, 1, 2)
    assert np.isnan(yi) and np.isnan(vi)


def test_mean_change_matches_escalc_mn() -> None:
    ref = _fixture("es_mean.csv")
    yi, vi = es.mean_change(ref.m, ref.sd, ref.n)
    assert_allclose(yi, ref.yi, **TOL)
    assert_allclose(vi, ref.vi, **TOL)


def test_conversions_match_r_transcription() -> None:
    ref = _fixture("conversions.csv")
    mean, sd = es.mean_sd_from_median(ref.q1, ref["median"], ref.q3, ref.n)
    assert_allclose(mean, ref.mean_iqr, **TOL)
    assert_allclose(sd, ref.sd_iqr, **TOL)
    mean, sd = es.mean_sd_from_range(ref.minimum, ref["median"], ref.maximum, ref.n)
    assert_allclose(mean, ref.mean_range, **TOL)
    assert_allclose(sd, ref.sd_range, **TOL)


# --------------------------------------------------------------------------- hand-worked values


def test_median_iqr_hand_worked() -> None:
    # n = 50: w = 0.7 + 0.39/50 = 0.7078; mean = 0.7078 * (2 + 8)/2 + 0.2922 * 4 = 4.7078
    # p = (0.75*50 - 0.125)/(50.25) = 0.743781094527363, Phi^-1(p) = 0.655046507726691
    # sd = (8 - 2) / (2 * 0.655046507726691) = 4.579827484938987
    mean, sd = es.mean_sd_from_median(2, 4, 8, 50)
    assert_allclose(mean, 4.7078, **TOL)
    assert_allclose(sd, 4.579827484938987, **TOL)


def test_median_range_hand_worked() -> None:
    # n = 20: n^0.75 = 9.457416090031758, w = 4/(4 + n^0.75) = 0.297233880058364
    # mean = w * (1 + 15)/2 + (1 - w) * 6 = 6.594467760116729
    # p = (20 - 0.375)/(20.25) = 0.969135802469136, Phi^-1(p) = 1.868241654863930
    # sd = (15 - 1) / (2 * 1.868241654863930) = 3.746838628597986
    mean, sd = es.mean_sd_from_range(1, 6, 15, 20)
    assert_allclose(mean, 6.594467760116729, **TOL)
    assert_allclose(sd, 3.746838628597986, **TOL)


@pytest.mark.parametrize(("n", "xi_table"), [(10, 3.078), (20, 3.735), (30, 4.086), (40, 4.322), (50, 4.498)])
def test_range_divisor_close_to_wan_table_1(n: int, xi_table: float) -> None:
    # Wan et al. 2014 Table 1 gives the exact expected range of n standard normals; the
    # closed form we use must stay within 0.6 % of it (sd of a range equal to xi is ~1).
    _, sd = es.mean_sd_from_range(0.0, xi_table / 2, xi_table, n)
    assert abs(sd - 1.0) < 0.006


def test_conversion_n1_is_nan_and_order_checked() -> None:
    _, sd = es.mean_sd_from_median(1, 2, 3, 1)
    assert np.isnan(sd)
    with pytest.raises(ValueError, match="q1 <= median <= q3"):
        es.mean_sd_from_median(3, 2, 4, 10)
    with pytest.raises(ValueError, match="minimum <= median <= maximum"):
        es.mean_sd_from_range(1, 5, 4, 10)


def test_se_from_ci() -> None:
    # 95 % z: (3 - 1) / (2 * 1.959963984540054) = 0.510213456924654
    assert_allclose(es.se_from_ci(1, 3), 0.510213456924654, **TOL)
    assert_allclose(es.se_from_ci(1, 3, level=0.95), 0.510213456924654, **TOL)
    # ratio scale: (log 2 - log 0.5) / (2 * 1.959963984540054) = 0.353653019151067
    assert_allclose(es.se_from_ci(0.5, 2.0, log=True), 0.353653019151067, **TOL)
    # t with 9 df: 2 / (2 * 2.262157162798205) = 0.442055935124789
    assert_allclose(es.se_from_ci(1, 3, df=9), 0.442055935124789, **TOL)
    assert np.isnan(es.se_from_ci(-0.1, 2.0, log=True))
    assert_allclose(es.sd_from_se([0.5, np.nan], [16, 16]), [2.0, np.nan], **TOL)


def test_level_to_alpha_follows_metafor() -> None:
    assert es.level_to_alpha(95) == pytest.approx(0.05)
    assert es.level_to_alpha(0.95) == pytest.approx(0.05)
    assert es.level_to_alpha(0.05) == pytest.approx(0.05)
    assert es.level_to_alpha(0) == 1.0


# --------------------------------------------------------------------------- input handling


def test_impossible_inputs_raise() -> None:
    with pytest.raises(ValueError, match="exceed"):
        es.log_odds_ratio(11, 10, 1, 10)
    with pytest.raises(ValueError, match="negative"):
        es.mean_difference(1, -1, 10, 0, 1, 10)
    with pytest.raises(ValueError, match="positive"):
        es.mean_change(1, 1, 0)
    with pytest.raises(ValueError, match="zero-cell rule"):
        es.log_risk_ratio(1, 10, 1, 10, to="sometimes")  # type: ignore[arg-type]


def test_missing_inputs_give_nan_and_broadcast() -> None:
    # NaN goes only where the missing input reaches (metafor: escalc keeps vi of a row whose
    # mean is NA, and yi of a row whose SD is NA)
    yi, vi = es.mean_difference([1.0, np.nan], 1.0, 10, 0.0, [1.0, np.nan], 10)
    assert yi.shape == (2,) and np.isnan(yi[1]) and np.isnan(vi[1])
    assert_allclose(yi[0], 1.0, **TOL)
    assert_allclose(vi[0], 0.2, **TOL)
    yi, vi = es.mean_difference(np.nan, 1.0, 10, 0.0, 1.0, 10)
    assert np.isnan(yi) and vi == pytest.approx(0.2)


def test_drop00_turns_double_zero_tables_into_nan() -> None:
    yi, _ = es.log_risk_ratio([0, 3], [20, 20], [0, 5], [25, 25], drop00=True)
    assert np.isnan(yi[0]) and np.isfinite(yi[1])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(-50, 50), st.floats(0.1, 30), st.integers(2, 500),
            st.floats(-50, 50), st.floats(0.1, 30), st.integers(2, 500),
        ),
        min_size=1,
        max_size=20,
    )
)  # fmt: skip
def test_smd_is_antisymmetric_and_variance_positive(rows) -> None:
    m1, sd1, n1, m2, sd2, n2 = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    g, v = es.standardized_mean_difference(m1, sd1, n1, m2, sd2, n2)
    g_swap, v_swap = es.standardized_mean_difference(m2, sd2, n2, m1, sd1, n1)
    assert_allclose(g, -g_swap, rtol=1e-12, atol=1e-12)
    assert_allclose(v, v_swap, rtol=1e-12, atol=1e-12)
    assert np.all(v > 0)
    # |g| < |d|: the small-sample correction always shrinks
    sdp = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / (n1 + n2 - 2))
    assert np.all(np.abs(g) <= np.abs((m1 - m2) / sdp) + 1e-12)
