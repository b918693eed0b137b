"""Per-study effect sizes that reproduce R's ``metafor::escalc()`` (version 3.8-1).

Every function is array in / array out (inputs broadcast against each other) and returns
``(yi, vi)``: the effect size and its sampling variance, as float arrays. Rows whose inputs are
missing come back as NaN rather than raising, because an evidence table is full of partially
reported studies and one gap must not stop a whole column. Rows that are *impossible* (a negative
SD, more events than patients) raise ``ValueError``, as metafor does: that is a data error, not a
gap.

Like escalc, a result that is infinite, or NaN although every input was present, is recoded to
NaN in both ``yi`` and ``vi``, and a negative variance becomes NaN; a NaN that only follows from a
missing input stays where it falls (a missing SD leaves ``yi`` of a mean difference defined).

The tests compare every function with metafor output stored in ``tests/fixtures/metafor`` (written
by ``tools/metafor_fixtures.R``) at a tolerance of 1e-6.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from explorer.analysis import distributions as dist
from explorer.analysis.distributions import special

FloatArray = NDArray[np.float64]
ZeroCellRule = Literal["only0", "all", "if0all", "none"]

__all__ = [
    "level_to_alpha",
    "log_odds_ratio",
    "log_risk_ratio",
    "mean_change",
    "mean_difference",
    "mean_sd_from_median",
    "mean_sd_from_range",
    "risk_difference",
    "sd_from_se",
    "se_from_ci",
    "standardized_mean_difference",
]


# --------------------------------------------------------------------------- helpers


def level_to_alpha(level: float) -> float:
    """Two-sided alpha for a confidence level given as 95 or 0.95 (metafor's ``.level()`` rule).

    metafor accepts both spellings, so the same call works whichever habit the caller has:
    ``level >= 1`` is a percentage, ``0.5 < level < 1`` a proportion, anything else is already
    an alpha.
    """
    level = float(level)
    if level == 0:
        return 1.0
    if level >= 1:
        return (100.0 - level) / 100.0
    if level > 0.5:
        return 1.0 - level
    return level


def _arrays(*xs: ArrayLike) -> list[FloatArray]:
    return [np.array(a, dtype=float) for a in np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in xs))]


def _finish(yi: FloatArray, vi: FloatArray, *inputs: FloatArray) -> tuple[FloatArray, FloatArray]:
    """escalc's clean-up, so that NaN appears exactly where metafor has NA.

    An infinite yi or vi makes both NaN, and so does a NaN *computed* from complete inputs
    (R's ``is.nan``). A NaN merely carried through from a missing input stays where it falls:
    a missing SD leaves the mean difference itself defined, as in metafor. Negative vi -> NaN.
    """
    yi = np.array(yi, dtype=float)
    vi = np.array(vi, dtype=float)
    complete = np.logical_and.reduce([~np.isnan(x) for x in inputs]) if inputs else True
    bad = np.isinf(yi) | np.isinf(vi) | (complete & (np.isnan(yi) | np.isnan(vi)))
    yi[bad] = np.nan
    vi[bad] = np.nan
    vi[vi < 0] = np.nan
    return yi, vi


def _require(ok: NDArray[np.bool_], message: str) -> None:
    """Raise if any row (NaN rows excluded by the caller's comparison) breaks a rule."""
    if not np.all(ok):
        rows = np.flatnonzero(~np.asarray(ok).ravel())
        raise ValueError(f"{message} (rows {rows[:10].tolist()}{'...' if rows.size > 10 else ''})")


def _check_nonneg(name: str, x: FloatArray) -> None:
    _require(~(x < 0), f"{name} must not be negative")


def _check_positive(name: str, x: FloatArray) -> None:
    _require(~(x <= 0), f"{name} must be positive")


# --------------------------------------------------------------------------- continuous


def mean_difference(
    m1: ArrayLike, sd1: ArrayLike, n1: ArrayLike, m2: ArrayLike, sd2: ArrayLike, n2: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Raw mean difference, escalc ``measure="MD"`` with its default ``vtype="LS"``.

    ``yi = m1 - m2`` and ``vi = sd1^2/n1 + sd2^2/n2`` -- the variance does not assume equal
    group variances, which is why metafor makes it the default and so do we.
    """
    m1, sd1, n1, m2, sd2, n2 = _arrays(m1, sd1, n1, m2, sd2, n2)
    _check_nonneg("standard deviations", np.concatenate([sd1.ravel(), sd2.ravel()]))
    _check_positive("group sizes", np.concatenate([n1.ravel(), n2.ravel()]))
    with np.errstate(divide="ignore", invalid="ignore"):
        yi = m1 - m2
        vi = sd1**2 / n1 + sd2**2 / n2
    return _finish(yi, vi, m1, sd1, n1, m2, sd2, n2)


def _hedges_correction(mi: FloatArray) -> FloatArray:
    """Exact small-sample factor c(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)) (metafor .cmicalc).

    The exact form, not the ``1 - 3/(4m - 1)`` approximation, so that g matches metafor to
    machine precision even for tiny trials. Undefined (NaN) for ``m <= 1``.
    """
    safe = np.where(mi > 1, mi, 2.0)
    with np.errstate(invalid="ignore"):
        cmi = np.exp(special.gammaln(safe / 2) - np.log(np.sqrt(safe / 2)) - special.gammaln((safe - 1) / 2))
    return np.where(mi > 1, cmi, np.nan)


def standardized_mean_difference(
    m1: ArrayLike, sd1: ArrayLike, n1: ArrayLike, m2: ArrayLike, sd2: ArrayLike, n2: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Hedges' g, escalc ``measure="SMD"`` with its default ``vtype="LS"``.

    ``d = (m1 - m2) / s_pooled`` with ``s_pooled^2 = ((n1-1) sd1^2 + (n2-1) sd2^2) / (n1+n2-2)``;
    ``g = c(n1+n2-2) * d`` with the exact gamma-function correction; and
    ``vi = 1/n1 + 1/n2 + g^2 / (2 (n1+n2))`` (large-sample variance evaluated at g).
    NaN when ``n1 + n2 <= 3`` (correction undefined) or when the pooled SD is 0.
    """
    m1, sd1, n1, m2, sd2, n2 = _arrays(m1, sd1, n1, m2, sd2, n2)
    _check_nonneg("standard deviations", np.concatenate([sd1.ravel(), sd2.ravel()]))
    _check_positive("group sizes", np.concatenate([n1.ravel(), n2.ravel()]))
    ni = n1 + n2
    mi = ni - 2
    with np.errstate(divide="ignore", invalid="ignore"):
        sdp = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / mi)
        di = (m1 - m2) / sdp
        yi = _hedges_correction(mi) * di
        vi = 1 / n1 + 1 / n2 + yi**2 / (2 * ni)
    return _finish(yi, vi, m1, sd1, n1, m2, sd2, n2)


def mean_change(m: ArrayLike, sd: ArrayLike, n: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Single-arm mean (e.g. a within-arm change from baseline), escalc ``measure="MN"``.

    ``yi = m`` and ``vi = sd^2 / n``. For a change score, ``sd`` must be the SD of the change,
    not of either time point.
    """
    m, sd, n = _arrays(m, sd, n)
    _check_nonneg("standard deviations", sd)
    _check_positive("sample sizes", n)
    with np.errstate(divide="ignore", invalid="ignore"):
        vi = sd**2 / n
    return _finish(m.copy(), vi, m, sd, n)


# --------------------------------------------------------------------------- binary


def _two_by_two(
    ai: ArrayLike,
    n1: ArrayLike,
    ci: ArrayLike,
    n2: ArrayLike,
    add: float,
    to: ZeroCellRule,
    drop00: bool,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Cells a, b, c, d of each 2x2 table after metafor's zero-cell handling.

    ``to="only0"`` (metafor's default) adds ``add`` to every cell of the tables that have a
    zero cell; ``"all"`` to every table; ``"if0all"`` to every table if any has a zero cell;
    ``"none"`` never. ``drop00=True`` turns tables with no events (or only events) in both
    arms into NaN; metafor's default, kept here, is ``False``.
    """
    if to not in ("only0", "all", "if0all", "none"):
        raise ValueError(f"unknown zero-cell rule to={to!r}")
    ai, n1, ci, n2 = _arrays(ai, n1, ci, n2)
    bi = n1 - ai
    di = n2 - ci
    _require(~((ai > n1) | (ci > n2)), "event counts must not exceed group sizes")
    for name, x in (("event counts", ai), ("event counts", ci), ("group sizes", n1), ("group sizes", n2)):
        _check_nonneg(name, x)
    if drop00:
        id00 = ((ai == 0) & (ci == 0)) | ((bi == 0) & (di == 0))
        for x in (ai, bi, ci, di):
            x[id00] = np.nan
    zero = (ai == 0) | (bi == 0) | (ci == 0) | (di == 0)
    if to == "all" or (to == "if0all" and zero.any()):
        rows = np.ones_like(ai, dtype=bool)
    elif to == "only0":
        rows = zero
    else:
        rows = np.zeros_like(ai, dtype=bool)
    for x in (ai, bi, ci, di):
        x[rows] += add
    return ai, bi, ci, di


def log_risk_ratio(
    ai: ArrayLike,
    n1: ArrayLike,
    ci: ArrayLike,
    n2: ArrayLike,
    *,
    add: float = 0.5,
    to: ZeroCellRule = "only0",
    drop00: bool = False,
) -> tuple[FloatArray, FloatArray]:
    """Log risk ratio, escalc ``measure="RR"``: ``ai`` events of ``n1`` versus ``ci`` of ``n2``.

    ``yi = log(a/n1) - log(c/n2)``, ``vi = 1/a - 1/n1 + 1/c - 1/n2`` after zero-cell handling
    (defaults as metafor: ``add=1/2``, ``to="only0"``, ``drop00=False``, so a table with no
    events in either arm still yields ``yi = log((0.5/(n1+1)) / (0.5/(n2+1)))``).
    """
    a, b, c, d = _two_by_two(ai, n1, ci, n2, add, to, drop00)
    with np.errstate(divide="ignore", invalid="ignore"):
        m1, m2 = a + b, c + d
        yi = np.log(a / m1) - np.log(c / m2)
        vi = 1 / a - 1 / m1 + 1 / c - 1 / m2
    return _finish(yi, vi, a, b, c, d)


def log_odds_ratio(
    ai: ArrayLike,
    n1: ArrayLike,
    ci: ArrayLike,
    n2: ArrayLike,
    *,
    add: float = 0.5,
    to: ZeroCellRule = "only0",
    drop00: bool = False,
) -> tuple[FloatArray, FloatArray]:
    """Log odds ratio, escalc ``measure="OR"``; ``vi = 1/a + 1/b + 1/c + 1/d`` (Woolf).

    Zero cells as in :func:`log_risk_ratio`.
    """
    a, b, c, d = _two_by_two(ai, n1, ci, n2, add, to, drop00)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1 = a / (a + b)
        p2 = c / (c + d)
        yi = np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2))
        vi = 1 / a + 1 / b + 1 / c + 1 / d
    return _finish(yi, vi, a, b, c, d)


def risk_difference(
    ai: ArrayLike,
    n1: ArrayLike,
    ci: ArrayLike,
    n2: ArrayLike,
    *,
    add: float = 0.5,
    to: ZeroCellRule = "only0",
    drop00: bool = False,
) -> tuple[FloatArray, FloatArray]:
    """Risk difference, escalc ``measure="RD"`` with default ``vtype="LS"``.

    ``yi = p1 - p2``, ``vi = p1 (1-p1)/n1 + p2 (1-p2)/n2``. Note that metafor applies the
    zero-cell ``add`` to the RD too (it would otherwise give a variance of 0 for a 0/n arm),
    so ``yi`` of a table with a zero cell is computed from the adjusted counts.
    """
    a, b, c, d = _two_by_two(ai, n1, ci, n2, add, to, drop00)
    with np.errstate(divide="ignore", invalid="ignore"):
        m1, m2 = a + b, c + d
        p1, p2 = a / m1, c / m2
        yi = p1 - p2
        vi = p1 * (1 - p1) / m1 + p2 * (1 - p2) / m2
    return _finish(yi, vi, a, b, c, d)


# --------------------------------------------------------------------------- conversions


def se_from_ci(
    lb: ArrayLike,
    ub: ArrayLike,
    level: float = 95,
    log: bool = False,
    df: ArrayLike | None = None,
) -> FloatArray:
    """Standard error recovered from a reported confidence interval.

    ``SE = (ub - lb) / (2 * crit)`` with ``crit`` the normal quantile (or Student t with ``df``
    degrees of freedom when given, as for a CI of a mean from a small sample). Ratio measures
    (RR, OR, HR) have symmetric CIs only on the log scale, so pass ``log=True`` with the CI on
    the ratio scale: the SE is then that of the log ratio. Non-positive bounds with ``log=True``
    give NaN.
    """
    lb_a, ub_a = _arrays(lb, ub)
    alpha = level_to_alpha(level)
    crit = dist.norm_isf(alpha / 2) if df is None else dist.t_isf(alpha / 2, np.asarray(df, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        if log:
            lb_a = np.where(lb_a > 0, np.log(np.where(lb_a > 0, lb_a, 1.0)), np.nan)
            ub_a = np.where(ub_a > 0, np.log(np.where(ub_a > 0, ub_a, 1.0)), np.nan)
        se = (ub_a - lb_a) / (2 * crit)
    return np.where(np.isfinite(se), se, np.nan)


def sd_from_se(se: ArrayLike, n: ArrayLike) -> FloatArray:
    """SD of a single group from the standard error of its mean: ``sd = se * sqrt(n)``."""
    se_a, n_a = _arrays(se, n)
    _check_positive("sample sizes", n_a)
    return se_a * np.sqrt(n_a)


def _quantile_ratio(p: FloatArray) -> FloatArray:
    """``2 * Phi^-1(p)``; NaN where undefined (n too small), so the caller's SD becomes NaN."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out = 2 * dist.norm_ppf(p)
    return np.where(out > 0, out, np.nan)


def mean_sd_from_median(
    q1: ArrayLike, median: ArrayLike, q3: ArrayLike, n: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """APPROXIMATE mean and SD from the median and interquartile range (scenario S2/C3).

    Mean: Luo D, Wan X, Liu J, Tong T. Stat Methods Med Res 2018;27:1785-805,
    ``mean = w (q1 + q3)/2 + (1 - w) median`` with ``w = 0.7 + 0.39/n``.
    SD: Wan X, Wang W, Liu J, Tong T. BMC Med Res Methodol 2014;14:135,
    ``sd = (q3 - q1) / (2 Phi^-1((0.75 n - 0.125) / (n + 0.25)))``.

    Both assume roughly normal data; for skewed outcomes they are estimates only and a result
    built on them must say so. Returns ``(mean, sd)``; NaN where ``n`` is too small (n = 1).
    """
    q1_a, med, q3_a, n_a = _arrays(q1, median, q3, n)
    _check_positive("sample sizes", n_a)
    _require(~((q1_a > med) | (med > q3_a)), "need q1 <= median <= q3")
    with np.errstate(divide="ignore", invalid="ignore"):
        w = 0.7 + 0.39 / n_a
        mean = w * (q1_a + q3_a) / 2 + (1 - w) * med
        sd = (q3_a - q1_a) / _quantile_ratio((0.75 * n_a - 0.125) / (n_a + 0.25))
    return mean, np.where(np.isfinite(sd), sd, np.nan)


def mean_sd_from_range(
    minimum: ArrayLike, median: ArrayLike, maximum: ArrayLike, n: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """APPROXIMATE mean and SD from the median and range (scenario S1/C1).

    Mean: Luo et al. 2018 (Stat Methods Med Res 27:1785), eq. (15),
    ``mean = w (min + max)/2 + (1 - w) median`` with ``w = 4 / (4 + n^0.75)``.
    SD: Wan et al. 2014 (BMC Med Res Methodol 14:135), eq. (9),
    ``sd = (max - min) / (2 Phi^-1((n - 0.375) / (n + 0.25)))`` -- the closed form for all n.
    (Wan's Table 1 lists exact expected ranges for n <= 50 that differ from the closed form by
    under 0.6 %; R's ``meta`` package uses the table there, metafor's ``conv.fivenum`` (4.0+)
    does not exist in the metafor 3.8-1 we match, so the published closed form is used.)

    Ranges are dominated by the extremes, so this is the least reliable conversion; flag it.
    Returns ``(mean, sd)``; NaN where ``n`` is too small (n = 1).
    """
    lo, med, hi, n_a = _arrays(minimum, median, maximum, n)
    _check_positive("sample sizes", n_a)
    _require(~((lo > med) | (med > hi)), "need minimum <= median <= maximum")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        w = 4 / (4 + n_a**0.75)
        mean = w * (lo + hi) / 2 + (1 - w) * med
        sd = (hi - lo) / _quantile_ratio((n_a - 0.375) / (n_a + 0.25))
    return mean, np.where(np.isfinite(sd), sd, np.nan)
