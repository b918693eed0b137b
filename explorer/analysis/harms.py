"""Adverse events as rates with their uncertainty, each denominator counted once.

Two mistakes this module exists to prevent:

* **Counting a denominator twice.** Papers split one event type into several rows (Botwin 2000
  reports pain flare in the back and in the leg; "other" in three kinds). Events of one study,
  arm, unit and event type are added up, but its denominator is counted once: the largest total
  of those rows (the arm's). Adding events from sub-types can count a person twice when the paper
  does not say whether they overlap, so such a count is an upper bound and says so (``overlap``).
* **Reading "not reported" as zero.** A study that does not report an event type does not enter
  that type's denominator at all; a study that reports zero events does, and its rate has an
  interval ("0 of 120 (95% CI 0 to 3.1%)").

Intervals are Wilson score intervals (Newcombe 1998, Stat Med 17:857), which behave at 0 events
and small n where the Wald interval does not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

Z95 = 1.959963984540054
STUDY_KEYS = ("study_id", "arm_id", "event_type", "unit")


def wilson(events: np.ndarray | pd.Series, total: np.ndarray | pd.Series, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for events/total (as proportions); NaN where total is 0 or missing."""
    x = np.asarray(events, dtype=float)
    n = np.asarray(total, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    ok = n > 0
    return np.where(ok, np.clip(centre - half, 0, 1), np.nan), np.where(ok, np.clip(centre + half, 0, 1), np.nan)


def per_study(ae: pd.DataFrame) -> pd.DataFrame:
    """One row per study, arm, event type and unit: events added over sub-type rows, the
    denominator counted once, the rate with its Wilson 95% CI. Extra columns of ``ae`` that are
    constant within a study and arm (therapy, label, design, ...) are kept."""
    if ae.empty:
        return ae.assign(rows=pd.Series(dtype=int), overlap=pd.Series(dtype=bool), rate=pd.Series(dtype=float),
                         ci_lb=pd.Series(dtype=float), ci_ub=pd.Series(dtype=float))  # fmt: skip
    keys = [k for k in STUDY_KEYS if k in ae.columns]
    extra = [c for c in ae.columns if c not in (*keys, "ae_id", "events", "total", "description", "locator", "notes")]
    agg = {"events": ("events", "sum"), "total": ("total", "max"), "rows": ("events", "size")}
    agg.update({c: (c, "first") for c in extra})
    agg["descriptions"] = ("description", lambda s: "; ".join(str(x) for x in s if isinstance(x, str) and x))
    agg["locators"] = ("locator", lambda s: "; ".join(sorted({str(x) for x in s if isinstance(x, str)})))
    out = ae.groupby(keys, sort=True, dropna=False).agg(**agg).reset_index()
    out["overlap"] = out["rows"] > 1
    out["events"] = out["events"].astype(float)
    out["total"] = out["total"].astype(float)
    out["rate"] = out["events"] / out["total"]
    out["ci_lb"], out["ci_ub"] = wilson(out["events"], out["total"])
    return out


def totals(ae: pd.DataFrame, by: tuple[str, ...] = ("therapy", "event_type", "unit")) -> pd.DataFrame:
    """Across studies: events over the sum of each reporting study-arm's denominator (counted
    once per event type), the crude rate with a Wilson CI, the number of reporting studies, and
    ``basis`` saying how the total was formed. Participants and injections never mix."""
    s = per_study(ae)
    cols = [*by, "events", "total", "studies", "reporting_studies", "rate", "ci_lb", "ci_ub", "overlap", "basis"]
    if s.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    g = s.groupby(list(by), sort=True, dropna=False)
    out = g.agg(
        events=("events", "sum"),
        total=("total", "sum"),
        reporting_studies=("study_id", "nunique"),
        overlap=("overlap", "any"),
        studies=("label", lambda x: "; ".join(sorted({str(v) for v in x}))) if "label" in s else ("study_id", "first"),
    ).reset_index()
    out["rate"] = out["events"] / out["total"]
    out["ci_lb"], out["ci_ub"] = wilson(out["events"], out["total"])
    units = out["unit"] if "unit" in out else pd.Series("participants", index=out.index)
    parts = zip(out["events"], out["total"], units, out["reporting_studies"], out["overlap"], strict=True)
    out["basis"] = [
        f"{int(e)} events in {int(t)} {u} of {plural_studies(k)} that report this event"
        + (" (sub-types added: an upper bound)" if o else "")
        for e, t, u, k, o in parts
    ]
    return out[cols]


def plural_studies(k: int) -> str:
    return f"{int(k)} {'study' if int(k) == 1 else 'studies'}"


def describe_rate(events: float, total: float, lb: float, ub: float, unit: str = "participants") -> str:
    """'19 of 579 injections (3.3%, 95% CI 2.1 to 5.1%)': the words a clinician reads."""
    pct = 100 * events / total if total else float("nan")

    def show(x: float) -> str:  # two decimals below 1% (0.02% is not 0.0%), one above
        return f"{x:.2f}" if 0 < x < 1 else f"{x:.1f}"

    return f"{int(events)} of {int(total)} {unit} ({show(pct)}%, 95% CI {show(100 * lb)} to {show(100 * ub)}%)"
