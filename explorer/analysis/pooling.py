"""Meta-analytic pooling that reproduces R's ``metafor::rma.uni()`` (3.8-1), vectorised over groups.

The explorer re-pools on every filter change (outcome x time window x comparison ...), so
:func:`pool_arrays` fits all groups at once: group sums are ``np.bincount`` passes over the rows
and the iterative tau^2 estimators (REML Fisher scoring, Paule-Mandel Newton) update every
unfinished group in the same array operation. There is no Python loop per group.

What "reproduces metafor" means here, estimator by estimator (all checked against
``tests/fixtures/metafor`` at 1e-6):

* ``"FE"``/``"EE"``: inverse-variance common effect; no prediction interval (metafor gives none).
* ``"DL"``: DerSimonian-Laird, truncated at 0.
* ``"REML"``: metafor's Fisher scoring from the Hedges (HE) starting value, with its step halving
  at the boundary and its check that the optimum is not worse than tau^2 = 0.
* ``"PM"``: Paule-Mandel, the root of the generalised Q = k - 1 (0 when Q(0) < k - 1).
* ``knha=True``: Knapp-Hartung(-Sidik-Jonkman) as ``test="knha"``: the variance of the estimate is
  multiplied by ``RSS/(k-1)`` *without* truncation at 1 (metafor's default; its ``"adhoc"``
  variant truncates), and t(k - 1) replaces z, also in the prediction interval.
* ``k = 1``: tau^2 = 0, Q = 0, p(Q) = 1, I^2 = 0, H^2 = 1, z test, CI from ``vi``.
* I^2 and H^2: for random-effects fits ``I2 = 100 tau2 / (tau2 + s2)`` with the "typical"
  within-study variance ``s2 = (k-1) sum(w) / (sum(w)^2 - sum(w^2))``; for FE fits
  ``I2 = max(0, 100 (Q - (k-1)) / Q)`` and ``H2 = Q / (k-1)``.

Deliberate differences from metafor (each also noted where it happens):

* Where metafor *stops with an error* we return NaN for that group (and warn) so that one bad
  group cannot stop the whole table: FE/DL/PM with a zero sampling variance, REML whose iterate
  reaches tau^2 = 0 with a zero sampling variance, Fisher scoring that does not converge.
* Rows with a missing or infinite ``yi``/``vi`` are dropped (metafor drops NA rows); negative
  ``vi`` are set to 0, as metafor does.
* PM: metafor searches tau^2 only up to ``max(100, 10 mad(yi)^2)`` and stops if the root lies
  beyond; we keep bracketing upwards and return the root.
* REML stops when the change in tau^2 is below ``1e-12 * max(1, tau2)`` (metafor's default
  threshold is 1e-5 absolute; the fixtures were written with 1e-12), so estimates agree with a
  tightly converged metafor fit rather than with metafor's default stopping point; the
  local-maximum check uses metafor's default tolerance ``eps^0.25``.
* REML where plain Fisher scoring cycles without converging (metafor stops with an error): we
  go on with a safeguarded Newton iteration on the same score equation and return what
  metafor's documented remedy ``rma(..., control=list(stepadj=0.5))`` returns.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from explorer.analysis import distributions as dist
from explorer.analysis.effect_sizes import level_to_alpha

__all__ = [
    "METHODS",
    "POOL_KEYS",
    "egger_test",
    "few_studies",
    "leave_one_out",
    "pool_arrays",
    "pool_frame",
    "subgroup_test",
]

Method = Literal["FE", "EE", "DL", "REML", "PM"]
FloatArray = NDArray[np.float64]

METHODS: tuple[str, ...] = ("FE", "EE", "DL", "REML", "PM")
#: Keys of the dict returned by :func:`pool_arrays` (also the columns added by :func:`pool_frame`).
POOL_KEYS: tuple[str, ...] = (
    "k", "estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "ddf", "tau2", "tau2_se",
    "I2", "H2", "Q", "Q_df", "Q_p", "pi_lb", "pi_ub",
)  # fmt: skip

_EPS = float(np.finfo(float).eps)
_REML_THRESHOLD = 1e-12  # relative (to max(1, tau2)) change in tau^2 that ends Fisher scoring
_LL0_TOL = _EPS**0.25  # metafor's default control$tol for its "stuck at a local maximum" check
_PM_TOL = 1e-13  # relative tolerance of the Paule-Mandel root
_MAXITER = 10_000
_FISHER_PLAIN_ITER = 50  # plain Fisher steps before the safeguarded Newton takes over


# --------------------------------------------------------------------------- helpers


TESTS: tuple[str, ...] = ("z", "knha", "adhoc")


def _check_test(test: str | None, knha: bool) -> str:
    """metafor's ``test``: ``"z"``, ``"knha"`` (Hartung-Knapp-Sidik-Jonkman) or ``"adhoc"`` (HKSJ
    whose variance factor is not allowed below 1). ``knha=True`` is the older spelling of
    ``test="knha"``; an explicit ``test`` wins."""
    if test is None:
        return "knha" if knha else "z"
    t = str(test).lower()
    if t not in TESTS:
        raise ValueError(f"test must be one of {TESTS}, not {test!r}")
    return t


def _check_method(method: str) -> str:
    m = str(method).upper()
    if m not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    return "FE" if m == "EE" else m


class _Sums:
    """Per-group sums over rows: one ``np.bincount`` per call, whatever the number of groups."""

    def __init__(self, codes: NDArray[np.intp], n_groups: int) -> None:
        self.codes = codes
        self.n = n_groups

    def __call__(self, x: FloatArray) -> FloatArray:
        return np.bincount(self.codes, weights=x, minlength=self.n)

    def subset(self, rows: NDArray[np.bool_]) -> _Sums:
        return _Sums(self.codes[rows], self.n)


class _InPlay:
    """Rows of the groups still iterating, with their group codes compacted to ``0 .. A-1``.

    Iterative estimators settle most groups in a few steps; working only on the unfinished ones
    keeps a long tail (a few slow groups) from costing a pass over every row and group per step.
    ``active`` may only lose groups between calls to :meth:`step`.
    """

    def __init__(self, s: _Sums, y: FloatArray, v: FloatArray) -> None:
        self.codes, self.y, self.v, self.n = s.codes, y, v, s.n

    def step(self, active: NDArray[np.bool_]) -> tuple[NDArray[np.intp], _Sums, FloatArray, FloatArray]:
        keep = active[self.codes]
        if not keep.all():
            self.codes, self.y, self.v = self.codes[keep], self.y[keep], self.v[keep]
        idx = np.flatnonzero(active)
        remap = np.zeros(self.n, dtype=np.intp)
        remap[idx] = np.arange(idx.size)
        return idx, _Sums(remap[self.codes], idx.size), self.y, self.v


def _weighted_fit(s: _Sums, y: FloatArray, w: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Sum of weights, weighted mean and residuals ``y - mean`` for every group."""
    sw = s(w)
    mu = s(w * y) / sw
    return sw, mu, y - mu[s.codes]


