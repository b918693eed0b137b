"""Pooling against metafor::rma.uni() output (tests/fixtures/metafor, tools/metafor_fixtures.R)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from explorer.analysis import pooling
from explorer.analysis.effect_sizes import level_to_alpha

FIXTURES = Path(__file__).parent / "fixtures" / "metafor"
TOL = {"rtol": 1e-6, "atol": 1e-6}
RE_METHODS = ("DL", "REML", "PM")
ALL_METHODS = ("FE", *RE_METHODS)
#: our key -> metafor fixture column
COLUMNS = {
    "k": "k", "estimate": "estimate", "se": "se", "zval": "zval", "pval": "pval",
    "ci_lb": "ci_lb", "ci_ub": "ci_ub", "ddf": "ddf", "tau2": "tau2", "tau2_se": "se_tau2",
    "I2": "I2", "H2": "H2", "Q": "QE", "Q_p": "QEp", "pi_lb": "pi_lb", "pi_ub": "pi_ub",
}  # fmt: skip


@pytest.fixture(scope="module")
def inputs() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "pool_inputs.csv")


@pytest.fixture(scope="module")
def results() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "pool_results.csv")


def _quiet_pool(*args, **kwargs) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return pooling.pool_arrays(*args, **kwargs)


# --------------------------------------------------------------------------- metafor fixtures


def test_fixture_covers_the_brief(inputs: pd.DataFrame, results: pd.DataFrame) -> None:
    sets = set(inputs.dataset)
    assert {"bcg_rr", "bcg_or", "bcg_rd", "normand_md", "normand_smd", "homogeneous", "k1", "k2"} <= sets
    assert {"zero_var", "huge_het", "identical", "reml_cycle", "reml_bimodal", "pm_outlier"} <= sets
    sizes = inputs.groupby("dataset").size()
    rand = sizes[sizes.index.str.startswith("rand")]
    assert len(rand) == 30 and rand.min() == 2 and rand.max() == 30
    assert len(results) == len(sets) * 4 * 3  # methods x tests (z, knha, adhoc)


@pytest.mark.parametrize("test", ["z", "knha", "adhoc"])
@pytest.mark.parametrize("method", ALL_METHODS)
def test_all_datasets_match_metafor_in_one_call(
    inputs: pd.DataFrame, results: pd.DataFrame, method: str, test: str
) -> None:
    codes, names = pd.factorize(inputs.dataset)
    # metafor refuses FE/DL/PM with a zero variance: we warn and return NaN for that group only;
    # REML warns (as metafor does) about reml_bimodal's local maximum
    expected = "local maximum" if method == "REML" else "zero sampling variance"
    with pytest.warns(RuntimeWarning, match=expected):
        res = pooling.pool_arrays(inputs.yi, inputs.vi, codes, method=method, test=test)
    ref = results[(results.method == method) & (results.test == test)].set_index("dataset").loc[names]
    for ours, theirs in COLUMNS.items():
        assert_allclose(res[ours], ref[theirs].to_numpy(dtype=float), **TOL, err_msg=ours)
    # where metafor refused to fit, we return NaN (and only there)
    refused = ref.error.fillna("").to_numpy() != ""
    assert np.array_equal(np.isnan(res["estimate"]), refused)
    assert refused.any() == (method != "REML")


def test_known_bcg_values(inputs: pd.DataFrame) -> None:
    # Published metafor output for dat.bcg (log RR, REML): tau^2 = 0.3132, estimate = -0.7145
    d = inputs[inputs.dataset == "bcg_rr"]
    res = pooling.pool_arrays(d.yi, d.vi, method="REML")
    assert res["tau2"][0] == pytest.approx(0.3132, abs=5e-5)
    assert res["estimate"][0] == pytest.approx(-0.7145, abs=5e-5)
    assert res["I2"][0] == pytest.approx(92.22, abs=5e-3)


def test_edge_cases_behave_like_metafor(inputs: pd.DataFrame) -> None:
    def pool(name: str, **kw) -> dict:
        d = inputs[inputs.dataset == name]
        return pooling.pool_arrays(d.yi, d.vi, **kw)

    for method in ALL_METHODS:
        one = pool("k1", method=method, knha=True)
        assert one["tau2"][0] == 0 and one["Q"][0] == 0 and one["Q_p"][0] == 1
        assert one["I2"][0] == 0 and one["H2"][0] == 1 and np.isnan(one["ddf"][0])  # z test at k = 1
        homog = pool("homogeneous", method=method)
        assert homog["tau2"][0] == 0
    same = pool("identical", method="DL", knha=True)
    assert same["se"][0] == 0 and np.isinf(same["zval"][0])  # RSS = 0 -> KnHa factor 0, untruncated
    zero = pool("zero_var", method="REML")
    assert zero["tau2"][0] > 0 and np.isnan(zero["Q"][0]) and np.isnan(zero["I2"][0])
    # plain Fisher scoring cycles here; the stepadj remedy finds metafor's stepadj=0.5 answer
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert pool("reml_cycle", method="REML")["tau2"][0] == pytest.approx(0.0041079941757346302, rel=1e-6)
    # PM root beyond metafor's default search range (metafor stops; fixture used tau2.max=1e6)
    assert pool("pm_outlier", method="PM")["tau2"][0] == pytest.approx(499.73698878449335, rel=1e-6)
    # a local maximum worse than tau^2 = 0 is replaced by 0, with metafor's warning
    with pytest.warns(RuntimeWarning, match="local maximum"):
        assert pool("reml_bimodal", method="REML")["tau2"][0] == 0


# --------------------------------------------------------------------------- leave1out, regtest, subgroups


@pytest.mark.parametrize("test", ["z", "knha", "adhoc"])
@pytest.mark.parametrize("method", ALL_METHODS)
def test_leave_one_out_matches_metafor(inputs: pd.DataFrame, method: str, test: str) -> None:
    ref = pd.read_csv(FIXTURES / "leave1out.csv")
    ref = ref[(ref.method == method) & (ref.test == test)].sort_values("left_out")
    d = inputs[inputs.dataset == "bcg_rr"]
    res = pooling.leave_one_out(d.yi, d.vi, method=method, test=test)
    pairs = {"estimate": "estimate", "se": "se", "zval": "zval", "pval": "pval", "ci_lb": "ci_lb",
             "ci_ub": "ci_ub", "Q": "Q", "Q_p": "Qp", "tau2": "tau2", "I2": "I2", "H2": "H2"}  # fmt: skip
    for ours, theirs in pairs.items():
        assert_allclose(res[ours], ref[theirs].to_numpy(dtype=float), **TOL, err_msg=ours)


def test_leave_one_out_keeps_input_alignment() -> None:
    res = pooling.leave_one_out([0.1, np.nan, 0.5, 0.3], [0.01, 0.02, 0.03, 0.02], method="DL")
    assert np.isnan(res["estimate"][1]) and res["k"][1] == 0
    assert list(res["k"][[0, 2, 3]]) == [2, 2, 2]
    with pytest.raises(ValueError, match="at least 2"):
        pooling.leave_one_out([0.1], [0.01])


@pytest.mark.parametrize("test", ["z", "knha", "adhoc"])
@pytest.mark.parametrize("method", ALL_METHODS)
def test_egger_matches_metafor_regtest(inputs: pd.DataFrame, method: str, test: str) -> None:
    ref = pd.read_csv(FIXTURES / "regtest.csv")
    ref = ref[(ref.method == method) & (ref.test == test)].iloc[0]
    d = inputs[inputs.dataset == "bcg_rr"]
    res = pooling.egger_test(d.yi, d.vi, method=method, test=test)
    for key in ("zval", "pval", "ddf", "limit_estimate", "limit_ci_lb", "limit_ci_ub", "tau2", "slope"):
        assert_allclose(res[key], float(ref[key]), **TOL, err_msg=key)


@pytest.mark.parametrize("approach", ["separate", "common"])
@pytest.mark.parametrize("test", ["z", "knha", "adhoc"])
@pytest.mark.parametrize("method", ALL_METHODS)
def test_subgroup_test_matches_metafor(inputs: pd.DataFrame, method: str, test: str, approach: str) -> None:
    ref = pd.read_csv(FIXTURES / "subgroup.csv")
    ref = ref[(ref.method == method) & (ref.test == test) & (ref.approach == approach)].iloc[0]
    d = inputs[inputs.dataset == "bcg_rr"]
    res = pooling.subgroup_test(d.yi, d.vi, d.subgroup, method=method, test=test, tau2=approach)
    assert_allclose(res["Q"], float(ref.Q), **TOL)
    assert_allclose(res["df"], float(ref.df), **TOL)
    assert_allclose(res["pval"], float(ref.pval), **TOL)
    assert_allclose(res["tau2"], float(ref.tau2), **TOL)


# --------------------------------------------------------------------------- vectorised == per group


def _split(inputs: pd.DataFrame) -> tuple[np.ndarray, pd.Index]:
    codes, names = pd.factorize(inputs.dataset)
    return codes, names


@pytest.mark.parametrize("test", ["z", "knha", "adhoc"])
@pytest.mark.parametrize("method", ALL_METHODS)
def test_vectorised_equals_per_group(inputs: pd.DataFrame, method: str, test: str) -> None:
    codes, names = _split(inputs)
    together = _quiet_pool(inputs.yi, inputs.vi, codes, method=method, test=test)
    for g, name in enumerate(names):
        d = inputs[inputs.dataset == name]
        alone = _quiet_pool(d.yi, d.vi, method=method, test=test)
        for key in pooling.POOL_KEYS:
            assert_allclose(together[key][g], alone[key][0], rtol=1e-12, atol=1e-12, err_msg=f"{name} {key}")


@pytest.mark.parametrize("test", ["z", "knha", "adhoc"])
@pytest.mark.parametrize("method", ALL_METHODS)
def test_vectorised_equals_dense_matrix_fit(inputs: pd.DataFrame, method: str, test: str) -> None:
    """The bincount formulas against metafor's matrix algebra, written independently."""
    codes, names = _split(inputs)
    together = _quiet_pool(inputs.yi, inputs.vi, codes, method=method, test=test)
    for g, name in enumerate(names):
        d = inputs[inputs.dataset == name]
        if len(d) < 2 or (d.vi <= 0).any():
            continue
        y, v = d.yi.to_numpy(), d.vi.to_numpy()
        fit = pooling._meta_regression(y, v, np.ones((len(y), 1)), method, test, level_to_alpha(95))
        assert_allclose(together["estimate"][g], fit["beta"][0], **TOL, err_msg=name)
        assert_allclose(together["se"][g], fit["se"][0], **TOL, err_msg=name)
        assert_allclose(together["tau2"][g], fit["tau2"], **TOL, err_msg=name)
        assert_allclose(together["Q"][g], fit["QE"], **TOL, err_msg=name)


