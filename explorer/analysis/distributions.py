"""The few distribution functions the statistics need, from ``scipy.special``.

Why not ``scipy.stats``: importing it costs about 1 s and 35 MB per dashboard kernel, while these
are the same special functions ``scipy.stats`` itself calls (so results are identical).
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


def norm_sf(x):
    return special.ndtr(-np.asarray(x, dtype=float))


def norm_isf(p):
    return -special.ndtri(np.asarray(p, dtype=float))


def norm_ppf(p):
    return special.ndtri(np.asarray(p, dtype=float))


def t_sf(x, df):
    return special.stdtr(np.asarray(df, dtype=float), -np.asarray(x, dtype=float))


def t_isf(p, df):
    return -special.stdtrit(np.asarray(df, dtype=float), np.asarray(p, dtype=float))


def chi2_sf(x, df):
    return special.chdtrc(np.asarray(df, dtype=float), np.asarray(x, dtype=float))


def f_sf(x, dfn, dfd):
    return special.fdtrc(
        np.asarray(dfn, dtype=float), np.asarray(dfd, dtype=float), np.asarray(x, dtype=float)
    )
