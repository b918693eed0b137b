"""Follow-up time: conversion to weeks and assignment to time windows.

Default windows follow the Cochrane Back and Neck group's convention: immediate (<= 2 weeks),
short term (> 2 weeks to <= 3 months), intermediate (> 3 months to < 12 months), long term
(>= 12 months). Months convert at 52/12 weeks, so 3 months is 13 weeks and 12 months 52 weeks;
a baseline (time 0) falls in no window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

WEEKS_PER_UNIT = {"day": 1 / 7, "week": 1.0, "month": 52 / 12, "year": 52.0}


@dataclass(frozen=True)
class Window:
    """A follow-up window ``lower < t <= upper`` in weeks (bounds' inclusivity configurable)."""

    name: str
    label: str
    lower: float
    upper: float
    lower_inclusive: bool = False
    upper_inclusive: bool = True

    def contains(self, weeks: np.ndarray) -> np.ndarray:
        lo = weeks >= self.lower if self.lower_inclusive else weeks > self.lower
        hi = weeks <= self.upper if self.upper_inclusive else weeks < self.upper
        return lo & hi


DEFAULT_WINDOWS: tuple[Window, ...] = (
    Window("immediate", "Immediate (≤ 2 weeks)", 0.0, 2.0),
    Window("short", "Short term (> 2 weeks to ≤ 3 months)", 2.0, 13.0),
    Window("intermediate", "Intermediate (> 3 to < 12 months)", 13.0, 52.0, upper_inclusive=False),
    Window("long", "Long term (≥ 12 months)", 52.0, np.inf, lower_inclusive=True),
)


def to_weeks(value: pd.Series | np.ndarray, unit: pd.Series | np.ndarray) -> np.ndarray:
    """Convert follow-up times to weeks (vectorised)."""
    factors = pd.Series(np.asarray(unit, dtype=object)).map(WEEKS_PER_UNIT).to_numpy(dtype=float)
    return np.asarray(value, dtype=float) * factors


def assign_windows(weeks: pd.Series | np.ndarray, windows: Sequence[Window] = DEFAULT_WINDOWS) -> np.ndarray:
    """Name of the window each time falls in ('' for baseline or uncovered times).

    Windows are checked in order; the first that contains a time wins, so overlapping custom
    windows are resolved deterministically.
    """
    w = np.asarray(weeks, dtype=float)
    conds = [win.contains(w) & (w > 0) for win in windows]
    return np.select(conds, [win.name for win in windows], default="")