# --------------------------------------------------------------------------- pool_frame


def test_pool_frame_is_tidy_and_matches_arrays(inputs: pd.DataFrame) -> None:
    df = inputs.assign(family=inputs.dataset.str.replace(r"\d+$", "", regex=True))
    with pytest.warns(RuntimeWarning, match="zero sampling variance"):
        out = pooling.pool_frame(df, by=["family", "dataset"], method="DL")
    assert list(out.columns[:2]) == ["family", "dataset"]
    assert set(pooling.POOL_KEYS) <= set(out.columns)
    assert out[["family", "dataset"]].equals(
        out[["family", "dataset"]].sort_values(["family", "dataset"]).reset_index(drop=True)
    )
    assert len(out) == inputs.dataset.nunique()
    for row in out.itertuples():
        d = inputs[inputs.dataset == row.dataset]
        one = _quiet_pool(d.yi, d.vi, method="DL")
        assert_allclose(row.estimate, one["estimate"][0], **TOL)
        assert row.k == len(d)


def test_pool_frame_without_groups_and_with_missing_keys() -> None:
    df = pd.DataFrame(
        {"g": ["a", "a", None, "b"], "yi": [0.1, 0.3, 9.0, 0.2], "vi": [0.01, 0.02, 0.01, 0.05]}
    )
    whole = pooling.pool_frame(df, method="FE")
    assert len(whole) == 1 and whole.k.iloc[0] == 4
    by_g = pooling.pool_frame(df, by="g", method="FE")
    assert by_g.g.tolist() == ["a", "b"] and by_g.k.tolist() == [2, 1]
    kept = pooling.pool_frame(df, by="g", method="FE", dropna=False)
    assert len(kept) == 3
    empty = pooling.pool_frame(df.iloc[:0], by="g")
    assert len(empty) == 0 and "estimate" in empty.columns