# --------------------------------------------------------------------------- tau^2 estimators


def _tau2_reml(
    s: _Sums, y: FloatArray, v: FloatArray, k: NDArray[np.intp], allpos: NDArray[np.bool_]
) -> FloatArray:
    """REML tau^2 by metafor's Fisher scoring, all groups at once.

    Start: the Hedges (HE) estimate ``max(0, (sum (y - ybar)^2 - (1 - 1/k) sum v) / (k - 1))``.
    Step: ``(y'PPy - tr P) / tr(PP)``, halved while it would make tau^2 negative. For an
    intercept-only model with weights w and weighted mean mu: ``Py = w (y - mu)``,
    ``tr P = sum w - sum w^2 / sum w`` and
    ``tr PP = sum w^2 - 2 sum w^3 / sum w + (sum w^2 / sum w)^2`` -- all group sums.

    Plain Fisher scoring can cycle around the optimum for ever (observed information more than
    twice the expected one; about 1 group in 250 of the benchmark data) or creep towards it.
    metafor then stops with "Fisher scoring algorithm did not converge" and its help suggests a
    smaller step (``control=list(stepadj=0.5)``). Groups not settled after
    ``_FISHER_PLAIN_ITER`` plain steps therefore continue with a safeguarded Newton iteration on
    the same REML score equation (:func:`_reml_steps`), which converges to the root that the
    smaller steps reach, only faster: it changes nothing where metafor converges and gives
    metafor's ``stepadj=0.5`` answer where it does not (fixture ``reml_cycle``).
    """
    kf = k.astype(float)
    multi = k >= 2
    with np.errstate(divide="ignore", invalid="ignore"):
        ybar = s(y) / kf
        rss = s((y - ybar[s.codes]) ** 2)
        start = np.where(multi, np.maximum(0.0, (rss - (1 - 1 / kf) * s(v)) / (kf - 1)), 0.0)
    failed = np.zeros(k.shape, dtype=bool)
    tau2, active = _reml_steps(s, y, v, start, multi.copy(), failed, _FISHER_PLAIN_ITER, newton=False)
    if active.any():
        tau2, active = _reml_steps(s, y, v, tau2, active, failed, _MAXITER, newton=True)
    if active.any():
        warnings.warn(
            f"REML did not converge for {int(active.sum())} group(s); their results are NaN "
            "(metafor stops here).",
            RuntimeWarning,
            stacklevel=3,
        )
    tau2[failed | active] = np.nan
    return _reml_boundary_check(s, y, v, k, allpos, tau2)


