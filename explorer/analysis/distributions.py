"""The few distribution functions the statistics need, from ``scipy.special``.

Why not ``scipy.stats``: importing it costs about 1 s and 35 MB per dashboard kernel, while these
are the same special functions ``scipy.stats`` itself calls (so results are identical).

Why a table as well: the dashboard's landing table pools with 95% intervals, which need only the
97.5% quantiles of t(k - 1) for small integer k - 1 and of the normal. Those few numbers are kept
here (:data:`T975`, :data:`Z975`) exactly as ``scipy.special`` computes them (the tests compare
every entry bit for bit), so a kernel that shows the table never imports ``scipy.special``
(about 12 MB and 0.15 s per kernel). Any other probability or degrees of freedom is computed.
"""

from __future__ import annotations

import importlib
from functools import cache

import numpy as np


class _Special:
    """``scipy.special``, imported on first use: a dashboard kernel that shows no pooled
    estimate at start-up never pays for it (about 0.1 s and 15 MB)."""

    @cache  # noqa: B019 - one module-level instance
    def _module(self):
        return importlib.import_module("scipy.special")

    def __getattr__(self, name: str):
        return getattr(self._module(), name)


special = _Special()

#: ``-scipy.special.ndtri(0.025)``: the two-sided 95% normal quantile, to the last bit (the
#: ``qnorm(0.975)`` literal ``Z95`` elsewhere, 1.959963984540054, is two units in the last place lower).
Z975 = 1.9599639845400545
#: ``-scipy.special.stdtrit(df, 0.025)`` for df = 1, 2, ..., 100 (t quantiles of 95% intervals).
T975 = (
    12.706204736174705, 4.302652729749464, 3.1824463052837086, 2.7764451051977943,
    2.5705818356363155, 2.4469118511449794, 2.3646242515927844, 2.3060041352041662,
    2.2621571627982053, 2.2281388519862753, 2.2009851600916392, 2.1788128296672293,
    2.160368656462793, 2.144786687917804, 2.131449545559776, 2.1199052992212546,
    2.109815577833317, 2.1009220402410387, 2.09302405440831, 2.0859634472658652,
    2.079613844727681, 2.0738730679040254, 2.068657610419049, 2.063898561628026,
    2.059538552753297, 2.055529438642873, 2.0518305164802846, 2.0484071417952445,
    2.045229642132704, 2.042272456301238, 2.039513446396408, 2.036933343460102,
    2.0345152974493383, 2.032244509317719, 2.0301079282503434, 2.0280940009804507,
    2.0261924630291097, 2.02439416391197, 2.022690920036761, 2.0210753903062733,
    2.019540970441376, 2.018081702818445, 2.0166921992278244, 2.0153675744437636,
    2.0141033888808466, 2.012895598919429, 2.011740513729766, 2.0106347576242323,
    2.0095752371292397, 2.008559112100761, 2.0075837703158363, 2.006646805061688,
    2.005745995317869, 2.004879288188057, 2.0040447832891455, 2.0032407188478722,
    2.002465459291007, 2.001717484145236, 2.000995378088268, 2.0002978220142604,
    1.9996235849949393, 1.998971517033379, 1.9983405425207417, 1.997729654317693,
    1.9971379083920042, 1.996564418952312, 1.9960083540252964, 1.995468931429844,
    1.9949454151072379, 1.9944371117711868, 1.993943367845626, 1.9934635666618723,
    1.9929971258898553, 1.9925434951809329, 1.992102154002242, 1.9916726096446644,
    1.991254395388385, 1.990847068811691, 1.990450210230129, 1.9900634212544464,
    1.989686323456903, 1.9893185571365726, 1.9889597801751626, 1.988609666975709,
    1.9882679074772218, 1.9879342062390206, 1.9876082815890712, 1.9872898648311697,
    1.9869786995062815, 1.9866745407037687, 1.986377154418618, 1.9860863169511305,
    1.9858018143458231, 1.9855234418666041, 1.985251003505498, 1.9849843115224577,
    1.9847231860139847, 1.9844674545084817, 1.9842169515864176, 1.983971518523552,
)
_T975 = np.array(T975)


def _upper_2_5(p: np.ndarray) -> bool:
    """Whether every probability asked for is 0.025 (a 95% interval), as the tables hold."""
    return bool(np.all(p == 0.025))


def norm_sf(x):
    return special.ndtr(-np.asarray(x, dtype=float))


def norm_isf(p):
    p = np.asarray(p, dtype=float)
    if _upper_2_5(p):
        return np.full(p.shape, Z975)[()]
    return -special.ndtri(p)


def norm_ppf(p):
    return special.ndtri(np.asarray(p, dtype=float))


def t_sf(x, df):
    return special.stdtr(np.asarray(df, dtype=float), -np.asarray(x, dtype=float))


def t_isf(p, df):
    p, df = np.asarray(p, dtype=float), np.asarray(df, dtype=float)
    if _upper_2_5(p):
        d = np.broadcast_to(df, np.broadcast_shapes(p.shape, df.shape))
        if np.all((d >= 1) & (d <= len(T975)) & (d == np.floor(d))):
            return _T975[d.astype(np.intp) - 1][()]
    return -special.stdtrit(df, p)


def chi2_sf(x, df):
    return special.chdtrc(np.asarray(df, dtype=float), np.asarray(x, dtype=float))


def f_sf(x, dfn, dfd):
    return special.fdtrc(
        np.asarray(dfn, dtype=float), np.asarray(dfd, dtype=float), np.asarray(x, dtype=float)
    )