# --------------------------------------------------------------------------- input handling


def test_missing_rows_are_dropped_and_empty_groups_are_nan() -> None:
    res = pooling.pool_arrays([0.1, np.nan, 0.3], [0.01, 0.02, np.inf], [0, 0, 0], n_groups=2)
    assert list(res["k"]) == [1, 0]
    assert res["estimate"][0] == pytest.approx(0.1)
    assert np.isnan(res["estimate"][1])


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="method"):
        pooling.pool_arrays([0.1], [0.1], method="HS")
    with pytest.raises(TypeError, match="integer codes"):
        pooling.pool_arrays([0.1], [0.1], [0.5])
    with pytest.raises(ValueError, match="same length"):
        pooling.pool_arrays([0.1, 0.2], [0.1])
    with pytest.raises(ValueError, match="n_groups"):
        pooling.pool_arrays([0.1, 0.2], [0.1, 0.1], [0, 3], n_groups=2)
    with pytest.raises(ValueError, match="at least 3"):
        pooling.egger_test([0.1, 0.2], [0.1, 0.1])


def test_level_is_respected() -> None:
    y, v = [0.1, 0.5, 0.3, -0.2], [0.02, 0.03, 0.01, 0.04]
    r95 = pooling.pool_arrays(y, v, method="DL")
    r90 = pooling.pool_arrays(y, v, method="DL", level=0.90)
    assert r90["ci_ub"][0] - r90["ci_lb"][0] < r95["ci_ub"][0] - r95["ci_lb"][0]
    assert r90["estimate"][0] == r95["estimate"][0]


