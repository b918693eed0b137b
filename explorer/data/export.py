"""Exports of the current selection: CSV safe against spreadsheet formula injection."""

from __future__ import annotations

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def formula_safe(value: object) -> object:
    """Text a spreadsheet would run as a formula gets a leading apostrophe (OWASP's advice).

    Numbers stay numbers: only strings are touched, so a mean of -1.5 is exported as -1.5.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_csv(df: pd.DataFrame) -> str:
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(formula_safe)
    return out.to_csv(index=False, lineterminator="\n")