def _reml_steps(
    s: _Sums,
    y: FloatArray,
    v: FloatArray,
    tau2: FloatArray,
    active: NDArray[np.bool_],
    failed: NDArray[np.bool_],
    maxiter: int,
    newton: bool,
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Iterate on the ``active`` groups until tau^2 changes by < 1e-12 max(1, tau^2).

    ``newton=False``: metafor's Fisher scoring step ``S / tr(PP)`` for the REML score
    ``S = y'PPy - tr P``. ``newton=True``: the Newton step ``-S / S'`` with
    ``S' = tr(PP) - 2 y'PPPy`` (``y'PPPy = sum w^3 r^2 - (sum w^2 r)^2 / sum w``), accepted only
    where the likelihood is locally concave (``S' < 0``) and the step stays inside the bracket
    of tau^2 values seen with ``S > 0`` and ``S < 0``; otherwise bisection of that bracket, or a
    half Fisher step (metafor's ``stepadj = 0.5``) while no bracket exists. Every step is halved
    while it would make tau^2 negative, as in metafor.

    Returns (tau2, still active). ``failed`` is set in place for groups whose weights become
    infinite (a zero sampling variance meeting tau^2 = 0: metafor's "Division by zero" error).
    """
    tau2, active = tau2.copy(), active.copy()
    lo = np.full_like(tau2, -np.inf)  # largest tau^2 seen with S > 0
    hi = np.full_like(tau2, np.inf)  # smallest tau^2 seen with S < 0
    play = _InPlay(s, y, v)
    for _ in range(maxiter):
        if not active.any():
            break
        idx, sa, ya, va = play.step(active)
        t = tau2[idx]
        denom = va + t[sa.codes]
        zero = denom <= 0
        if zero.any():
            bad = idx[np.unique(sa.codes[zero])]
            failed[bad] = True
            active[bad] = False
            continue
        w = 1 / denom
        with np.errstate(divide="ignore", invalid="ignore"):
            sw, _, r = _weighted_fit(sa, ya, w)
            sw2, sw3 = sa(w**2), sa(w**3)
            tr_p = sw - sw2 / sw
            tr_pp = sw2 - 2 * sw3 / sw + (sw2 / sw) ** 2
            score = sa(w**2 * r**2) - tr_p
            adj = score / tr_pp
            if newton:
                lo[idx] = np.where(score > 0, np.maximum(lo[idx], t), lo[idx])
                hi[idx] = np.where(score < 0, np.minimum(hi[idx], t), hi[idx])
                lo_i, hi_i = lo[idx], hi[idx]
                dscore = tr_pp - 2 * (sa(w**3 * r**2) - sa(w**2 * r) ** 2 / sw)
                step = -score / dscore
                inside = (dscore < 0) & (t + step > lo_i) & (t + step < hi_i) & (t + step >= 0)
                bracketed = np.isfinite(lo_i) & np.isfinite(hi_i)
                adj = np.where(inside, step, np.where(bracketed, 0.5 * (lo_i + hi_i) - t, 0.5 * adj))
        adj = _halve_into_domain(t, np.where(np.isfinite(adj), adj, 0.0))
        new = t + adj
        tau2[idx] = new
        active[idx[np.abs(new - t) <= _REML_THRESHOLD * np.maximum(1.0, t)]] = False
    return tau2, active


def _halve_into_domain(tau2: FloatArray, adj: FloatArray) -> FloatArray:
    """metafor's ``while (tau2 + adj < 0) adj <- adj / 2``, vectorised.

    The number of halvings is computed, not looped: the smallest n >= 1 with
    ``tau2 + adj / 2^n >= 0`` (``ldexp`` scales by 2^-n exactly, as repeated halving does).
    From tau^2 = 0 a negative step halves until it underflows to zero, so it is zero at once.
    """
    neg = tau2 + adj < 0
    if not neg.any():
        return adj
    adj = adj.copy()
    stuck = neg & (tau2 <= 0)
    adj[stuck] = 0.0
    neg &= ~stuck
    if neg.any():
        t, a = tau2[neg], adj[neg]
        with np.errstate(divide="ignore", over="ignore"):
            n = np.clip(np.ceil(np.log2(-a / t)), 1, 1100).astype(np.int64)
        while (short := t + np.ldexp(a, -n) < 0).any():  # guard against rounding in log2
            n[short] += 1
        while (spare := (n > 1) & (t + np.ldexp(a, -(n - 1)) >= 0)).any():
            n[spare] -= 1
        adj[neg] = np.ldexp(a, -n)
    return adj


def _reml_loglik(s: _Sums, y: FloatArray, v: FloatArray, k: NDArray[np.intp], tau2: FloatArray) -> FloatArray:
    """Restricted log-likelihood of the intercept-only model (metafor's ll0/ll check)."""
    w = 1 / (v + tau2[s.codes])
    sw, _, r = _weighted_fit(s, y, w)
    return (
        -0.5 * (k - 1) * np.log(2 * np.pi)
        - 0.5 * s(np.log(v + tau2[s.codes]))
        - 0.5 * np.log(sw)
        - 0.5 * s(w * r**2)
    )


def _reml_boundary_check(
    s: _Sums, y: FloatArray, v: FloatArray, k: NDArray[np.intp], allpos: NDArray[np.bool_], tau2: FloatArray
) -> FloatArray:
    """metafor's ``ll0check``: if tau^2 = 0 has a higher restricted likelihood than the point
    Fisher scoring stopped at, scoring was stuck at a local maximum and tau^2 is set to 0."""
    check = allpos & (k >= 2) & np.isfinite(tau2) & (tau2 > _REML_THRESHOLD)
    if not check.any():
        return tau2
    rows = check[s.codes]
    sc, yc, vc = s.subset(rows), y[rows], v[rows]
    with np.errstate(divide="ignore", invalid="ignore"):
        ll0 = _reml_loglik(sc, yc, vc, k, np.zeros_like(tau2))
        ll = _reml_loglik(sc, yc, vc, k, np.where(check, tau2, 0.0))
    reset = check & (ll0 - ll > _LL0_TOL)
    if reset.any():
        warnings.warn(
            f"REML: {int(reset.sum())} group(s) stuck at a local maximum; tau^2 set to 0 as metafor does.",
            RuntimeWarning,
            stacklevel=4,
        )
    return np.where(reset, 0.0, tau2)


def _tau2_pm(
    s: _Sums, y: FloatArray, v: FloatArray, k: NDArray[np.intp], q_fe: FloatArray, allpos: NDArray[np.bool_]
) -> FloatArray:
    """Paule-Mandel tau^2: root of ``Q(tau2) = sum w (y - mu_w)^2 = k - 1``, ``w = 1/(v + tau2)``.

    Q is decreasing in tau^2 with ``dQ/dtau2 = -sum w^2 (y - mu_w)^2``, so Newton's method from 0
    climbs to the root; a bracket [lo, hi] (hi doubled until Q(hi) < k - 1 when needed) guards
    every step with bisection. All groups iterate together. ``Q(0) < k - 1`` gives 0.
    """
    target = (k - 1).astype(float)
    tau2 = np.zeros(k.shape, dtype=float)
    active = (k >= 2) & allpos & (q_fe >= target)
    lo = np.zeros_like(tau2)
    hi = np.full_like(tau2, np.inf)
    play = _InPlay(s, y, v)
    for _ in range(_MAXITER):
        if not active.any():
            break
        idx, sa, ya, va = play.step(active)
        t = tau2[idx]
        w = 1 / (va + t[sa.codes])
        with np.errstate(divide="ignore", invalid="ignore"):
            _, _, r = _weighted_fit(sa, ya, w)
            f = sa(w * r**2) - target[idx]
            step = f / sa(w**2 * r**2)
        lo[idx] = np.where(f > 0, t, lo[idx])
        hi[idx] = np.where(f < 0, t, hi[idx])
        lo_i, hi_i = lo[idx], hi[idx]
        new = t + step
        outside = ~np.isfinite(new) | (new < lo_i) | (new > hi_i)
        fallback = np.where(np.isfinite(hi_i), 0.5 * (lo_i + hi_i), np.maximum(2 * lo_i, 1.0))
        new = np.where(outside, fallback, new)
        tau2[idx] = new
        active[idx[(f == 0) | (np.abs(new - t) <= _PM_TOL * np.maximum(1.0, t))]] = False
    if active.any():
        warnings.warn(
            f"Paule-Mandel did not converge for {int(active.sum())} group(s); their results are NaN.",
            RuntimeWarning,
            stacklevel=3,
        )
        tau2[active] = np.nan
    return tau2


# --------------------------------------------------------------------------- pooling


def pool_arrays(
    yi: ArrayLike,
    vi: ArrayLike,
    group_codes: ArrayLike | None = None,
    method: Method | str = "REML",
    knha: bool = False,
    level: float = 95,
    n_groups: int | None = None,
    test: str | None = None,
    p_values: bool = True,
) -> dict[str, NDArray[np.float64] | NDArray[np.intp]]:
    """Pool effect sizes within every group at once, as ``metafor::rma.uni`` + ``predict()``.

    Parameters
    ----------
    yi, vi
        Effect sizes and sampling variances, one row per study estimate.
    group_codes
        Integer group of each row, ``0 .. G-1`` (e.g. ``DataFrame.groupby(...).ngroup()``);
        ``None`` pools everything as one group.
    method
        ``"FE"`` (= ``"EE"``), ``"DL"``, ``"REML"`` or ``"PM"``.
    knha
        Knapp-Hartung adjustment (metafor ``test="knha"``): t(k-1) tests, CIs and PIs and the
        untruncated variance factor ``RSS/(k-1)``. Ignored for ``k = 1``, as in metafor.
    test
        ``"z"``, ``"knha"`` or ``"adhoc"`` (metafor's ``test``; overrides ``knha``). ``"adhoc"``
        is ``"knha"`` with the variance factor truncated below at 1.
    level
        Confidence level, 95 or 0.95.
    n_groups
        G, when it must exceed ``max(group_codes) + 1`` (empty groups come back with k = 0, NaN).
    p_values
        ``False`` leaves ``pval`` and ``Q_p`` NaN, for callers that show only estimates and
        intervals: p-values need ``scipy.special`` (about 12 MB per dashboard kernel), while a
        95% interval of a small pool does not (:mod:`explorer.analysis.distributions`). Every
        other result is the same either way.

    Returns
    -------
    dict
        Arrays of length G keyed by :data:`POOL_KEYS`: ``k``; ``estimate``, ``se``, ``zval``
        (the t statistic under ``knha``), ``pval``, ``ci_lb``/``ci_ub``; ``ddf`` (t degrees of
        freedom, NaN for z); ``tau2`` and ``tau2_se`` (metafor's ``se.tau2``; NaN for FE and
        k = 1); ``I2`` (%), ``H2``; Cochran's ``Q`` with ``Q_df`` and ``Q_p``; ``pi_lb``/``pi_ub``
        (prediction interval; NaN for FE, where metafor gives none).
    """
    method = _check_method(method)
    y_all = np.asarray(yi, dtype=float).ravel()
    v_all = np.asarray(vi, dtype=float).ravel()
    if y_all.shape != v_all.shape:
        raise ValueError("yi and vi must have the same length")
    if group_codes is None:
        codes_all = np.zeros(y_all.shape, dtype=np.intp)
    else:
        codes_all = np.asarray(group_codes).ravel()
        if codes_all.shape != y_all.shape:
            raise ValueError("group_codes must have one entry per row of yi")
        if codes_all.size and not np.issubdtype(codes_all.dtype, np.integer):
            raise TypeError("group_codes must be integer codes 0..G-1 (use pandas ngroup() or factorize())")
        codes_all = codes_all.astype(np.intp, copy=False)
        if codes_all.size and codes_all.min() < 0:
            raise ValueError("group_codes must be non-negative")
    size = int(codes_all.max()) + 1 if codes_all.size else (1 if group_codes is None else 0)
    if n_groups is None:
        n_groups = size
    elif n_groups < size:
        raise ValueError(f"n_groups={n_groups} but group_codes go up to {size - 1}")
    keep = np.isfinite(y_all) & np.isfinite(v_all)
    y = y_all[keep]
    v = np.maximum(v_all[keep], 0.0)  # metafor: "Negative sampling variances constrained to zero"
    mode = _check_test(test, knha)
    return _pool(_Sums(codes_all[keep], n_groups), y, v, method, mode, level_to_alpha(level), p_values)


def _pool(
    s: _Sums, y: FloatArray, v: FloatArray, method: str, mode: str, alpha: float, p_values: bool = True
) -> dict:
    k = np.bincount(s.codes, minlength=s.n).astype(np.intp)
    kf = k.astype(float)
    multi = k >= 2
    allpos = s((v <= 0).astype(float)) == 0
    random = method != "FE"

    with np.errstate(divide="ignore", invalid="ignore"):
        # Common-effect quantities: Q, I^2 and the DL estimator are built on them.
        w_fe = np.where(v > 0, 1 / np.where(v > 0, v, 1.0), np.nan)
        sw, _, r_fe = _weighted_fit(s, y, w_fe)
        sw2 = s(w_fe**2)
        q = np.maximum(0.0, s(w_fe * r_fe**2))
        tr_p = sw - sw2 / sw

        if method == "FE":
            tau2 = np.zeros(s.n)
        elif method == "DL":
            tau2 = np.where(multi, np.maximum(0.0, (q - (kf - 1)) / tr_p), 0.0)
        elif method == "PM":
            tau2 = _tau2_pm(s, y, v, k, q, allpos)
        else:
            tau2 = _tau2_reml(s, y, v, k, allpos)
        if method in ("DL", "PM"):
            tau2[multi & ~allpos] = np.nan  # metafor: estimator "cannot be used" with vi = 0

        denom = v + tau2[s.codes]
        failed = s((~(denom > 0)).astype(float)) > 0  # zero weight denominator or NaN tau^2
        w = np.where(denom > 0, 1 / np.where(denom > 0, denom, 1.0), 0.0)
        sw_re, est, r = _weighted_fit(s, y, w)
        var_est = 1 / sw_re
        use_t = (mode != "z") & multi
        if mode != "z":
            rss = s(w * r**2)
            s2w = np.where(rss <= _EPS, 0.0, rss / (kf - 1))
            if mode == "adhoc":
                s2w = np.maximum(s2w, 1.0)
            var_est = np.where(use_t, s2w * var_est, var_est)
        se = np.sqrt(var_est)
        ddf = np.where(use_t, kf - 1, np.nan)
        df_safe = np.where(use_t, kf - 1, 1.0)
        crit = np.where(use_t, dist.t_isf(alpha / 2, df_safe), dist.norm_isf(alpha / 2))
        zval = est / se
        if p_values:
            pval = np.where(use_t, 2 * dist.t_sf(np.abs(zval), df_safe), 2 * dist.norm_sf(np.abs(zval)))
        else:
            pval = np.full(s.n, np.nan)
        ci_lb, ci_ub = est - crit * se, est + crit * se
        if random:
            half = crit * np.sqrt(var_est + tau2)
            pi_lb, pi_ub = est - half, est + half
        else:
            pi_lb = pi_ub = np.full(s.n, np.nan)

        q_out = np.where(multi, q, 0.0)
        if p_values:
            q_p = np.where(multi, dist.chi2_sf(q, np.where(multi, kf - 1, 1.0)), 1.0)
        else:
            q_p = np.full(s.n, np.nan)
        if random:
            vt = (kf - 1) / tr_p
            i2 = np.where(multi, 100 * tau2 / (vt + tau2), 0.0)
            h2 = np.where(multi, tau2 / vt + 1, 1.0)
        else:
            i2 = np.where(multi, np.maximum(0.0, 100 * (q - (kf - 1)) / q), 0.0)
            h2 = np.where(multi, q / (kf - 1), 1.0)

        if method == "DL":
            spp = sw2 - 2 * s(w_fe**3) / sw + (sw2 / sw) ** 2
            tau2_se = np.sqrt(2 * (kf - 1) + 4 * tau2 * tr_p + 2 * tau2**2 * spp) / tr_p
        elif method == "REML":
            sw2_re = s(w**2)
            tau2_se = np.sqrt(2 / (sw2_re - 2 * s(w**3) / sw_re + (sw2_re / sw_re) ** 2))
        elif method == "PM":
            tau2_se = np.sqrt(2 * kf**2 / (kf - 1) / sw_re**2)
        else:
            tau2_se = np.full(s.n, np.nan)
        tau2_se = np.where(multi, tau2_se, np.nan)

    out: dict[str, NDArray] = {
        "k": k,
        "estimate": est,
        "se": se,
        "zval": zval,
        "pval": pval,
        "ci_lb": ci_lb,
        "ci_ub": ci_ub,
        "ddf": ddf,
        "tau2": tau2,
        "tau2_se": tau2_se,
        "I2": i2,
        "H2": h2,
        "Q": q_out,
        "Q_df": np.maximum(kf - 1, 0.0),
        "Q_p": q_p,
        "pi_lb": pi_lb,
        "pi_ub": pi_ub,
    }
    # metafor computes no Q, I^2 or H^2 when a sampling variance is 0.
    for key in ("Q", "Q_p", "I2", "H2"):
        out[key] = np.where(allpos, out[key], np.nan)
    dead = failed | (k == 0)
    if (failed & (k > 0)).any():
        warnings.warn(
            f"{int((failed & (k > 0)).sum())} group(s) have a zero sampling variance that metafor "
            f"cannot pool with method={method!r}; their results are NaN.",
            RuntimeWarning,
            stacklevel=3,
        )
    for key in POOL_KEYS:
        if key not in ("k", "Q_df"):
            out[key] = np.where(dead, np.nan, out[key]).astype(float)
    return out


def pool_frame(
    df: pd.DataFrame,
    by: str | Sequence[str] | None = None,
    method: Method | str = "REML",
    knha: bool = False,
    level: float = 95,
    *,
    yi: str = "yi",
    vi: str = "vi",
    dropna: bool = True,
    test: str | None = None,
    p_values: bool = True,
) -> pd.DataFrame:
    """Pool ``df[yi]``/``df[vi]`` within each combination of the ``by`` columns.

    Returns one row per group, sorted by the group keys: the ``by`` columns followed by the
    :data:`POOL_KEYS` statistics of :func:`pool_arrays` (``p_values`` as there). Rows whose key
    is missing are left out when ``dropna`` (pandas' groupby default).
    """
    cols = [] if by is None else ([by] if isinstance(by, str) else list(by))
    if cols:
        codes = df.groupby(cols, sort=True, dropna=dropna, observed=True).ngroup().to_numpy()
        keep = codes >= 0
        codes = codes[keep].astype(np.intp)
        groups, first = np.unique(codes, return_index=True)
        keys = df.loc[keep, cols].iloc[first].reset_index(drop=True)
        n_groups = int(groups.size)
    else:
        keep = np.ones(len(df), dtype=bool)
        codes = np.zeros(len(df), dtype=np.intp)
        keys = pd.DataFrame(index=range(1 if len(df) else 0))
        n_groups = len(keys)
    res = pool_arrays(
        df[yi].to_numpy(dtype=float)[keep],
        df[vi].to_numpy(dtype=float)[keep],
        codes,
        method=method,
        knha=knha,
        level=level,
        n_groups=n_groups,
        test=test,
        p_values=p_values,
    )
    return pd.concat([keys, pd.DataFrame(res)], axis=1)


# --------------------------------------------------------------------------- few studies

#: Rule 'two-trials' (:mod:`explorer.analysis.comparability`): pools of this many trials are flagged.
FEW_STUDIES_K = 2
#: Keys of the dict returned by :func:`few_studies`.
FEW_STUDIES_KEYS: tuple[str, ...] = ("few_studies", "fe_estimate", "fe_ci_lb", "fe_ci_ub", "wider_than_trials")


def few_studies(
    yi: ArrayLike,
    vi: ArrayLike,
    group_codes: ArrayLike,
    ci_lb: ArrayLike,
    ci_ub: ArrayLike,
    level: float = 95,
    n_groups: int | None = None,
) -> dict[str, NDArray]:
    """Rule 'two-trials', per group: what a pool of two trials can and cannot say.

    With two trials the between-trial variance is not estimable in any useful sense: a
    normal-based random-effects interval is too narrow, the HKSJ interval (t with 1 df) is often
    wider than either trial's own, and no method is right (Gonnermann et al. 2015, Stat Med
    34:2476; Bender et al. 2018, Res Synth Methods 9:382). So the random-effects estimate with
    its HKSJ interval stays the pool's (``ci_lb``/``ci_ub``: the caller's), and beside it:

    * ``few_studies``: True where k == :data:`FEW_STUDIES_K`;
    * ``fe_estimate``, ``fe_ci_lb``, ``fe_ci_ub``: the common-effect (inverse-variance, normal)
      estimate and interval, what the two trials say *if* both estimate one effect (Bender
      2018's "fixed-effect model, if homogeneity is plausible"); given only where k == 2;
    * ``wider_than_trials``: the pool's interval is wider than every trial's own 95% interval
      (``yi +- z sqrt(vi)``), i.e. pooling added no precision (k >= 2; False for k < 2).
    """
    y = np.asarray(yi, dtype=float).ravel()
    v = np.asarray(vi, dtype=float).ravel()
    codes = np.asarray(group_codes, dtype=np.intp).ravel()
    n = int(n_groups if n_groups is not None else (codes.max() + 1 if codes.size else 0))
    fe = pool_arrays(y, v, codes, method="FE", test="z", level=level, n_groups=n, p_values=False)
    k = fe["k"]
    two = k == FEW_STUDIES_K
    crit = dist.norm_isf(level_to_alpha(level) / 2)
    ok = np.isfinite(y) & np.isfinite(v)
    own = np.full(n, np.nan)
    np.fmax.at(own, codes[ok], 2 * crit * np.sqrt(np.maximum(v[ok], 0.0)))
    width = np.asarray(ci_ub, dtype=float) - np.asarray(ci_lb, dtype=float)
    with np.errstate(invalid="ignore"):
        wider = (k >= 2) & np.isfinite(width) & (width > own)
    return {
        "few_studies": two,
        "fe_estimate": np.where(two, fe["estimate"], np.nan),
        "fe_ci_lb": np.where(two, fe["ci_lb"], np.nan),
        "fe_ci_ub": np.where(two, fe["ci_ub"], np.nan),
        "wider_than_trials": wider,
    }


# --------------------------------------------------------------------------- sensitivity


def leave_one_out(
    yi: ArrayLike,
    vi: ArrayLike,
    method: Method | str = "REML",
    knha: bool = False,
    level: float = 95,
    test: str | None = None,
) -> dict[str, NDArray]:
    """Each study omitted in turn, as ``metafor::leave1out()``, in one vectorised pool.

    The k refits are k groups of k - 1 rows for :func:`pool_arrays`. Arrays are aligned with
    the input; a row whose own ``yi``/``vi`` is missing gets NaN (metafor's ``na.exclude``).
    """
    y = np.asarray(yi, dtype=float).ravel()
    v = np.asarray(vi, dtype=float).ravel()
    idx = np.flatnonzero(np.isfinite(y) & np.isfinite(v))
    k = idx.size
    if k < 2:
        raise ValueError("leave-one-out needs at least 2 studies (metafor stops at k = 1)")
    others = np.broadcast_to(idx, (k, k))[~np.eye(k, dtype=bool)]
    codes = np.repeat(np.arange(k, dtype=np.intp), k - 1)
    res = pool_arrays(y[others], v[others], codes, method=method, knha=knha, level=level, n_groups=k, test=test)
    out: dict[str, NDArray] = {}
    for key, val in res.items():
        full = np.zeros(y.size, dtype=np.intp) if key == "k" else np.full(y.size, np.nan)
        full[idx] = val
        out[key] = full
    return out


# --------------------------------------------------------------------------- meta-regression


def _meta_regression(
    y: FloatArray, v: FloatArray, x: FloatArray, method: str, mode: str, alpha: float
) -> dict[str, FloatArray | float]:
    """One mixed-effects meta-regression ``y ~ X`` as ``rma.uni(mods=)`` (dense, per call).

    Used by :func:`egger_test` and the common-tau^2 :func:`subgroup_test`, which are not on the
    hot path; written with metafor's matrix formulas so it also serves as an independent
    reference for the vectorised intercept-only code in the tests.
    """
    k, p = x.shape
    if k <= p:
        raise ValueError(f"need more studies ({k}) than coefficients ({p})")
    allpos = bool(np.all(v > 0))
    if method in ("DL", "PM") and not allpos:
        raise ValueError(f"{method} cannot be used with zero sampling variances (as in metafor)")

    def proj(w: FloatArray) -> FloatArray:
        xw = x * w[:, None]
        return np.diag(w) - xw @ np.linalg.solve(x.T @ xw, xw.T)

    def qgen(t: float) -> float:
        p_mat = proj(1 / (v + t))
        return float(y @ p_mat @ y)

    if method == "FE":
        tau2 = 0.0
    elif method == "DL":
        p_mat = proj(1 / v)
        tau2 = max(0.0, (float(y @ p_mat @ y) - (k - p)) / float(np.trace(p_mat)))
    elif method == "PM":
        tau2 = 0.0
        if qgen(0.0) >= k - p:
            hi = 1.0
            while qgen(hi) > k - p:
                hi *= 2
            lo = 0.0
            while hi - lo > _PM_TOL * max(1.0, hi):
                mid = 0.5 * (lo + hi)
                lo, hi = (mid, hi) if qgen(mid) > k - p else (lo, mid)
            tau2 = 0.5 * (lo + hi)
    else:
        p0 = np.eye(k) - x @ np.linalg.solve(x.T @ x, x.T)
        tr_pv = float(np.sum(np.diag(p0) * v))  # tr(P0 V) with V = diag(v): Hedges' starting value
        tau2 = max(0.0, (float(y @ p0 @ y) - tr_pv) / (k - p))
        lo, hi = -np.inf, np.inf  # bracket of the score's sign change (see _reml_steps)
        for it in range(_MAXITER):
            if np.any(v + tau2 <= 0):
                raise ValueError("REML reached tau^2 = 0 with a zero sampling variance (metafor stops)")
            p_mat = proj(1 / (v + tau2))
            py = p_mat @ y
            tr_pp = float(np.sum(p_mat * p_mat))
            score = float(py @ py) - float(np.trace(p_mat))
            adj = score / tr_pp
            if it >= _FISHER_PLAIN_ITER:  # same safeguarded Newton as the vectorised code
                lo = max(lo, tau2) if score > 0 else lo
                hi = min(hi, tau2) if score < 0 else hi
                dscore = tr_pp - 2 * float(py @ p_mat @ py)
                step = -score / dscore
                if dscore < 0 and lo < tau2 + step < hi and tau2 + step >= 0:
                    adj = step
                elif np.isfinite(lo) and np.isfinite(hi):
                    adj = 0.5 * (lo + hi) - tau2
                else:
                    adj = 0.5 * adj
            while tau2 + adj < 0:
                adj = 0.0 if tau2 == 0 else adj / 2
            old, tau2 = tau2, tau2 + adj
            if abs(tau2 - old) <= _REML_THRESHOLD * max(1.0, old):
                break
        else:
            raise RuntimeError("REML did not converge")
        if allpos and tau2 > _REML_THRESHOLD:

            def loglik(t: float) -> float:
                w = 1 / (v + t)
                xtwx = x.T @ (x * w[:, None])
                b = np.linalg.solve(xtwx, x.T @ (w * y))
                return float(
                    -0.5 * (k - p) * np.log(2 * np.pi)
                    - 0.5 * np.sum(np.log(v + t))
                    - 0.5 * np.linalg.slogdet(xtwx)[1]
                    - 0.5 * np.sum(w * (y - x @ b) ** 2)
                )

            if loglik(0.0) - loglik(tau2) > _LL0_TOL:
                tau2 = 0.0

    if np.any(v + tau2 <= 0):
        raise ValueError("zero sampling variance with tau^2 = 0: weights undefined (metafor stops)")
    w = 1 / (v + tau2)
    xtwx = x.T @ (x * w[:, None])
    vb = np.linalg.inv(xtwx)
    beta = vb @ (x.T @ (w * y))
    if isinstance(mode, bool):  # the older boolean spelling
        mode = "knha" if mode else "z"
    knha = mode != "z"
    ddf = float(k - p) if knha else np.nan
    if knha:
        rss = float(np.sum(w * (y - x @ beta) ** 2))
        s2w = 0.0 if rss <= _EPS else rss / (k - p)
        vb = vb * (max(s2w, 1.0) if mode == "adhoc" else s2w)
    se = np.sqrt(np.diag(vb))
    with np.errstate(divide="ignore", invalid="ignore"):
        zval = beta / se
    if knha:
        crit = dist.t_isf(alpha / 2, ddf)
        pval = 2 * dist.t_sf(np.abs(zval), ddf)
    else:
        crit = dist.norm_isf(alpha / 2)
        pval = 2 * dist.norm_sf(np.abs(zval))
    btt = np.arange(1, p)
    qm = qm_df = qm_p = np.nan
    if btt.size:
        b = beta[btt]
        qm = float(b @ np.linalg.solve(vb[np.ix_(btt, btt)], b))
        qm_df = float(btt.size)
        if knha:
            qm /= qm_df
            qm_p = float(dist.f_sf(qm, qm_df, k - p))
        else:
            qm_p = float(dist.chi2_sf(qm, qm_df))
    qe = qe_p = np.nan
    if allpos:
        qe = max(0.0, float(y @ proj(1 / v) @ y))
        qe_p = float(dist.chi2_sf(qe, k - p))
    return {
        "beta": beta, "se": se, "zval": zval, "pval": pval,
        "ci_lb": beta - crit * se, "ci_ub": beta + crit * se, "ddf": ddf, "tau2": float(tau2),
        "QM": qm, "QM_df": qm_df, "QM_p": qm_p, "QE": qe, "QE_p": qe_p, "k": float(k),
    }  # fmt: skip


def egger_test(
    yi: ArrayLike,
    vi: ArrayLike,
    method: Method | str = "REML",
    knha: bool = False,
    level: float = 95,
    test: str | None = None,
) -> dict[str, float]:
    """Egger-type regression test for funnel-plot asymmetry, as metafor's default ``regtest()``.

    ``regtest(rma(yi, vi, method=...))`` fits the meta-regression ``yi ~ sqrt(vi)`` with the
    same tau^2 estimator and test as the model (``model="rma"``, ``predictor="sei"``) and tests
    the slope. ``zval`` is a t statistic on ``ddf = k - 2`` under ``knha``. The intercept is the
    "limit estimate" (the effect as the standard error goes to 0), with its CI.
    """
    method = _check_method(method)
    y = np.asarray(yi, dtype=float).ravel()
    v = np.asarray(vi, dtype=float).ravel()
    ok = np.isfinite(y) & np.isfinite(v)
    y, v = y[ok], np.maximum(v[ok], 0.0)
    if y.size < 3:
        raise ValueError("the regression test needs at least 3 studies")
    x = np.column_stack([np.ones_like(v), np.sqrt(v)])
    fit = _meta_regression(y, v, x, method, _check_test(test, knha), level_to_alpha(level))
    return {
        "zval": float(fit["zval"][1]),
        "pval": float(fit["pval"][1]),
        "ddf": float(fit["ddf"]),
        "slope": float(fit["beta"][1]),
        "limit_estimate": float(fit["beta"][0]),
        "limit_ci_lb": float(fit["ci_lb"][0]),
        "limit_ci_ub": float(fit["ci_ub"][0]),
        "tau2": float(fit["tau2"]),
        "k": float(y.size),
    }


def subgroup_test(
    yi: ArrayLike,
    vi: ArrayLike,
    subgroup: ArrayLike,
    method: Method | str = "REML",
    knha: bool = False,
    level: float = 95,
    tau2: Literal["separate", "common"] = "separate",
    test: str | None = None,
) -> dict[str, object]:
    """Test for differences between subgroups.

    ``tau2="separate"`` (default; the Cochrane Handbook / RevMan test): pool each subgroup on
    its own (own tau^2, with ``method``/``knha``), then Cochran's Q between the subgroup
    estimates weighted by ``1/se^2``, chi-square on (number of subgroups - 1) df. Equals
    metafor's ``rma(estimates, sei = se, method = "FE")$QE``.

    ``tau2="common"``: one model with subgroup dummies and a single tau^2, as
    ``rma(yi, vi, mods = ~ factor(subgroup), method = ...)``; the omnibus moderator test QM
    (chi-square, or F(G - 1, k - G) under ``knha``). Returns ``Q``, ``df``, ``pval``, ``tau2``
    (NaN for "separate"), ``approach`` and, for "separate", the per-subgroup pooled results
    (``groups`` in sorted label order, ``pooled`` from :func:`pool_arrays`).
    """
    method = _check_method(method)
    y = np.asarray(yi, dtype=float).ravel()
    v = np.asarray(vi, dtype=float).ravel()
    labels = np.asarray(subgroup).ravel()
    ok = np.isfinite(y) & np.isfinite(v) & pd.notna(labels)
    y, v, labels = y[ok], v[ok], labels[ok]
    groups, codes = np.unique(labels, return_inverse=True)
    if groups.size < 2:
        raise ValueError("need at least two subgroups")
    if tau2 == "separate":
        pooled = pool_arrays(y, v, codes.astype(np.intp), method=method, knha=knha, level=level, test=test)
        est, se = pooled["estimate"], pooled["se"]
        use = np.isfinite(est) & (se > 0)
        w = 1 / se[use] ** 2
        mu = np.sum(w * est[use]) / np.sum(w)
        q = max(0.0, float(np.sum(w * (est[use] - mu) ** 2)))
        df = float(use.sum() - 1)
        return {
            "approach": "separate", "Q": q, "df": df, "pval": float(dist.chi2_sf(q, df)),
            "tau2": np.nan, "groups": groups, "pooled": pooled,
        }  # fmt: skip
    if tau2 != "common":
        raise ValueError("tau2 must be 'separate' or 'common'")
    x = np.column_stack([np.ones_like(y)] + [(codes == g).astype(float) for g in range(1, groups.size)])
    fit = _meta_regression(y, np.maximum(v, 0.0), x, method, _check_test(test, knha), level_to_alpha(level))
    return {
        "approach": "common", "Q": float(fit["QM"]), "df": float(fit["QM_df"]),
        "pval": float(fit["QM_p"]), "tau2": float(fit["tau2"]), "groups": groups,
    }  # fmt: skip