# --------------------------------------------------------------------------- properties


def _meta_analyses(min_k: int = 1, max_k: int = 12):
    study = st.tuples(st.floats(-3, 3), st.floats(1e-3, 2.0))
    return st.lists(st.lists(study, min_size=min_k, max_size=max_k), min_size=1, max_size=8)


def _flatten(groups) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = np.array([s[0] for g in groups for s in g])
    v = np.array([s[1] for g in groups for s in g])
    codes = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
    return y, v, codes


@settings(max_examples=150, deadline=None)
@given(_meta_analyses(), st.sampled_from(ALL_METHODS), st.sampled_from(["z", "knha", "adhoc"]))
def test_tau2_never_negative_and_vectorised_equals_per_group(groups, method: str, test: str) -> None:
    y, v, codes = _flatten(groups)
    together = _quiet_pool(y, v, codes, method=method, test=test)
    assert np.all(together["tau2"] >= 0)
    assert np.all(together["I2"] >= 0) and np.all(together["I2"] <= 100)
    for g in range(len(groups)):
        yg, vg = y[codes == g], v[codes == g]
        alone = _quiet_pool(yg, vg, method=method, test=test)
        for key in ("estimate", "se", "tau2", "Q", "I2", "pi_lb"):
            assert_allclose(together[key][g], alone[key][0], rtol=1e-10, atol=1e-12, err_msg=key)
        if yg.size >= 2:  # and the dense matrix algebra of metafor agrees
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                dense = pooling._meta_regression(yg, vg, np.ones((yg.size, 1)), method, test, 0.05)
            assert_allclose(together["tau2"][g], dense["tau2"], **TOL)
            assert_allclose(together["estimate"][g], dense["beta"][0], **TOL)
            assert_allclose(together["se"][g], dense["se"][0], **TOL)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-1, 1), st.floats(1e-3, 2.0)), min_size=2, max_size=25),
    st.floats(-5, 5),
)
def test_dl_and_pm_are_zero_when_q_below_df(studies, mu: float) -> None:
    # |y - mu| <= 0.5 sd for every study, so Q <= k/4 < k - 1 for k >= 2
    z = np.array([s[0] for s in studies])
    v = np.array([s[1] for s in studies])
    y = mu + 0.5 * z * np.sqrt(v)
    for method in ("DL", "PM"):
        res = pooling.pool_arrays(y, v, method=method)
        assert res["Q"][0] < len(y) - 1
        assert res["tau2"][0] == 0.0
        assert res["I2"][0] == 0.0


