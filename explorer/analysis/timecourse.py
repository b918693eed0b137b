"""Efficacy as a curve over follow-up time: a multilevel (longitudinal) meta-regression.

Pooling per Cochrane window (:func:`explorer.analysis.effects.pool`) lets a trial that reports
weeks 2, 6, 12 and 26 give one number per window and throws away the rest. Here every time point
a study reports is kept, and the effect is modelled as a smooth function of time since the
(first) injection::

    y_ij = x(t_ij)' b + u_i + w_ij + e_ij,    u_i ~ N(0, s2_study),  w_ij ~ N(0, s2_time),
    e_i ~ N(0, V_i)

for estimate j of study (cohort) i: exactly ``metafor::rma.mv(yi, V, mods = X, random = ~ 1 |
study/time_id, method = "REML")`` (Viechtbauer 2010; Konstantopoulos 2011 for the three-level
structure), followed by ``metafor::robust(fit, cluster = study, clubSandwich = TRUE)``. Reference
values from R (metafor 3.8-1, clubSandwich 0.5.8) are checked in under ``tests/fixtures/metafor``
(``timecourse_*.csv``, written by ``tools/metafor_timecourse_fixtures.R``); the tests agree to
1e-6 without R (largest difference ~2e-8). Written here rather than borrowed: PyMARE fits
univariate models only (no nested random effects, no CR2), statsmodels has no meta-analytic
model with a known sampling covariance.

Modelling choices, each once, with the reason:

* **Sampling covariance.** Repeated time points of one study share patients, so their sampling
  errors are correlated, but trials never report that correlation. ``V`` is block diagonal by
  study with the working correlation ``rho`` (default 0.5): ``V_jk = rho sqrt(v_j v_k)``, j != k
  (what ``clubSandwich::impute_covariance_matrix`` and ``metafor::vcalc`` build). Because rho is a
  guess, inference does not rely on it: the "correlated and hierarchical effects" working model
  with cluster-robust variance estimation (Pustejovsky & Tipton 2022, Res Synth Methods 13:44;
  Riley et al. 2017 Stat Med 36:3127 and Jackson, Riley & White 2011 Stat Med 30:2481 on
  multivariate and longitudinal meta-analysis).
* **Inference.** Coefficients and the curve use the CR2 cluster-robust covariance ("bias-reduced
  linearisation") with Satterthwaite degrees of freedom, clusters = studies (Tipton 2015 Psychol
  Methods 20:375; Pustejovsky & Tipton 2018 J Bus Econ Stat 36:672): clubSandwich's defaults as
  used by ``metafor::robust(..., clubSandwich = TRUE)``. The curve at week t is the contrast
  ``x(t)' b``; its Satterthwaite df are computed for that contrast (clubSandwich's
  ``linear_contrast``), so the CI widens where few studies inform the curve. The model-based SE
  is reported beside the robust one.
* **Few studies** (rule 'few-studies-curve' in :mod:`explorer.analysis.comparability`). CR2 is
  used for a fit only where it can be trusted: every Satterthwaite df of the curve over its
  covered range (the observed follow-up times and a 50-point geometric grid between the first
  and last) at least :data:`MIN_ROBUST_DF` = 4 (Tipton 2015: below 4 the CR2 t-test's Type I
  error exceeds nominal and it should not be trusted). With an intercept-only or one-slope curve
  that needs about six studies. Below it the whole curve (and its coefficients) uses the
  model-based SE with Student's t on (studies - coefficients) df, the between-study residual df;
  with two studies and a constant that is t(1), a wide interval, which is what two trials can
  say. ``se_basis`` ('robust' or 'model') and ``se_note`` (a sentence) say which, on every fit,
  curve row and coefficient; ``se_robust``/``df_robust`` keep the CR2 values beside it. The
  seeded simulation in ``tests/test_timecourse.py`` (2-6 studies) gives the coverage.
* **Variance components** by REML, the restricted likelihood maximised with b profiled out,
  on ``s2 >= 0`` (scipy's L-BFGS-B with the analytic gradient, then Newton steps with the exact
  Hessian; the gradient is checked at the end and ``converged`` says whether it passed).
  metafor optimises log(s2), so where a component's optimum is 0 metafor returns a tiny positive
  number and we return 0: the fits differ by far less than 1e-5. Where no study has two time
  points, study and time-within-study variance are the same thing and cannot be separated:
  ``s2_time`` is fixed at 0 (metafor's ``sigma2 = c(NA, 0)``) and the variance table says so.
* **Time basis** in log(weeks): follow-up is recorded on a roughly geometric grid (2, 6, 12, 26,
  52 weeks) and effects of injections change fastest early, so log time spreads the information
  evenly. Most flexible first, as long as the data support it (``rule`` below):

  - ``spline``: restricted (natural) cubic spline with knots at the Cochrane window boundaries
    log 2, log 13 and log 52 weeks (Harrell 2015, Regression Modeling Strategies, 2.4.5: linear
    beyond the outer knots, so it cannot swing where there are no data; Harrell's ``rcs``/
    ``Hmisc::rcspline.eval`` parameterisation with ``norm = 2``). Fixed knots, not quantiles of
    each group's times, so curves of different therapies are the same model;
  - ``linear``: linear in log weeks;
  - ``constant``: the effect does not change over the covered range (a three-level pool);
  - otherwise no curve: the group is listed in ``skipped`` with the reason.

  The rule (p = number of coefficients: 3, 2, 1):

  ============  =========  ===============  =====================  ============
  basis          studies    distinct times   windows spanned        estimates
  ============  =========  ===============  =====================  ============
  spline         >= 4       >= 5             >= 2                   >= 6
  linear         >= 3       >= 3                                    >= 5
  constant       >= 2                                               >= 4
  ============  =========  ===============  =====================  ============

  Why: robust (sandwich) variance needs more clusters than coefficients (studies >= p + 1;
  ``metafor::robust`` refuses otherwise, and with fewer the CR2 meat is degenerate); REML
  estimates two variance components from n - p residual contrasts, so n >= p + 3 leaves them at
  least three; a line needs a third distinct time to be more than two points, and the spline's
  curvature a fifth, spread over at least two windows so that it bends between windows rather
  than inside one (Cochrane Handbook 10.11.4 and 10.10.4: meta-regression with few studies is
  unreliable and over-fits; Riley et al. 2017 on borrowing strength across time points). A
  design that is not of full column rank falls to the next basis.
* **Covered range only.** The curve is predicted only over [earliest, latest] follow-up of the
  group's data; requested weeks outside it are left out of ``curve`` (not returned as NaN: a
  row in ``curve`` always means "estimated from data on both sides or at this time").
* **Prediction band** (where a new study's effect at week t is expected): ``est +- t_df
  sqrt(se^2 + s2_study + s2_time)`` with the same critical value as the CI (metafor's default in
  ``predict``), only where the group has >= 3 studies (below that the heterogeneity estimate
  is too poor to describe a distribution; Cochrane Handbook 10.10.4.3, IntHout et al. 2016).
* **What enters** (as :func:`explorer.analysis.effects.pool`): only like with like (groups always
  include outcome, measure, effect kind and comparator kind where the frame has them),
  approximate effects left out unless asked for, times <= 0 (baseline) and rows with missing or
  non-positive variances dropped. For a frame from :func:`explorer.effects` each cohort gives
  one estimate per time point and group (the pool's ranking, with time kept); a plain frame's
  rows are all used, and rows of one study at the same time share the time-level random effect.
  Studies are clustered by ``cohort`` (papers on one cohort share it), else ``study_id``.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from explorer.analysis import distributions as dist
from explorer.analysis.effect_sizes import level_to_alpha
from explorer.analysis.windows import DEFAULT_WINDOWS, assign_windows

__all__ = [
    "BASES",
    "KNOTS_WEEKS",
    "MIN_ROBUST_DF",
    "RULES",
    "TimecourseResult",
    "design_matrix",
    "fit_arrays",
    "rcs_basis",
    "shrink_sentence",
    "timecourse",
]

FloatArray = NDArray[np.float64]
Basis = Literal["spline", "linear", "constant"]

BASES: tuple[str, ...] = ("spline", "linear", "constant")
#: Knots of the restricted cubic spline: the Cochrane window boundaries, in weeks.
KNOTS_WEEKS: tuple[float, ...] = (2.0, 13.0, 52.0)
#: Minimum data for each basis: studies, distinct times, windows spanned, estimates.
RULES: dict[str, dict[str, int]] = {
    "spline": {"studies": 4, "times": 5, "windows": 2, "estimates": 6},
    "linear": {"studies": 3, "times": 3, "windows": 1, "estimates": 5},
    "constant": {"studies": 2, "times": 1, "windows": 1, "estimates": 4},
}
#: Weeks reported when ``at`` is not given (plus the ends of each group's covered range).
DEFAULT_WEEKS: tuple[float, ...] = (1, 2, 4, 6, 8, 12, 13, 18, 26, 39, 52, 78, 104)
MIN_STUDIES_PI = 3
#: Smallest Satterthwaite df at which a CR2 interval is used (Tipton 2015; rule 'few-studies-curve').
MIN_ROBUST_DF = 4.0
_DF_GRID = 50  # points of the geometric grid over the covered range on which the df are checked
_ALIKE = ("outcome", "measure", "effect_kind", "comparator_kind", "responder_class", "basis")
_SELECT_COLUMNS = ("source", "placebo_is_active", "n1", "n2", "approximate", "study_id", "arm_id", "cohort")
_TIME_DECIMALS = 6  # times equal to 1e-6 weeks are the same time point (months -> weeks rounding)
_EIG_TOL = 1e-12  # clubSandwich's matrix_power(): eigenvalues <= 1e-12 count as 0
_GRAD_TOL = 1e-9  # relative gradient of the restricted log-likelihood accepted as converged


# --------------------------------------------------------------------------- time basis


def rcs_basis(x: ArrayLike, knots: ArrayLike) -> FloatArray:
    """Harrell's restricted cubic spline terms (``Hmisc::rcspline.eval(x, knots, norm = 2)``).

    Returns the K - 2 non-linear columns for K knots (the linear term is ``x`` itself): term j is
    ``((x - k_j)+^3 - (x - k_{K-1})+^3 (k_K - k_j)/(k_K - k_{K-1})
    + (x - k_K)+^3 (k_{K-1} - k_j)/(k_K - k_{K-1})) / (k_K - k_1)^2``, linear beyond both
    outer knots. The division by ``(k_K - k_1)^2`` only rescales the coefficient.
    """
    x = np.asarray(x, dtype=float).ravel()
    k = np.asarray(knots, dtype=float)
    n_k = k.size
    if n_k < 3:
        raise ValueError("a restricted cubic spline needs at least 3 knots")

    def cube(a: FloatArray) -> FloatArray:
        return np.maximum(a, 0.0) ** 3

    last, penult = k[-1], k[-2]
    cols = [
        (
            cube(x - k[j])
            - cube(x - penult) * (last - k[j]) / (last - penult)
            + cube(x - last) * (penult - k[j]) / (last - penult)
        )
        / (last - k[0]) ** 2
        for j in range(n_k - 2)
    ]
    return np.column_stack(cols)


def design_matrix(weeks: ArrayLike, basis: Basis | str) -> FloatArray:
    """Fixed-effects design ``X(t)`` of a basis: intercept, log weeks, spline term(s)."""
    t = np.asarray(weeks, dtype=float).ravel()
    lt = np.log(t)
    one = np.ones_like(lt)
    if basis == "constant":
        return one[:, None]
    if basis == "linear":
        return np.column_stack([one, lt])
    if basis == "spline":
        return np.column_stack([one, lt, rcs_basis(lt, np.log(KNOTS_WEEKS))])
    raise ValueError(f"basis must be one of {BASES}, not {basis!r}")


TERMS = {
    "constant": ("intercept",),
    "linear": ("intercept", "log_weeks"),
    "spline": ("intercept", "log_weeks", "log_weeks_rcs"),
}


def choose_basis(
    n_studies: int, n_times: int, n_windows: int, n_estimates: int, weeks: FloatArray | None = None
) -> tuple[str | None, str]:
    """The most flexible basis that :data:`RULES` allow (and whose design has full rank).

    Returns ``(basis, "")`` or ``(None, reason)``.
    """
    for basis in BASES:
        r = RULES[basis]
        if (
            n_studies >= r["studies"]
            and n_times >= r["times"]
            and n_windows >= r["windows"]
            and n_estimates >= r["estimates"]
        ):
            if weeks is not None:
                x = design_matrix(weeks, basis)
                if np.linalg.matrix_rank(x) < x.shape[1]:
                    continue
            return basis, ""
    reason = (
        f"too little data for a curve: {n_studies} stud{'y' if n_studies == 1 else 'ies'}, "
        f"{n_estimates} estimate(s) (needs >= {RULES['constant']['studies']} studies and >= "
        f"{RULES['constant']['estimates']} estimates; a time trend needs >= "
        f"{RULES['linear']['studies']} studies at >= {RULES['linear']['times']} distinct times)"
    )
    return None, reason


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class _Blocks:
    """A group's data cut into per-study blocks, padded to a common size m.

    Padding rows have y = 0, X = 0 and an identity block in every matrix, so they add 0 to
    every sum and log-determinant; every per-study computation is then one batched numpy call
    on arrays of shape (S, m, ...), however many studies there are.
    """

    y: FloatArray  # (S, m)
    x: FloatArray  # (S, m, p)
    v: FloatArray  # (S, m, m) sampling covariance (identity on padding)
    g1: FloatArray  # (S, m, m) study random effect: 1 within the study
    g2: FloatArray  # (S, m, m) time-within-study random effect: 1 for the same time
    mask: NDArray[np.bool_]  # (S, m)
    n: int
    p: int
    log_det_xtx: float

    @staticmethod
    def build(
        y: FloatArray, v: FloatArray, x: FloatArray, study: NDArray[np.intp], time_id: NDArray[np.intp], rho: float
    ) -> _Blocks:
        order = np.lexsort((time_id, study))
        y, v, x, study, time_id = y[order], v[order], x[order], study[order], time_id[order]
        _, starts, sizes = np.unique(study, return_index=True, return_counts=True)
        s_n, m = sizes.size, int(sizes.max())
        pos = np.arange(y.size) - np.repeat(starts, sizes)
        blk = np.repeat(np.arange(s_n), sizes)
        mask = np.zeros((s_n, m), dtype=bool)
        mask[blk, pos] = True
        yb = np.zeros((s_n, m))
        yb[blk, pos] = y
        xb = np.zeros((s_n, m, x.shape[1]))
        xb[blk, pos] = x
        sd = np.zeros((s_n, m))
        sd[blk, pos] = np.sqrt(v)
        tb = np.full((s_n, m), -1, dtype=np.intp)
        tb[blk, pos] = time_id
        both = mask[:, :, None] & mask[:, None, :]
        eye = np.broadcast_to(np.eye(m, dtype=bool), both.shape)
        vb = np.where(both, rho * sd[:, :, None] * sd[:, None, :], 0.0)
        vb = np.where(eye & both, sd[:, :, None] ** 2, vb)
        vb = np.where(eye & ~both, 1.0, vb)
        g1 = both.astype(float)
        g2 = (both & (tb[:, :, None] == tb[:, None, :])).astype(float)
        return _Blocks(
            yb, xb, vb, g1, g2, mask, int(y.size), int(x.shape[1]), float(np.linalg.slogdet(x.T @ x)[1])
        )


@dataclass(frozen=True)
class _Eval:
    ll: float
    grad: FloatArray
    hess: FloatArray | None
    beta: FloatArray
    bread: FloatArray  # (X'WX)^-1: the model-based covariance of beta
    w: FloatArray  # (S, m, m) inverse marginal covariance blocks
    m: FloatArray  # (S, m, m) marginal covariance blocks
    resid: FloatArray  # (S, m)


def _evaluate(b: _Blocks, s2: FloatArray, hessian: bool = False, fixed: NDArray[np.bool_] | None = None) -> _Eval:
    """Restricted log-likelihood (metafor's constant included), its gradient and Hessian in s2.

    With ``P = W - W X (X'WX)^-1 X'W`` and ``G_k = dM/ds2_k``, ``u = P y = W r``:
    ``dl/ds2_k = -(tr(P G_k) - u'G_k u) / 2`` and
    ``d2l/ds2_k ds2_l = tr(P G_k P G_l) / 2 - u'G_k P G_l u``; every trace is a sum of
    per-study blocks plus a p x p correction, because W and G_k are block diagonal.
    """
    gs = (b.g1, b.g2)
    mm = b.v + s2[0] * b.g1 + s2[1] * b.g2
    chol = np.linalg.cholesky(mm)
    log_det_m = 2.0 * float(np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2))))
    w = np.linalg.inv(mm)
    w = 0.5 * (w + np.swapaxes(w, 1, 2))
    p = b.p
    wx = w @ b.x  # (S, m, p)
    wx2 = wx.reshape(-1, p)  # stacked rows: sums over studies become one matrix product
    xwx = b.x.reshape(-1, p).T @ wx2
    xwy = wx2.T @ b.y.ravel()
    bread = np.linalg.inv(xwx)
    bread = 0.5 * (bread + bread.T)
    beta = bread @ xwy
    r = b.y - (b.x.reshape(-1, p) @ beta).reshape(b.y.shape)
    r[~b.mask] = 0.0
    u = (w @ r[:, :, None])[:, :, 0]
    rss = float(np.sum(r * u))
    ll = -0.5 * (
        (b.n - b.p) * math.log(2 * math.pi) - b.log_det_xtx + log_det_m + np.linalg.slogdet(xwx)[1] + rss
    )
    grad = np.zeros(2)
    c_mats, gu, gwx = [], [], []
    for k, g in enumerate(gs):
        gwx_k = g @ wx
        c_k = wx2.T @ gwx_k.reshape(-1, p)  # X'W G_k W X
        tr_pg = float(np.sum(w * g)) - float(np.sum(bread * c_k))  # W, G_k symmetric
        gu_k = (g @ u[:, :, None])[:, :, 0]
        grad[k] = -0.5 * (tr_pg - float(np.sum(u * gu_k)))
        c_mats.append(c_k)
        gu.append(gu_k)
        gwx.append(gwx_k)
    hess = None
    if hessian:
        hess = np.zeros((2, 2))
        wg = [w @ g for g in gs]
        xwgu = [wx2.T @ gu_k.ravel() for gu_k in gu]  # X'W G_k u
        for k in range(2):
            for j in range(k, 2):
                tr_wgwg = float(np.sum(wg[k] * np.swapaxes(wg[j], 1, 2)))
                d_kj = gwx[k].reshape(-1, p).T @ (wg[j] @ wx).reshape(-1, p)  # X'W G_k W G_j W X
                tr_pgpg = (
                    tr_wgwg
                    - 2 * float(np.sum(bread * d_kj))
                    + float(np.sum((bread @ c_mats[k]) * (bread @ c_mats[j]).T))
                )
                wgu_j = (w @ gu[j][:, :, None])[:, :, 0]
                ugpgu = float(np.sum(gu[k] * wgu_j)) - float(xwgu[k] @ bread @ xwgu[j])
                hess[k, j] = hess[j, k] = 0.5 * tr_pgpg - ugpgu
    if fixed is not None:
        grad = np.where(fixed, 0.0, grad)
    return _Eval(ll, grad, hess, beta, bread, w, mm, r)


def _reml(b: _Blocks, fixed: NDArray[np.bool_], scale: float) -> tuple[FloatArray, bool]:
    """Maximise the restricted likelihood over s2 >= 0 (components in ``fixed`` stay at 0).

    L-BFGS-B (scipy) with the analytic gradient brings s2 near the optimum; projected Newton
    steps with the exact Hessian then converge quadratically, so the answer is exact to
    rounding rather than to an optimiser's tolerance (metafor's nlminb stops ~1e-7 away).
    Returns s2 and whether the gradient check passed.
    """
    from scipy.optimize import minimize

    free = ~fixed

    def unpack(z: FloatArray) -> FloatArray:
        s2 = np.zeros(2)
        s2[free] = z * scale
        return s2

    def objective(z: FloatArray) -> tuple[float, FloatArray]:
        e = _evaluate(b, unpack(z))
        return -e.ll, -e.grad[free] * scale

    z0 = np.full(int(free.sum()), 0.25)
    opt = minimize(
        objective,
        z0,
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, None)] * z0.size,
        options={"ftol": 1e-10, "gtol": 1e-6, "maxiter": 500},
    )
    s2 = unpack(np.maximum(opt.x, 0.0))
    e = _evaluate(b, s2, hessian=True, fixed=fixed)
    for _ in range(30):
        if _gradient_ok(e, s2, free, scale):
            break
        # Newton on the components off the boundary (or whose gradient points inside).
        active = free & ((s2 > 0) | (e.grad > 0))
        h, g = e.hess[np.ix_(active, active)], e.grad[active]
        concave = bool(np.all(np.linalg.eigvalsh(h) < 0))
        # Newton where locally concave, else a small steepest-ascent step
        step = -np.linalg.solve(h, g) if concave else g * 1e-3 * scale**2
        for _ in range(40):  # halve until the likelihood does not go down (beyond rounding)
            new = s2.copy()
            new[active] = np.maximum(s2[active] + step, 0.0)
            e_new = _evaluate(b, new, hessian=True, fixed=fixed)
            if e_new.ll >= e.ll - 1e-13 * max(1.0, abs(e.ll)):
                break
            step = step / 2
        else:
            break
        moved = float(np.max(np.abs(new - s2)))
        s2, e = new, e_new
        if moved <= 1e-15 * max(scale, float(np.max(s2))):
            break
    return s2, _gradient_ok(e, s2, free, scale)


def _gradient_ok(e: _Eval, s2: FloatArray, free: NDArray[np.bool_], scale: float) -> bool:
    """The REML gradient check: ~0 at interior components, pointing out of [0, inf) at 0."""
    g = e.grad * max(scale, float(np.max(s2)))
    tol = _GRAD_TOL * max(1.0, abs(e.ll))
    return bool(np.all(np.abs(g[free & (s2 > 0)]) <= tol) and np.all(g[free & (s2 == 0)] <= tol))


@dataclass(frozen=True)
class GroupFit:
    """One group's fitted model: enough to predict the curve at any week (and its robust df)."""

    basis: str
    terms: tuple[str, ...]
    beta: FloatArray
    vcov_model: FloatArray
    vcov_robust: FloatArray
    sigma2: FloatArray  # (study, time-within-study)
    sigma2_time_fixed: bool
    rho: float
    loglik: float
    converged: bool
    k_studies: int
    n_estimates: int
    t_min: float
    t_max: float
    # Satterthwaite machinery (clubSandwich's get_GH): for a contrast c, g_s = c' gq[s] and
    # h_s = c' hq[s]; see _satterthwaite().
    gq: FloatArray = field(repr=False)  # (S, p, m)
    hq: FloatArray = field(repr=False)  # (S, p, p)
    #: 'robust' (CR2, Satterthwaite df) or 'model' (model-based SE, t on k - p df): see
    #: :func:`se_basis_of` and rule 'few-studies-curve'.
    se_basis: str = "robust"
    #: The smallest Satterthwaite df of the curve over its covered range (NaN without CR2).
    min_robust_df: float = float("nan")

    def contrast(self, c: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Estimate, robust SE, Satterthwaite df and model-based SE of the rows of ``c``."""
        c = np.atleast_2d(c)
        est = c @ self.beta
        se_r = np.sqrt(np.maximum(np.einsum("qp,pr,qr->q", c, self.vcov_robust, c), 0.0))
        se_m = np.sqrt(np.maximum(np.einsum("qp,pr,qr->q", c, self.vcov_model, c), 0.0))
        return est, se_r, _satterthwaite(c, self.gq, self.hq), se_m

    @property
    def model_df(self) -> int:
        """Degrees of freedom of a model-based interval: studies minus coefficients (>= 1 by RULES)."""
        return self.k_studies - len(self.beta)

    def inference(self, c: FloatArray) -> dict[str, FloatArray]:
        """Estimate, the SE and df that intervals use (by ``se_basis``), and both kinds of SE."""
        est, se_r, df_r, se_m = self.contrast(c)
        robust = self.se_basis == "robust"
        return {
            "estimate": est,
            "se": se_r if robust else se_m,
            "df": df_r if robust else np.full(est.shape, float(self.model_df)),
            "se_model": se_m,
            "se_robust": se_r,
            "df_robust": df_r,
        }

    @property
    def se_note(self) -> str:
        """One sentence on what the intervals rest on (the dashboard shows it under the curve)."""
        return se_note(self.se_basis, self.k_studies, self.min_robust_df, self.model_df)

    def predict(self, weeks: ArrayLike) -> pd.DataFrame:
        """The curve at ``weeks`` (all of them, in range or not: callers restrict the range):
        estimate, ``se`` and ``df`` by ``se_basis``, the model-based and CR2 SEs, the CR2 df."""
        t = np.asarray(weeks, dtype=float).ravel()
        return pd.DataFrame({"weeks": t, **self.inference(design_matrix(t, self.basis))})


def se_note(se_basis: str, k_studies: int, min_robust_df: float, model_df: int) -> str:
    """The sentence of :attr:`GroupFit.se_note` (rule 'few-studies-curve')."""
    studies = f"{k_studies} stud{'y' if k_studies == 1 else 'ies'}"
    if se_basis == "robust":
        return (
            f"95% CIs use cluster-robust (CR2) standard errors with Satterthwaite degrees of freedom "
            f"({studies}; df at least {min_robust_df:.1f} everywhere on the curve)."
        )
    why = (
        f"the smallest Satterthwaite df is {min_robust_df:.1f}, below {MIN_ROBUST_DF:g}"
        if np.isfinite(min_robust_df)
        else "there are too few studies for a cluster-robust variance"
    )
    return (
        f"Only {studies}: 95% CIs use model-based standard errors with t on {model_df} df "
        f"(studies minus coefficients), because cluster-robust (CR2) ones are not trusted here "
        f"({why}; Tipton 2015). The interval is wide because few studies say little."
    )


def se_basis_of(fit: GroupFit, weeks: ArrayLike) -> tuple[str, float]:
    """Rule 'few-studies-curve': ('robust', min df) when every Satterthwaite df of the curve over
    its covered range (``weeks``: observed times; a geometric grid is added) is at least
    :data:`MIN_ROBUST_DF`, else ('model', min df). NaN df (no CR2) gives 'model'."""
    t = np.unique(np.concatenate([np.asarray(weeks, dtype=float).ravel(),
                                  np.geomspace(fit.t_min, fit.t_max, _DF_GRID)]))  # fmt: skip
    _, _, df, _ = fit.contrast(design_matrix(t, fit.basis))
    low = float(np.min(df)) if df.size and np.all(np.isfinite(df)) else float("nan")
    return ("robust" if np.isfinite(low) and low >= MIN_ROBUST_DF else "model"), low


def _satterthwaite(c: FloatArray, gq: FloatArray, hq: FloatArray) -> FloatArray:
    """clubSandwich's Satterthwaite df for contrasts c (rows), CR2 with inverse-variance weights.

    For cluster s, ``g_s = c' B X_s'W_s A_s L_s`` (L_s L_s' = M_s) and ``h_s = c' B X_s'W_s A_s
    X_s L_B`` (L_B L_B' = B). With ``P = diag(|g_s|^2) - H'H``: ``df = tr(P)^2 / sum(P^2)``,
    where ``sum(P^2) = sum_s |g_s|^4 - 2 sum_s |g_s|^2 |h_s|^2 + ||H H'||_F^2``.
    """
    g = np.einsum("qp,spm->qsm", c, gq)
    h = np.einsum("qp,spr->qsr", c, hq)
    d = np.sum(g**2, axis=2)  # (q, S)
    hh = np.sum(h**2, axis=2)
    e = d.sum(axis=1) - hh.sum(axis=1)
    hht = np.einsum("qsr,sqt->qrt", h, np.swapaxes(h, 0, 1))  # H H' per contrast
    ssq = np.sum(d**2, axis=1) - 2 * np.sum(d * hh, axis=1) + np.sum(hht**2, axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return e**2 / ssq


def _sym_power(a: FloatArray, power: float) -> FloatArray:
    """Batched symmetric matrix power with clubSandwich's rule: eigenvalues <= 1e-12 give 0."""
    val, vec = np.linalg.eigh(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        vp = np.where(val > _EIG_TOL, np.abs(val) ** power, 0.0)
    return (vec * vp[..., None, :]) @ np.swapaxes(vec, -1, -2)


def _cr2(b: _Blocks, e: _Eval) -> tuple[FloatArray, FloatArray, FloatArray]:
    """CR2 robust covariance of beta and the Satterthwaite pieces, as ``clubSandwich::vcovCR``.

    Working model = fitted model (``inverse_var``): target ``Theta_s = M_s``, weights ``W_s``.
    ``A_s = T_s' (T_s (M_s - X_s B X_s') T_s')^{-1/2} T_s`` with ``T_s'T_s = M_s`` (upper
    Cholesky factor), ``c_s = X_s'W_s A_s r_s``, ``V_R = B (sum c_s c_s') B``.
    """
    lower = np.linalg.cholesky(e.m)
    upper = np.swapaxes(lower, 1, 2)
    bread = e.bread
    xbx = np.einsum("smp,pq,skq->smk", b.x, bread, b.x)
    g = upper @ (e.m - xbx) @ lower  # T (M - X B X') T'
    g = 0.5 * (g + np.swapaxes(g, 1, 2))
    adj = lower @ _sym_power(g, -0.5) @ upper  # T' G^-1/2 T
    xwa = np.einsum("smp,smk,skn->spn", b.x, e.w, adj)  # X_s' W_s A_s  (S, p, m)
    comp = np.einsum("spn,sn->sp", xwa, e.resid)
    meat = comp.T @ comp
    vcov = bread @ meat @ bread
    me = np.einsum("pq,sqn->spn", bread, xwa)  # B X'WA
    gq = me @ lower  # (S, p, m)
    lb = np.linalg.cholesky(bread)
    hq = me @ b.x @ lb  # (S, p, p)
    return 0.5 * (vcov + vcov.T), gq, hq


def fit_arrays(
    yi: ArrayLike,
    vi: ArrayLike,
    weeks: ArrayLike,
    study: ArrayLike,
    rho: float = 0.5,
    basis: Basis | str | None = None,
) -> GroupFit:
    """Fit one group: ``rma.mv(yi, V, mods = X(weeks), random = ~ 1 | study/time, "REML")``.

    ``basis=None`` applies :data:`RULES` (raises ``ValueError`` with the reason when no basis
    fits); a named basis is fitted as asked (the R fixtures and the benchmark use that).
    """
    y = np.asarray(yi, dtype=float).ravel()
    v = np.asarray(vi, dtype=float).ravel()
    t = np.asarray(weeks, dtype=float).ravel()
    if not (y.size == v.size == t.size == len(study)):
        raise ValueError("yi, vi, weeks and study must have the same length")
    if not -1 < rho < 1:
        raise ValueError("rho must lie in (-1, 1)")
    ok = np.isfinite(y) & np.isfinite(v) & (v > 0) & np.isfinite(t) & (t > 0)
    if not ok.all():
        raise ValueError("yi, vi and weeks must be finite, with vi > 0 and weeks > 0")
    s_codes = pd.factorize(np.asarray(study, dtype=object))[0].astype(np.intp)
    t_round = np.round(t, _TIME_DECIMALS)
    t_codes = pd.factorize(pd.MultiIndex.from_arrays([s_codes, t_round]))[0].astype(np.intp)
    k = int(s_codes.max()) + 1 if s_codes.size else 0
    if basis is None:
        n_windows = len(set(assign_windows(t, DEFAULT_WINDOWS)) - {""})
        basis, reason = choose_basis(k, int(np.unique(t_round).size), n_windows, y.size, t)
        if basis is None:
            raise ValueError(reason)
    x = design_matrix(t, basis)
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise ValueError(f"the {basis} design is not of full rank for these times")
    blocks = _Blocks.build(y, v, x, s_codes, t_codes, rho)
    fixed = np.array([False, int(t_codes.max()) + 1 == k])
    scale = float(max(np.var(y), np.mean(v), 1e-12))
    s2, converged = _reml(blocks, fixed, scale)
    e = _evaluate(blocks, s2)
    if k > x.shape[1]:
        vcov_r, gq, hq = _cr2(blocks, e)
    else:  # the sandwich needs more clusters than coefficients (metafor::robust stops)
        p, m = x.shape[1], blocks.y.shape[1]
        vcov_r = np.full((p, p), np.nan)
        gq, hq = np.full((k, p, m), np.nan), np.full((k, p, p), np.nan)
    if not converged:
        warnings.warn(
            "REML did not reach a zero gradient for a time-course fit; its results are flagged "
            "converged=False",
            RuntimeWarning,
            stacklevel=2,
        )
    fit = GroupFit(
        basis=str(basis),
        terms=TERMS[str(basis)],
        beta=e.beta,
        vcov_model=e.bread,
        vcov_robust=vcov_r,
        sigma2=s2,
        sigma2_time_fixed=bool(fixed[1]),
        rho=float(rho),
        loglik=e.ll,
        converged=converged,
        k_studies=k,
        n_estimates=int(y.size),
        t_min=float(t.min()),
        t_max=float(t.max()),
        gq=gq,
        hq=hq,
    )
    se_basis, low = se_basis_of(fit, t)
    return dataclasses.replace(fit, se_basis=se_basis, min_robust_df=low)


# --------------------------------------------------------------------------- frames


@dataclass(frozen=True)
class TimecourseResult:
    """What :func:`timecourse` returns: four tidy tables and the fitted models behind them.

    ``curve``: group columns, weeks, estimate, se, df, ci_lb, ci_ub, pi_lb, pi_ub (se, df and
    intervals by ``se_basis``: CR2 robust or model-based, rule 'few-studies-curve'), se_model,
    se_robust, df_robust (CR2 Satterthwaite), se_basis, k_studies, n_estimates, basis.
    ``coefficients``: group columns, term, estimate, se (model-based), robust_se, robust_df, df,
    ci_lb, ci_ub, p (by se_basis), se_basis. ``variance``: group columns, basis, sigma2_study,
    sigma2_time, sigma2_time_fixed, rho, k_studies, n_estimates, t_min, t_max, loglik,
    converged, se_basis, min_robust_df, se_note (the sentence to show). ``skipped``: group
    columns, k_studies, n_estimates, reason.
    ``fits`` maps each fitted group's key tuple to its :class:`GroupFit`.
    """

    curve: pd.DataFrame
    coefficients: pd.DataFrame
    variance: pd.DataFrame
    skipped: pd.DataFrame
    by: tuple[str, ...]
    level: float
    fits: dict[tuple[Hashable, ...], GroupFit] = field(repr=False)

    def predict(self, weeks: ArrayLike, group: tuple[Hashable, ...] | None = None) -> pd.DataFrame:
        """The curve of one group (the only one if ``group`` is None) at ``weeks`` within its range."""
        _, fit = self._one(group)
        return _curve_rows(fit, np.asarray(weeks, dtype=float).ravel(), self.level)

    def _one(self, group: tuple[Hashable, ...] | None) -> tuple[tuple[Hashable, ...], GroupFit]:
        if group is None:
            if len(self.fits) != 1:
                raise ValueError(f"{len(self.fits)} groups were fitted; name one of {sorted(self.fits)}")
            return next(iter(self.fits.items()))
        key = tuple(group) if isinstance(group, tuple) else (group,)
        if key not in self.fits:
            raise KeyError(f"no fitted curve for {key}; fitted: {sorted(self.fits)}")
        return key, self.fits[key]


#: Columns of ``curve`` after the group keys: ``se``, ``df`` and the intervals by ``se_basis``.
CURVE_COLUMNS = ["weeks", "estimate", "se", "df", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "se_model",
                 "se_robust", "df_robust", "se_basis", "k_studies", "n_estimates", "basis"]  # fmt: skip


def _curve_rows(fit: GroupFit, weeks: FloatArray, level: float) -> pd.DataFrame:
    lo, hi = np.round(fit.t_min, _TIME_DECIMALS), np.round(fit.t_max, _TIME_DECIMALS)
    t = np.unique(weeks[(np.round(weeks, _TIME_DECIMALS) >= lo) & (np.round(weeks, _TIME_DECIMALS) <= hi)])
    out = fit.predict(t)
    alpha = level_to_alpha(level)
    with np.errstate(invalid="ignore"):
        crit = np.where(out["df"] > 0, dist.t_isf(alpha / 2, out["df"].to_numpy()), np.nan)
    est, se = out["estimate"].to_numpy(), out["se"].to_numpy()
    out["ci_lb"], out["ci_ub"] = est - crit * se, est + crit * se
    pi_se = np.sqrt(se**2 + fit.sigma2.sum())
    show_pi = fit.k_studies >= MIN_STUDIES_PI
    out["pi_lb"] = est - crit * pi_se if show_pi else np.nan
    out["pi_ub"] = est + crit * pi_se if show_pi else np.nan
    out["k_studies"], out["n_estimates"], out["basis"] = fit.k_studies, fit.n_estimates, fit.basis
    out["se_basis"] = fit.se_basis
    return out[CURVE_COLUMNS]


def _prepare(
    df: pd.DataFrame,
    by: list[str],
    cluster: str | None,
    include_approximate: bool,
    inferred_scales: bool = False,
    imputed_sd: bool = True,
) -> tuple[pd.DataFrame, list[str], str]:
    need = {"yi", "vi", "time_weeks"}
    missing = sorted(need - set(df.columns))
    if missing:
        raise ValueError(f"the frame needs columns {', '.join(missing)}")
    unknown = [c for c in by if c not in df.columns]
    if unknown:
        raise ValueError(f"cannot group by {', '.join(unknown)}; columns are {', '.join(map(str, df.columns))}")
    if cluster is None:
        cluster = "cohort" if "cohort" in df.columns else "study_id"
    if cluster not in df.columns:
        raise ValueError("the frame needs a study column: 'cohort' or 'study_id' (or name one with cluster=)")
    keys = list(dict.fromkeys([*by, *(c for c in _ALIKE if c in df.columns)]))
    data = df
    if "approximate" in data.columns and not include_approximate:
        data = data[~data["approximate"].fillna(False).astype(bool)]
    y = data["yi"].to_numpy(dtype=float)
    v = data["vi"].to_numpy(dtype=float)
    t = data["time_weeks"].to_numpy(dtype=float)
    data = data[np.isfinite(y) & np.isfinite(v) & (v > 0) & np.isfinite(t) & (t > 0)]
    clus = data[cluster]
    if "study_id" in data.columns and cluster != "study_id":
        clus = clus.where(clus.notna(), data["study_id"])
    data = data.assign(_cluster=clus.astype(str), _t=np.round(data["time_weeks"].to_numpy(dtype=float), _TIME_DECIMALS))
    data = data[clus.notna().to_numpy()]
    if set(_SELECT_COLUMNS) <= set(data.columns) and len(data):
        from explorer.analysis.effects import explain

        # one estimate per cohort, time point and group, by the pooling rules with time as a key
        rows = explain(
            data.assign(cohort=data["_cluster"]),
            [*keys, "_t"],
            include_approximate=include_approximate,
            inferred_scales=inferred_scales,
            imputed_sd=imputed_sd,
        )
        data = rows[rows["status"] == "pooled"].drop(columns=["status", "reason", "combined_from"])
    return data, keys, cluster


def timecourse(
    df: pd.DataFrame,
    by: str | Sequence[str] = ("therapy",),
    at: ArrayLike | None = None,
    rho: float = 0.5,
    level: float = 95,
    *,
    cluster: str | None = None,
    include_approximate: bool = False,
    basis: Basis | str | None = None,
    inferred_scales: bool = False,
    imputed_sd: bool = True,
) -> TimecourseResult:
    """The effect as a function of follow-up time, per group (see the module docstring).

    ``df`` has ``yi``, ``vi``, ``time_weeks`` (weeks since the first injection) and a study
    column: ``cohort`` when present (as :func:`explorer.effects` gives it), else ``study_id``,
    or the column named by ``cluster``. Groups are ``by`` plus whichever of outcome, measure,
    effect_kind and comparator_kind the frame has. ``at``: weeks to report; default
    :data:`DEFAULT_WEEKS` plus each group's earliest and latest follow-up. Weeks outside a
    group's covered range are not reported. ``rho``: working within-study correlation.
    ``basis`` forces one basis (still subject to the minimum studies for robust SEs).
    """
    by = [by] if isinstance(by, str) else list(by)
    if not -1 < rho < 1:
        raise ValueError(f"rho must lie in (-1, 1), not {rho}")
    if basis is not None and basis not in BASES:
        raise ValueError(f"basis must be one of {BASES}, not {basis!r}")
    if at is not None and not np.all(np.asarray(at, dtype=float) > 0):
        raise ValueError("weeks in 'at' must be positive")
    data, keys, _ = _prepare(df, by, cluster, include_approximate, inferred_scales, imputed_sd)
    curves, coefs, variances, skipped = [], [], [], []
    fits: dict[tuple[Hashable, ...], GroupFit] = {}
    alpha = level_to_alpha(level)
    grouped = data.groupby(keys, sort=True, observed=True, dropna=True) if keys else [((), data)]
    for key, g in grouped:
        key = key if isinstance(key, tuple) else (key,)
        label = dict(zip(keys, key, strict=True))
        n, k = len(g), g["_cluster"].nunique()
        try:
            if basis is not None and k < 2:
                raise ValueError(f"{k} study is too few for a multilevel model")
            fit = fit_arrays(g["yi"], g["vi"], g["time_weeks"], g["_cluster"].to_numpy(), rho, basis)
        except ValueError as exc:
            skipped.append({**label, "k_studies": k, "n_estimates": n, "reason": str(exc)})
            continue
        fits[key] = fit
        weeks = np.asarray(DEFAULT_WEEKS if at is None else at, dtype=float).ravel()
        if at is None:
            weeks = np.concatenate([weeks, [fit.t_min, fit.t_max]])
        curves.append(_curve_rows(fit, weeks, level).assign(**label))
        inf = fit.inference(np.eye(len(fit.beta)))
        est, se_i, df_i = inf["estimate"], inf["se"], inf["df"]
        with np.errstate(invalid="ignore", divide="ignore"):
            crit = dist.t_isf(alpha / 2, df_i)
            pval = 2 * dist.t_sf(np.abs(est / se_i), df_i)
        coefs.append(
            pd.DataFrame(
                {**label, "term": fit.terms, "estimate": est, "se": inf["se_model"], "robust_se": inf["se_robust"],
                 "robust_df": inf["df_robust"], "df": df_i, "ci_lb": est - crit * se_i, "ci_ub": est + crit * se_i,
                 "p": pval, "se_basis": fit.se_basis}
            )
        )  # fmt: skip
        variances.append(
            {**label, "basis": fit.basis, "sigma2_study": fit.sigma2[0], "sigma2_time": fit.sigma2[1],
             "sigma2_time_fixed": fit.sigma2_time_fixed, "rho": fit.rho, "k_studies": fit.k_studies,
             "n_estimates": fit.n_estimates, "t_min": fit.t_min, "t_max": fit.t_max,
             "loglik": fit.loglik, "converged": fit.converged, "se_basis": fit.se_basis,
             "min_robust_df": fit.min_robust_df, "se_note": fit.se_note}
        )  # fmt: skip

    def frame(parts: list, columns: list[str], concat: bool) -> pd.DataFrame:
        if not parts:
            return pd.DataFrame(columns=[*keys, *columns])
        out = pd.concat(parts, ignore_index=True) if concat else pd.DataFrame(parts)
        return out[[*keys, *columns]]

    curve_cols = CURVE_COLUMNS
    variance_cols = ["basis", "sigma2_study", "sigma2_time", "sigma2_time_fixed", "rho", "k_studies",
                     "n_estimates", "t_min", "t_max", "loglik", "converged", "se_basis", "min_robust_df",
                     "se_note"]  # fmt: skip
    coef_cols = ["term", "estimate", "se", "robust_se", "robust_df", "df", "ci_lb", "ci_ub", "p", "se_basis"]
    return TimecourseResult(
        curve=frame(curves, curve_cols, True),
        coefficients=frame(coefs, coef_cols, True),
        variance=frame(variances, variance_cols, False),
        skipped=frame(skipped, ["k_studies", "n_estimates", "reason"], False),
        by=tuple(keys),
        level=level,
        fits=fits,
    )


# --------------------------------------------------------------------------- words


def shrink_sentence(
    result: TimecourseResult, threshold: float, group: tuple[Hashable, ...] | None = None, unit: str = ""
) -> str | None:
    """"The difference is estimated to shrink below X by week Y", only when the CI says so.

    Conservative on purpose; the sentence is returned only if all of these hold on a fine grid
    (400 points, geometric) of the group's covered range, for the magnitude of the effect:

    1. the basis is a time trend (not ``constant``: a flat line cannot shrink);
    2. early on the effect is credibly at least X: at some week before Y the whole CI lies
       beyond +X or beyond -X;
    3. from week Y to the end of the covered range the whole CI lies strictly inside (-X, X):
       it has shrunk below X and does not come back within the data;
    4. Y is the first such week, rounded *up* to a whole week.

    Otherwise (including when the range ends before the CI settles inside) returns None.
    """
    if not threshold > 0:
        raise ValueError("threshold must be positive (it bounds the magnitude of the effect)")
    _, fit = result._one(group)
    if fit.basis == "constant" or fit.t_max <= fit.t_min:
        return None
    grid = np.geomspace(fit.t_min, fit.t_max, 400)
    rows = _curve_rows(fit, grid, result.level)
    lo, hi, t = rows["ci_lb"].to_numpy(), rows["ci_ub"].to_numpy(), rows["weeks"].to_numpy()
    inside = (lo > -threshold) & (hi < threshold)
    if not inside[-1]:
        return None
    # first index from which the CI stays inside to the end
    outside_idx = np.flatnonzero(~inside)
    first = 0 if outside_idx.size == 0 else int(outside_idx[-1]) + 1
    beyond = (lo >= threshold) | (hi <= -threshold)
    if first == 0 or not beyond[:first].any():
        return None
    week = math.ceil(t[first] - 1e-9)
    x = f"{threshold:g}{(' ' + unit) if unit else ''}"
    return (
        f"The difference is estimated to shrink below {x} by week {week}: from then to week "
        f"{fit.t_max:g} (the last follow-up in the data) its {100 * (1 - level_to_alpha(result.level)):g}% confidence interval "
        f"lies within ±{threshold:g}, after lying entirely beyond it earlier."
    )