@settings(max_examples=40, deadline=None)
@given(_meta_analyses(min_k=2, max_k=10))
def test_knha_se_not_truncated_and_pm_factor_is_one(groups) -> None:
    # Under PM, RSS/(k-1) = 1 exactly when tau^2 > 0: the KnHa SE equals the z-test SE.
    y, v, codes = _flatten(groups)
    z = _quiet_pool(y, v, codes, method="PM")
    t = _quiet_pool(y, v, codes, method="PM", knha=True)
    pos = z["tau2"] > 1e-8
    assert_allclose(t["se"][pos], z["se"][pos], rtol=1e-8)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.just(0.0), st.floats(1e-300, 1e3)),
            st.floats(-1e3, 1e3).filter(lambda a: a != 0),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_step_halving_equals_metafor_loop(pairs) -> None:
    """The computed number of halvings gives bit-for-bit metafor's ``while`` loop."""
    tau2 = np.array([p[0] for p in pairs])
    adj = np.array([p[1] for p in pairs])
    expected = adj.copy()
    for i in range(tau2.size):
        while tau2[i] + expected[i] < 0:
            expected[i] = 0.0 if tau2[i] == 0 else expected[i] / 2
    assert np.array_equal(pooling._halve_into_domain(tau2, adj), expected)


def test_reml_zero_variance_reaching_zero_tau2_is_nan() -> None:
    # HE start is 0 here, so the weight of the zero-variance study is infinite: metafor stops
    with pytest.warns(RuntimeWarning, match="zero sampling variance"):
        res = pooling.pool_arrays([0.1, 0.1, 0.12], [0.0, 0.01, 0.02], method="REML")
    assert np.isnan(res["estimate"][0]) and res["k"][0] == 3


# --------------------------------------------------------------------------- quantiles without scipy


def test_tabulated_quantiles_are_scipys_to_the_last_bit() -> None:
    """The 95% quantiles kept in explorer.analysis.distributions (so that a dashboard kernel
    pools its landing table without importing scipy.special) are exactly what scipy computes:
    a scipy release that changes one of them fails here, and the table is to be regenerated."""
    from scipy.special import ndtri, stdtrit

    from explorer.analysis import distributions as dist

    df = np.arange(1, len(dist.T975) + 1, dtype=float)
    assert np.array_equal(np.array(dist.T975), -stdtrit(df, 0.025))
    assert -ndtri(0.025) == dist.Z975


@pytest.mark.parametrize(
    "p, df",
    [
        (0.025, 3.0),
        (0.025, np.arange(1.0, 101.0)),
        (np.full(4, 0.025), 7.0),
        (0.025, np.array([[1.0, 2.0], [100.0, 101.0]])),  # beyond the table: computed
        (0.025, np.array([2.5, np.nan, 0.5])),  # not whole degrees of freedom: computed
        (0.05, np.array([1.0, 30.0])),  # another level: computed
        (0.025, np.array([])),
    ],
)
def test_quantiles_equal_scipy_in_value_type_and_shape(p, df) -> None:
    from scipy.special import ndtri, stdtrit

    from explorer.analysis import distributions as dist

    want = -stdtrit(np.asarray(df, dtype=float), np.asarray(p, dtype=float))
    got = dist.t_isf(p, df)
    assert type(got) is type(want) and np.shape(got) == np.shape(want)
    assert np.array_equal(got, want, equal_nan=True)
    want_z, got_z = -ndtri(np.asarray(p, dtype=float)), dist.norm_isf(p)
    assert type(got_z) is type(want_z) and np.shape(got_z) == np.shape(want_z)
    assert np.array_equal(got_z, want_z)


@settings(max_examples=60, deadline=None)
@given(_meta_analyses(), st.sampled_from(ALL_METHODS), st.sampled_from(["z", "knha", "adhoc"]))
def test_pooling_without_p_values_changes_nothing_else(groups, method: str, test: str) -> None:
    y, v, codes = _flatten(groups)
    full = _quiet_pool(y, v, codes, method=method, test=test)
    lean = _quiet_pool(y, v, codes, method=method, test=test, p_values=False)
    assert np.isnan(lean["pval"]).all() and np.isnan(lean["Q_p"]).all()
    for key in set(pooling.POOL_KEYS) - {"pval", "Q_p"}:
        assert np.array_equal(full[key], lean[key], equal_nan=True), key
